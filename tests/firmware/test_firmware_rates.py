"""The Uno firmware on simavr keeps up at its two tightest rates.

Up to 2 kHz a sample is six conversions (A0 four times, summed, then A1, A2):
312 us of the 500 us period at 2 kHz. Above it, A0 is converted once and sent
times four: three conversions, 156 us of the 250 us period at 4 kHz, where
framing and sending in loop() leave the CPU little to spare. Each rate runs
for TWITCHD_SIMAVR_SECONDS of simulated time (default 3; the figures in
docs/performance.md are from 30) and must lose no sample, count no overflow,
and send every row of the signal once, its raw count exactly times four.

    TWITCHD_SIMAVR_SECONDS=30 .venv/bin/python -m pytest tests/firmware/test_firmware_rates.py -s
"""

from __future__ import annotations

import os
import re
import selectors
import signal as signal_module
import struct
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.test_firmware_in_the_loop import (  # noqa: F401  (built: the fixture)
    CHANNELS, ELF, FULL_SCALE, HARNESS, RAW_SUM, built, write_signal,
)
from twitchd.protocol import Command, Data, Hello, Opcode, Status, StreamDecoder, encode_frame

pytestmark = pytest.mark.firmware

SECONDS = float(os.environ.get("TWITCHD_SIMAVR_SECONDS", "3"))
ROWS = 1024  # the raw count of row k is k % 1024: consecutive samples step by one


def _signal(tmp: Path, rows: int) -> Path:
    """Row k: raw reads k % 1024, env (5k) % 1024, fsr 512, each as the smallest mV simavr floors back to it."""
    k = np.arange(rows, dtype=np.int64)
    counts = np.stack([k % ROWS, (5 * k) % ROWS, np.full(rows, 512)], axis=1)
    return write_signal(tmp / "ramp.txt", counts)


@pytest.mark.parametrize(("rate", "raw_conversions"), [(2000, 4), (4000, 1)])
def test_the_firmware_loses_no_sample_at_its_tightest_rates(built: None, tmp_path: Path, rate: int,  # noqa: F811
                                                            raw_conversions: int) -> None:
    # The harness runs ahead of a slow reader until the pty's buffer is full
    # (seconds at 1 kHz), so the switch to `rate` comes at no fixed time: run
    # long enough whatever it is, and stop once SECONDS at `rate` are in.
    want = int(SECONDS * rate)
    signal = _signal(tmp_path, want + 12 * rate)
    decoder = StreamDecoder()
    decoder.feed(b"\x00")  # its first feed() loads a compiled kernel: not while the harness runs
    proc = subprocess.Popen([str(HARNESS), str(ELF), str(signal), str(SECONDS + 10)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = os.open(proc.stdout.readline().decode().strip(), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    hellos: list[Hello] = []
    data: list[Data] = []
    statuses: list[Status] = []
    summary = b""
    stopping = False
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60 + 10 * SECONDS
    try:
        while time.monotonic() < deadline and not summary:
            for key, _ in sel.select(0.2):
                if key.fileobj is proc.stdout:  # "done ...": it stopped
                    summary = proc.stdout.readline() or b"(no figures: the harness died)"
                    continue
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                except OSError:  # the pty is gone: wait for the figures
                    sel.unregister(fd)
                    continue
                for f in decoder.feed(chunk):
                    if isinstance(f, Hello):
                        if not hellos:  # the boot HELLO: switch to the rate under test
                            os.write(fd, encode_frame(Command(0, Opcode.SET_RATE, struct.pack("<I", rate))))
                        hellos.append(f)
                    elif isinstance(f, Data) and len(hellos) > 1:  # after the HELLO that answers SET_RATE
                        data.append(f)
                    elif isinstance(f, Status):
                        statuses.append(f)
                if not stopping and data and data[-1].sample_index + len(data[-1].samples) >= want:
                    proc.send_signal(signal_module.SIGTERM)  # enough: it prints its figures and exits
                    stopping = True
    finally:
        os.close(fd)
        proc.terminate()
        proc.wait(5)
    figures = dict(re.findall(r"(\w+)=(\S+)", summary.decode()))
    assert summary.startswith(b"done ") and "raw_conversions" in figures, summary

    assert len(hellos) == 2 and hellos[1].rate_hz == rate
    assert [(c.name, c.adc_bits, c.vref_mv) for c in hellos[1].channels] == list(CHANNELS)
    index = np.array([f.sample_index for f in data])
    n = int(sum(len(f.samples) for f in data))
    lost = int(index[-1] + len(data[-1].samples) - n - index[0])
    overflows = max((st.overflows for st in statuses), default=0)  # STATUS: once a second, since boot
    print(f"\n{rate} Hz, A0 x{raw_conversions}: {n} samples over {n / rate:.1f} s simulated, {lost} lost, "
          f"{overflows} device overflows; harness: {summary.decode().strip()}")
    assert index[0] == 0 and lost == 0 and overflows == 0 and decoder.stats.bad_frames == 0
    assert n >= want

    # One row per sample however many conversions of A0 it takes, sent as 4 x the count.
    s = np.concatenate([f.samples for f in data]).astype(np.int64)
    assert np.all(s[:, 0] % RAW_SUM == 0) and np.all(s[:, 0] <= RAW_SUM * FULL_SCALE)
    row = s[:, 0] // RAW_SUM
    assert np.all(np.diff(row) % ROWS == 1)
    assert np.array_equal(s[:, 1], (5 * row) % ROWS) and np.all(s[:, 2] == 512)
    # The harness saw the conversions of A0 this rate calls for. Since boot it
    # counted B samples at 1 kHz (A0 four times each) and M at this rate, M at
    # least the n received (more were in the ring or the pty when it stopped),
    # so 4 x samples - conversions = (4 - raw_conversions) x M, give or take
    # the chain that was running.
    samples, extra = int(figures["samples"]), 4 * int(figures["samples"]) - int(figures["raw_conversions"])
    if raw_conversions == 4:
        assert 0 <= extra <= 3, figures
    else:
        assert n <= extra // (4 - raw_conversions) <= samples, figures
