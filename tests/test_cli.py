"""The command line, as a researcher would use it on recordings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.signal.scoring import f1, match
from twitchd.cli import main
from twitchd.events import Event


def twitchd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "twitchd", *args], capture_output=True, text=True, timeout=120)


def test_simulate_then_detect_finds_the_simulators_ltrs(tmp_path: Path) -> None:
    csv = tmp_path / "session.csv"
    made = twitchd("simulate", "--duration", "90", "--seed", "77", "--out", str(csv))
    assert made.returncode == 0, made.stderr
    truth = [Event(**{k: v for k, v in json.loads(line).items() if k in ("kind", "onset_s", "end_s")}, decided_s=0)
             for line in (tmp_path / "session.truth.jsonl").read_text().splitlines()]
    found = twitchd("detect", str(csv))
    assert found.returncode == 0, found.stderr
    rows = [json.loads(line) for line in found.stdout.splitlines()]
    assert {"kind", "onset_s", "end_s", "decided_s", "peak_emg_v", "force_n"} <= set(rows[0])
    events = [Event(r["kind"], r["onset_s"], r["end_s"], r["decided_s"]) for r in rows]
    tp, fp, fn = match([t for t in truth if t.end_s < 89.5], events, "ltr")
    assert tp >= 8 and f1(tp, fp, fn) >= 0.9


def test_detect_reads_a_file_without_time_given_the_rate_and_writes_csv(tmp_path: Path, capsys: object) -> None:
    csv = tmp_path / "plain.csv"
    assert main(["simulate", "--duration", "20", "--seed", "5", "--out", str(csv)]) == 0
    lines = csv.read_text().splitlines()
    stripped = tmp_path / "no_time.csv"
    stripped.write_text("\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n")
    assert main(["detect", str(stripped), "--rate", "2000", "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()  # type: ignore[attr-defined]
    assert out[0].startswith("kind,onset_s,end_s,decided_s") and any(r.startswith("ltr,") for r in out[1:])


def test_a_file_that_is_not_a_recording_gets_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,force_n\n0,1\n")
    result = twitchd("detect", str(bad))
    assert result.returncode == 2 and "no 'emg_v' column" in result.stderr
    bad.write_text("time_s,emg_v\n0,1\n0.0005,oops\n")
    result = twitchd("detect", str(bad))
    assert result.returncode == 2 and "not a numeric CSV" in result.stderr
    assert "Traceback" not in result.stderr
    missing = twitchd("detect", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "cannot read" in missing.stderr


def test_detector_parameters_can_be_overridden_and_bad_ones_are_refused(tmp_path: Path, capsys: object) -> None:
    csv = tmp_path / "s.csv"
    assert main(["simulate", "--duration", "20", "--seed", "6", "--out", str(csv)]) == 0
    capsys.readouterr()  # type: ignore[attr-defined]
    assert main(["detect", str(csv), "--detector", "press_on_n=40", "--detector", "press_off_n=30"]) == 0
    kinds = {json.loads(line)["kind"] for line in capsys.readouterr().out.splitlines()}  # type: ignore[attr-defined]
    assert "ltr" not in kinds and "press" not in kinds  # no press reaches 40 N: every burst is a twitch
    assert main(["detect", str(csv), "--detector", "onset_ratio=banana"]) == 2
    assert main(["detect", str(csv), "--detector", "onset_ratio=0.1"]) == 2
