"""The dashboard's side of a wireless sensor: scan, pair, watch a drop, forget.

The API runs in-process (httpx over ASGI) on the same event loop as the
virtual sensor and the daemon's Bumble radio.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.ble.conftest import SENSOR_ID, sensor_in_range, until
from tests.conftest import free_port
from twitchd.api import Daemon, create_app
from twitchd.ble.paired import paired_sources
from twitchd.ble.radio import Radio, parse_radio, use_radio
from twitchd.settings import Settings

pytestmark = pytest.mark.ble


@asynccontextmanager
async def dashboard(data_dir: Path, radio: Radio) -> AsyncIterator[tuple[httpx.AsyncClient, Daemon]]:
    """The daemon with no sensor yet, its API, and ``radio`` as its Bluetooth."""
    settings = Settings(sources=())
    daemon = Daemon(settings, data_dir=data_dir)
    previous = use_radio(radio)
    await daemon.start()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(settings, daemon)),
                                     base_url="http://127.0.0.1") as client:
            yield client, daemon
    finally:
        await daemon.stop()
        for p in list(daemon.pipelines):
            await p.transport.close()
        use_radio(previous)


async def device(client: httpx.AsyncClient) -> dict[str, Any]:
    (only,) = (await client.get("/api/devices")).json()
    return only  # type: ignore[no-any-return]


def test_a_practitioner_pairs_the_sensor_from_the_dashboard_and_it_survives_a_drop(tmp_path: Path) -> None:
    async def story() -> None:
        async with sensor_in_range() as (sensor, radio), dashboard(tmp_path, radio) as (client, daemon):
            await asyncio.sleep(0.6)  # the sensor has just been switched on
            scan = await client.post("/api/ble/scan", json={"seconds": 1})
            assert scan.status_code == 200, scan.text
            (found,) = scan.json()["sensors"]
            assert found["name"] == SENSOR_ID and found["address"] == sensor.address
            assert isinstance(found["rssi"], int) and not found["paired"] and not found["connected"]

            made = await client.post("/api/devices", json={"source": f"ble:{found['address']}"})
            assert made.status_code == 201, made.text
            await until(lambda: daemon.pipelines[0].info.state == "streaming", 10, "connected")
            d = await device(client)
            assert d["state"] == "streaming" and d["device_id"] == SENSOR_ID and d["lost_for_s"] == 0
            assert isinstance(d["rssi"], int)

            paired = (await client.get("/api/ble/paired")).json()["sensors"]
            assert paired == [{"name": SENSOR_ID, "address": sensor.address, "device_id": SENSOR_ID}]
            # A connected sensor stops advertising, yet the scan still shows it, as connected.
            (again,) = (await client.post("/api/ble/scan", json={"seconds": 1})).json()["sensors"]
            assert again["address"] == sensor.address and again["paired"] and again["connected"]

            await sensor.drop(down_for_s=1.5)
            await asyncio.sleep(1.0)
            d = await device(client)
            assert d["state"] == "reconnecting" and d["lost_for_s"] >= 0.8
            await until(lambda: daemon.pipelines[0].info.state == "streaming", 10, "back")
            assert (await device(client))["lost_samples"] == sensor.lost_samples() > 0

            # The next start reconnects it without a click.
            assert paired_sources(Daemon(Settings(sources=()), data_dir=tmp_path)) == [f"ble:{sensor.address}"]

            forget = await client.delete(f"/api/ble/paired/{sensor.address}")
            assert forget.status_code == 200 and forget.json()["disconnected"] == [d["id"]]
            assert (await client.get("/api/devices")).json() == []
            assert (await client.get("/api/ble/paired")).json() == {"sensors": []}
            assert (await client.delete(f"/api/ble/paired/{sensor.address}")).status_code == 404

    asyncio.run(story())


def test_scan_requests_are_checked_and_a_missing_radio_is_explained(tmp_path: Path) -> None:
    async def story() -> None:
        nobody = parse_radio(f"virtual:{free_port()}")  # nothing listens there
        async with dashboard(tmp_path, nobody) as (client, _):
            for bad in ({"seconds": 0}, {"seconds": 30}, {"seconds": 2, "extra": 1}):
                assert (await client.post("/api/ble/scan", json=bad)).status_code == 422
            answer = await client.post("/api/ble/scan")
            assert answer.status_code == 503 and "sim-ble" in answer.json()["detail"]
            assert (await client.delete("/api/ble/paired/not-an-address")).status_code == 422

    asyncio.run(story())
