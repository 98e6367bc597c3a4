"""The BLE part of the API: scan for sensors, list and forget paired ones.

Connecting and disconnecting are the general ``POST /api/devices``
(``{"source": "ble:ADDRESS"}``) and ``DELETE /api/devices/{id}``; a sensor
that connects once is remembered (twitchd.ble.paired) and reconnected at the
next start. Scans run on the daemon's radio (twitchd.ble.radio); a computer
without Bluetooth answers 503 with what to do.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, HTTPException, Path
from pydantic import BaseModel, ConfigDict, Field

from twitchd.ble.paired import PairedSensor, PairedSensors
from twitchd.ble.radio import current_radio
from twitchd.ble.scan import ADDRESS, FoundSensor, scan
from twitchd.errors import StoreError, TransportError
from twitchd.validation import responses

if TYPE_CHECKING:
    from twitchd.daemon import Daemon
    from twitchd.pipeline import DevicePipeline
    from twitchd.transports.ble import BleTransport


DEFAULT_SCAN_S = 3.0


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
    seconds: float = Field(DEFAULT_SCAN_S, ge=1, le=15, description="how long to listen; sensors advertise several times a second")


Address = Annotated[str, Path(pattern=f"^(?:{ADDRESS.pattern})$", description="a sensor's address, from a scan")]


def ble_links(daemon: Daemon) -> list[tuple[DevicePipeline, BleTransport]]:
    from twitchd.transports.ble import BleTransport

    return [(p, p.transport) for p in daemon.pipelines if isinstance(p.transport, BleTransport)]


def _entry(name: str, address: str, rssi: int | None, paired: list[PairedSensor], connected: bool) -> dict[str, Any]:
    is_paired = any(p.address.upper() == address.upper() for p in paired)
    return {"name": name, "address": address, "rssi": rssi, "paired": is_paired, "connected": connected}


def scan_answer(found: list[FoundSensor], daemon: Daemon, paired: list[PairedSensor]) -> list[dict[str, Any]]:
    """Sensors heard, plus the daemon's own linked sensors, which do not advertise while connected."""
    links = [t for _, t in ble_links(daemon)]
    out = [_entry(s.name, s.address, s.rssi, paired, any(t.matches(s.name, s.address) for t in links)) for s in found]
    heard = {s.address.upper() for s in found}
    for t in links:
        if t.address is not None and t.address.upper() not in heard:
            out.append(_entry(t.name or t.target, t.address, t.rssi, paired, True))
    return out


def add_ble_routes(app: FastAPI) -> None:
    daemon: Daemon = app.state.daemon
    def store() -> PairedSensors:
        return PairedSensors(daemon.data_dir)

    @app.post("/api/ble/scan", responses=responses(400, 403, 503))
    async def ble_scan(body: ScanIn | None = None) -> dict[str, Any]:
        """twitchd sensors in range (by service and name), strongest signal first."""
        seconds = body.seconds if body is not None else DEFAULT_SCAN_S
        try:
            found = await scan(current_radio(), seconds)
        except TransportError as exc:
            raise HTTPException(503, str(exc)) from exc
        paired = await asyncio.to_thread(store().all)
        return {"sensors": scan_answer(found, daemon, paired)}

    @app.get("/api/ble/paired")
    async def ble_paired() -> dict[str, Any]:
        sensors = await asyncio.to_thread(store().all)
        # Device ids come from the sensors' HELLO: note them for sensors linked now.
        for pipeline, link in ble_links(daemon):
            for s in sensors:
                if link.address and s.address.upper() == link.address.upper() and pipeline.info.device_id \
                        and s.device_id != pipeline.info.device_id:
                    await asyncio.to_thread(store().remember, s.name, s.address, pipeline.info.device_id)
        sensors = await asyncio.to_thread(store().all)
        return {"sensors": [s.to_json() for s in sensors]}

    @app.delete("/api/ble/paired/{address}", responses=responses(403, 404, 503))
    async def ble_forget(address: Address) -> dict[str, Any]:
        """Forget a sensor (it is no longer reconnected at start), and disconnect it if linked."""
        try:
            forgotten = await asyncio.to_thread(store().forget, address)
        except StoreError as exc:
            raise HTTPException(503, str(exc)) from exc
        if not forgotten:
            raise HTTPException(404, f"no paired sensor {address}")
        removed = [p.name for p, t in ble_links(daemon) if t.matches(None, address)]
        for name in removed:
            await daemon.remove_device(name)
        return {"forgotten": address, "disconnected": removed}
