"""A USB serial port is a pty here: the daemon reads the simulated board through pyserial."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from tests.conftest import run_pipeline_while
from twitchd.errors import SourceSpecError, TransportError
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.session import SimConfig
from twitchd.transports import open_source


class BoardOnPty:
    """The simulated board writing to the master side of a pty, in real time."""

    def __init__(self, seconds: float) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self.slave = slave
        self.device = SimulatedDevice(SimConfig(seed=21))
        self.seconds = seconds
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.stopped = threading.Event()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join()
        os.close(self.master)
        os.close(self.slave)

    def _run(self) -> None:
        os.set_blocking(self.master, False)
        end = time.monotonic() + self.seconds
        while time.monotonic() < end and not self.stopped.is_set():
            time.sleep(0.005)
            try:
                self.device.receive(os.read(self.master, 4096))
            except BlockingIOError:
                pass
            os.write(self.master, self.device.advance(0.005))


def test_the_daemon_reads_every_sample_of_a_board_on_a_serial_port() -> None:
    board = BoardOnPty(seconds=10.0)
    hub = Hub()
    sub = hub.subscribe()
    pipeline = DevicePipeline("ser-1", open_source(f"serial:{board.path}"), hub)

    async def scenario() -> None:
        board.thread.start()
        await asyncio.sleep(8.5)

    try:
        asyncio.run(run_pipeline_while(pipeline, scenario))
    finally:
        board.close()
    info = pipeline.info
    assert info.device_id == "TW-5EED01" and info.rate_hz == 2000
    assert info.samples >= 12000 and info.lost_samples == 0 and info.bad_frames == 0
    flagged = [m for m in asyncio.run(_drain(sub)) if m["kind"] == "ltr"]
    truth = [e for e in board.device.session.truth if e.kind == "ltr"]
    settled = [e for e in truth if e.end_s < info.samples / 2000 - 0.2]
    assert len(settled) >= 2
    for t in settled:  # every LTR that had time to be decided was flagged, at its time
        assert any(abs(f["onset_s"] - t.onset_s) < 0.05 for f in flagged)
    for f in flagged:  # and nothing else was called an LTR
        assert any(abs(f["onset_s"] - t.onset_s) < 0.05 for t in truth)


async def _drain(sub: object) -> list[dict[str, object]]:
    return await asyncio.wait_for(sub.get(), 1.0)  # type: ignore[attr-defined, no-any-return]


def test_a_missing_port_says_what_to_check() -> None:
    transport = open_source("serial:/dev/ttyDOESNOTEXIST")
    with pytest.raises(TransportError, match="plugged in"):
        asyncio.run(transport.open())


def test_source_specs_are_checked_before_anything_opens() -> None:
    for bad in ("serial:", "serial:/dev/x@fast", "bogus:1", "simulated:seed=x", "simulated:colour=red"):
        with pytest.raises(SourceSpecError):
            open_source(bad)
    with pytest.raises(SourceSpecError, match="address or a name"):
        open_source("ble:")
