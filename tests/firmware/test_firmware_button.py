"""The mark button on the real Uno build (simavr): bounces, glitches and holds on D2,
and what comes out is one MARK per press, stamped on the sample clock, placed by
the daemon's pipeline at the press's sample.

Needs the build of the module fixture in test_firmware_in_the_loop.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.firmware.test_firmware_in_the_loop import ELF, HARNESS, built  # noqa: F401  (fixture)
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline
from twitchd.protocol import Data, Mark, StreamDecoder
from twitchd.sim.device import SimulatedDevice
from twitchd.transports.simulated import SimulatedTransport

pytestmark = pytest.mark.firmware

RATE = 1000  # the Uno's default
SECONDS = 3.0
# When D2's level flips, in µs of simulated time (it starts released, pulled up).
PRESS_1 = 1_000_000  # bounces for 3 ms, released at 1.2 s, bouncing again
GLITCH = 1_500_000   # 5 ms low: shorter than the 20 ms debounce, so no press
PRESS_2 = 2_000_000  # clean, and held to the end: one press
EDGES = [PRESS_1, PRESS_1 + 300, PRESS_1 + 900, PRESS_1 + 1500, PRESS_1 + 3000,
         1_200_000, 1_200_400, 1_201_000,
         GLITCH, GLITCH + 5000,
         PRESS_2]


class Recorder:
    def __init__(self) -> None:
        self.presses: list[tuple[float, int, int, int]] = []

    def on_data(self, *args: Any) -> None:
        pass

    def on_event(self, *args: Any) -> None:
        pass

    def on_button(self, name: str, t_s: float, device_time_us: int, button: int, count: int) -> None:
        self.presses.append((t_s, device_time_us, button, count))


def _run_board(tmp: Path) -> tuple[bytes, str]:
    """Everything the firmware sent in SECONDS of simulated time, and the harness's figures."""
    signal = tmp / "flat.txt"
    signal.write_text("2500 0 1250\n" * 100)
    env = {**os.environ, "TWITCH_SIMAVR_BUTTON": ",".join(map(str, EDGES))}
    proc = subprocess.Popen([str(HARNESS), str(ELF), str(signal), str(SECONDS)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    fd = os.open(proc.stdout.readline().decode().strip(), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    stream, summary = bytearray(), b""
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    sel.register(proc.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            events = sel.select(0.2)
            if summary and not events:
                break  # done, and the pty drained
            for key, _ in events:
                if key.fileobj is proc.stdout:
                    summary = proc.stdout.readline() or b"(no figures: the harness died)"
                    sel.unregister(proc.stdout)
                    continue
                try:
                    stream += os.read(fd, 65536)
                except BlockingIOError:
                    continue
    finally:
        os.close(fd)
        proc.terminate()
        proc.wait(5)
    return bytes(stream), summary.decode()


def test_the_firmware_sends_one_mark_per_press_on_its_sample_clock(built: None, tmp_path: Path) -> None:  # noqa: F811
    stream, summary = _run_board(tmp_path)
    assert summary.startswith("done ") and f"button_edges={len(EDGES)}" in summary, summary
    decoder = StreamDecoder()
    frames = decoder.feed(stream)
    assert decoder.stats.bad_frames == 0 and decoder.stats.sequence_gaps == 0
    marks = [f for f in frames if isinstance(f, Mark)]
    # The bouncing press and the held one; not the bounces, the release or the glitch.
    assert [(m.button, m.count) for m in marks] == [(1, 1), (1, 2)], marks
    # Each stamped at the press's first edge, not 20 ms later when it was recognised,
    # nor at the last bounce 3 ms later: micros() runs 0.6 ms behind simulated time
    # (it starts when the Arduino core's init() does), and the loop polls the pin
    # every pass, well under a millisecond apart here.
    for mark, edge in zip(marks, (PRESS_1, PRESS_2), strict=True):
        assert -1000 <= mark.device_time_us - edge < 1500, (mark, edge)
    assert abs(marks[1].device_time_us - marks[0].device_time_us - (PRESS_2 - PRESS_1)) < 1000
    # ... and its sample is the one stamped at or just before the press, on DATA's own clock.
    data = [f for f in frames if isinstance(f, Data)]
    for mark in marks:
        frame = next(f for f in data if f.sample_index <= mark.sample_index < f.sample_index + len(f.samples))
        stamp = frame.t0_us + (mark.sample_index - frame.sample_index) * 1_000_000 // RATE
        assert stamp - 8 <= mark.device_time_us < stamp + 1_000_000 // RATE + 8, (mark, stamp)

    # The daemon's pipeline puts each press on stream time at its sample.
    sink = Recorder()
    pipeline = DevicePipeline("avr-1", SimulatedTransport(SimulatedDevice()), Hub())
    pipeline.sink = sink  # type: ignore[assignment]
    pipeline.feed(stream)
    assert pipeline.info.marks == 2 and pipeline.info.marks_missed == 0 and pipeline.info.lost_samples == 0
    assert sink.presses == [(m.sample_index / RATE, m.device_time_us, 1, m.count) for m in marks]
