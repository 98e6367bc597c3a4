"""Sensors paired once and reconnected at every start: a small JSON file in the data directory.

The daemon's own memory of which wireless sensors belong to this practice,
not the operating system's bonding (twitchd sensors need none). Writes replace
the file atomically, so a crash leaves the old list or the new one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from twitchd.errors import StoreError
from twitchd.store.paths import default_data_dir



class Link(Protocol):
    """What pairing needs of a connected BLE link (twitchd.transports.ble.BleTransport has it)."""

    name: str | None
    address: str | None


class Fleet(Protocol):
    """What ``paired_sources`` needs of the running daemon: its data directory and open pipelines."""

    data_dir: Path | None

    @property
    def pipelines(self) -> Sequence[Any]: ...

log = logging.getLogger(__name__)

FILE_NAME = "ble-sensors.json"
_lock = threading.Lock()  # API handlers and links write from worker threads


@dataclass(frozen=True)
class PairedSensor:
    name: str | None
    address: str | None
    device_id: str = ""

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if not self.device_id:
            del out["device_id"]
        return out


class PairedSensors:
    def __init__(self, data_dir: Path | None) -> None:
        self.path = (data_dir if data_dir is not None else default_data_dir()) / FILE_NAME

    def all(self) -> list[PairedSensor]:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("%s is unreadable (%s): no sensors are remembered", self.path, exc)
            return []
        sensors = raw.get("sensors", []) if isinstance(raw, dict) else []
        return [PairedSensor(str(s["name"]), str(s["address"]), str(s.get("device_id", "")))
                for s in sensors if isinstance(s, dict) and "name" in s and "address" in s]

    def remember(self, name: str, address: str, device_id: str = "") -> None:
        """Add or update a sensor (by address); a known device id is kept when none is given."""
        with _lock:
            sensors = self.all()
            old = next((s for s in sensors if s.address.upper() == address.upper()), None)
            entry = PairedSensor(name, address, device_id or (old.device_id if old else ""))
            if entry == old:
                return
            self._write([s for s in sensors if s is not old] + [entry])

    def forget(self, address: str) -> bool:
        with _lock:
            sensors = self.all()
            kept = [s for s in sensors if s.address.upper() != address.upper()]
            if len(kept) == len(sensors):
                return False
            self._write(kept)
            return True

    def _write(self, sensors: list[PairedSensor]) -> None:
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"sensors": [s.to_json() for s in sensors]}, indent=1))
            os.replace(tmp, self.path)
        except OSError as exc:
            raise StoreError(f"cannot save the paired sensors to {self.path}: {exc.strerror or exc}") from exc

    async def remember_link(self, link: Link) -> None:
        """A BleTransport's on_connect hook: connecting a sensor pairs it."""
        if link.name and link.address:
            await asyncio.to_thread(self.remember, link.name, link.address)


def paired_sources(daemon: Fleet) -> list[str]:
    """Sources for the paired sensors the daemon was not already told to open.

    Called by ``twitchd run`` before it starts, so a practitioner's sensor is
    back without a click; one that is off stays ``lost`` and is retried.
    """
    started = {p.transport.spec.upper() for p in daemon.pipelines}
    specs = []
    for sensor in PairedSensors(daemon.data_dir).all():
        if f"BLE:{sensor.address}".upper() in started or f"BLE:{sensor.name}".upper() in started:
            continue
        specs.append(f"ble:{sensor.address}")
    return specs
