"""A virtual wireless sensor on an in-process Bumble link, and the daemon's radio beside it.

Real parts only: the sensor is a Bumble peripheral serving the firmware's GATT
service with the simulated board's protocol bytes; the daemon's side is bleak's
BleakScanner/BleakClient on twitchd's Bumble backend, on a second virtual
controller of the same link. Scans, connections, notifications and drops are
HCI, L2CAP and ATT traffic between the two.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from twitchd.ble.bumble_stack import BumbleRadio
from twitchd.ble.peripheral import VirtualSensor
from twitchd.ble.radio import Radio
from twitchd.hub import Hub
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.session import SimConfig

pytestmark = pytest.mark.ble

SENSOR_ID = "TW-B1E001"


@asynccontextmanager
async def sensor_in_range(seed: int = 5, **options: Any) -> AsyncIterator[tuple[VirtualSensor, Radio]]:
    """A virtual ESP32 sensor advertising on a fresh link, and a radio the daemon can use on it."""
    from bumble.link import LocalLink

    link = LocalLink()
    options.setdefault("log_frames", True)
    sensor = VirtualSensor(link, SimulatedDevice(SimConfig(seed=seed), device_id=SENSOR_ID), **options)
    await sensor.start()
    radio = Radio("an in-process virtual radio", BumbleRadio.on_link(link))
    try:
        yield sensor, radio
    finally:
        await radio.close()
        await sensor.stop()


async def until(condition: Callable[[], bool], timeout: float, what: str = "") -> float:
    """Seconds it took ``condition`` to hold; fails the test after ``timeout``."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        await asyncio.sleep(0.01)
    return time.monotonic() - began


class StatusLog:
    """What a dashboard would see: every status message, with the time it came."""

    def __init__(self, hub: Hub) -> None:
        self.sub = hub.subscribe()
        self.seen: list[tuple[float, dict[str, Any]]] = []
        self.gaps: list[dict[str, Any]] = []
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while True:
            for msg in await self.sub.get():
                if msg.get("kind") == "status":
                    self.seen.append((time.monotonic(), msg))
                elif msg.get("kind") == "gap":
                    self.gaps.append(msg)

    def states(self) -> list[str]:
        return [m["state"] for _, m in self.seen]

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
