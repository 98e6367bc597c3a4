"""The Uno firmware on simavr keeps up at the fastest rate of each conversion tier.

A sample converts each pin as many times as its rate leaves room for, and
sends every channel on the scale of its largest sum whatever the rate:

- up to 1 kHz, 13 conversions: A0 x8 (summed), A1, A2 x4 (summed), about
  52 us each plus the ISRs, in the 1000 us period;
- up to 2 kHz, 7: A0 x4 and A2 x2, their sums sent x2, in 500 us;
- above, 3: each pin once, A0 sent x8 and A2 x4, in 250 us at 4 kHz, where
  framing and sending in loop() leave the CPU little to spare.

Each rate runs for TWITCHD_SIMAVR_SECONDS of simulated time (default 3; the
figures in docs/performance.md are from 30) and must lose no sample, count no
overflow, and send every row of the signal once, its raw count exactly times
eight and its fsr count times four. The harness counts the conversions of
each pin in every sample period (each must be the tier's, in every period)
and times each sample's conversion chain, from the Timer1 compare match to the
return of its last ADC interrupt (chain_us_max), which must leave a margin in
the period.

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
    CHANNELS, ELF, FULL_SCALE, HARNESS, SUMS, built, write_signal,
)
from twitchd.protocol import Command, Data, Hello, Opcode, Status, StreamDecoder, encode_frame
from twitchd.sim.session import SimConfig

pytestmark = pytest.mark.firmware

SECONDS = float(os.environ.get("TWITCHD_SIMAVR_SECONDS", "3"))
ROWS = 1024  # the raw count of row k is k % 1024: consecutive samples step by one


def _signal(tmp: Path, rows: int) -> Path:
    """Row k: raw reads k % 1024, env 5k % 1024, fsr (3k + 7) % 1024, each as the smallest mV simavr floors back to it."""
    k = np.arange(rows, dtype=np.int64)
    counts = np.stack([k % ROWS, (5 * k) % ROWS, (3 * k + 7) % ROWS], axis=1)
    return write_signal(tmp / "ramp.txt", counts)


def _conversions(rate: int) -> tuple[int, int, int]:
    """Conversions of A0, A1, A2 per sample at `rate`, as the daemon's simulator models the Uno."""
    uno = SimConfig.board(10, rate_hz=rate)
    return uno.conversions(0), uno.conversions(1), uno.conversions(2)


# The fastest rate of each tier: 8, 1, 4 conversions; 4, 1, 2; one of each.
@pytest.mark.parametrize(("rate", "conversions"), [(r, _conversions(r)) for r in (1000, 2000, 4000)])
def test_the_firmware_loses_no_sample_at_its_tightest_rates(built: None, tmp_path: Path, rate: int,  # noqa: F811
                                                            conversions: tuple[int, int, int]) -> None:
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
    assert summary.startswith(b"done ") and "conv_max" in figures and "chain_us_max" in figures, summary

    assert len(hellos) == 2 and hellos[1].rate_hz == rate
    assert [(c.name, c.adc_bits, c.vref_mv) for c in hellos[1].channels] == list(CHANNELS)
    index = np.array([f.sample_index for f in data])
    n = int(sum(len(f.samples) for f in data))
    lost = int(index[-1] + len(data[-1].samples) - n - index[0])
    overflows = max((st.overflows for st in statuses), default=0)  # STATUS: once a second, since boot
    print(f"\n{rate} Hz, A0 x{conversions[0]}, A1 x{conversions[1]}, A2 x{conversions[2]}: {n} samples over "
          f"{n / rate:.1f} s simulated, {lost} lost, {overflows} device overflows; harness: {summary.decode().strip()}")
    assert index[0] == 0 and lost == 0 and overflows == 0 and decoder.stats.bad_frames == 0
    assert n >= want
    # Every sample period at this rate (since the harness saw the period
    # change) started exactly the tier's conversions of each pin, and there
    # were at least as many periods as samples received.
    tier = ",".join(map(str, conversions))
    assert figures["conv_min"] == tier and figures["conv_max"] == tier, figures
    assert int(figures["chains"]) >= n - 2 * rate // 100, figures
    # The chain fits in the period even on a real ADC, which may also wait up
    # to one ADC clock (4 us) to start each conversion: simavr does not. (30 s
    # on simavr: at most 772 us of 1000 at 1 kHz, 441 of 500 at 2 kHz, 212 of
    # 250 at 4 kHz; with the wait, 824, 469 and 224 at worst.)
    assert float(figures["chain_us_max"]) + 4 * sum(conversions) < 1e6 / rate, figures

    # One row per sample however many conversions of each pin it takes, sent
    # on the full scale of the largest sums: 8 x the raw count, 4 x the fsr's.
    s = np.concatenate([f.samples for f in data]).astype(np.int64)
    raw_sum, env_sum, fsr_sum = SUMS
    assert np.all(s[:, 0] % raw_sum == 0) and np.all(s[:, 0] <= raw_sum * FULL_SCALE)
    row = s[:, 0] // raw_sum
    assert np.all(np.diff(row) % ROWS == 1)
    assert np.array_equal(s[:, 1], env_sum * ((5 * row) % ROWS))
    assert np.array_equal(s[:, 2], fsr_sum * ((3 * row + 7) % ROWS))
