"""The fuzzers, for a bounded time: bad input everywhere, and no invariant breaks.

- the firmware's command path under libFuzzer with ASan/UBSan
  (firmware/fuzz/fuzz_commands.cpp, `make -C firmware fuzz`), then every frame
  it sent for the corpus read back by the daemon's own decoder;
- the daemon's frame decoder under atheris (tests/fuzz/fuzz_decoder.py).

TWITCHD_FUZZ_SECONDS sets how long each fuzzer runs (default 30). Corpora and
crash files go to pytest's temporary directory, never into the repository;
a failure shows the broken invariant and the crashing input's bytes. Inputs
that once failed live in tests/fuzz/regressions/ and firmware/fuzz/regressions/
and are replayed here on every run (the decoder's without atheris).
docs/fuzzing.md says how to run either fuzzer for longer.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, require
from tests.fuzz.fuzz_decoder import REGRESSIONS, check, seed_inputs
from twitchd.protocol import Data, Hello, SequenceGap, StreamDecoder

SECONDS = int(os.environ.get("TWITCHD_FUZZ_SECONDS", "30"))
FIRMWARE = ROOT / "firmware"
FUZZ_BIN = FIRMWARE / "build" / "fuzz" / "fuzz_commands"
HARNESS = ROOT / "tests" / "fuzz" / "fuzz_decoder.py"
# libFuzzer's last words, and the harnesses' own: what a failure message should show.
_VERDICT = re.compile(r"INVARIANT BROKEN.*|Mismatch.*|ERROR: .*|SUMMARY: .*|Test unit written to .*|Base64: .*"
                      r"|reference .*|Done \d+ runs.*|stat::.*")


def _runs(output: str) -> int:
    done = re.search(r"Done (\d+) runs", output)
    return int(done.group(1)) if done else 0


def _verdict(output: str) -> str:
    lines = [m.group(0)[:600] for m in _VERDICT.finditer(output)]
    return "\n".join(lines[-30:]) or output[-3000:]


def _have_libfuzzer() -> bool:
    if shutil.which("clang++") is None or shutil.which("make") is None:
        return False
    runtime = subprocess.run(["clang++", "-print-runtime-dir"], capture_output=True, text=True, check=False)
    where = Path(runtime.stdout.strip())
    return runtime.returncode == 0 and any(where.glob("libclang_rt.fuzzer-*.a"))


@pytest.mark.fuzz
@pytest.mark.slow
def test_the_firmware_command_path_survives_libfuzzer(tmp_path: Path) -> None:
    require(_have_libfuzzer(), "clang++ with libFuzzer (clang, libclang-rt-dev: scripts/install-firmware-deps.sh)")
    done = subprocess.run(
        ["make", "-C", str(FIRMWARE), "fuzz", f"FUZZ_SECONDS={SECONDS}", f"FUZZ_WORK={tmp_path}"],
        capture_output=True, text=True, check=False, timeout=SECONDS + 240)
    output = done.stdout + done.stderr
    crashes = sorted(p.name for p in (tmp_path / "artifacts").glob("*"))
    assert done.returncode == 0 and not crashes, f"{crashes}\n{_verdict(output)}"
    assert _runs(output) >= 20 * SECONDS, _verdict(output)  # it really fuzzed (~300-500 runs/s here)

    # Every frame the firmware sent for the corpus, read by the daemon's decoder.
    dump = tmp_path / "frames.bin"
    replay = subprocess.run(
        [str(FUZZ_BIN), "-runs=0", str(tmp_path / "corpus"), str(FIRMWARE / "build" / "fuzz" / "seeds")],
        capture_output=True, text=True, check=False, timeout=120, env={**os.environ, "TWITCH_FUZZ_DUMP": str(dump)})
    assert replay.returncode == 0, _verdict(replay.stdout + replay.stderr)
    decoder = StreamDecoder()
    frames = [x for x in decoder.feed(dump.read_bytes()) if not isinstance(x, SequenceGap)]
    stats = decoder.stats
    assert stats.bad_frames == 0 and stats.sequence_gaps == 0 and stats.bytes_discarded == 0, stats
    boots = sum(1 for f in frames if isinstance(f, Hello) and f.seq == 0)
    assert boots >= 20 and stats.restarts == boots - 1, stats  # every input starts with the boot HELLO
    assert any(isinstance(f, Data) for f in frames)


@pytest.mark.fuzz
@pytest.mark.slow
def test_the_frame_decoder_survives_atheris(tmp_path: Path) -> None:
    require(importlib.util.find_spec("atheris") is not None, "atheris (the test extra: pip install -e '.[test]')")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    done = subprocess.run(
        [sys.executable, str(HARNESS), str(corpus), f"-max_total_time={SECONDS}", f"-artifact_prefix={tmp_path}/",
         "-print_final_stats=1"],
        capture_output=True, text=True, check=False, timeout=SECONDS + 240, cwd=tmp_path)
    output = done.stdout + done.stderr
    crashes = sorted(p.name for p in tmp_path.glob("crash-*")) + sorted(p.name for p in tmp_path.glob("oom-*"))
    assert done.returncode == 0 and not crashes, f"{crashes}\n{_verdict(output)}"
    assert _runs(output) >= 50 * SECONDS, _verdict(output)  # ~600-1000 runs/s here


@pytest.mark.parametrize("name", sorted(p.name for p in REGRESSIONS.glob("*")))
def test_inputs_that_once_broke_the_decoder_pass(name: str) -> None:
    check((REGRESSIONS / name).read_bytes())


def test_the_decoder_fuzzers_seeds_pass() -> None:
    for data in seed_inputs().values():
        check(data)
