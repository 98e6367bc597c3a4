"""Finding twitchd sensors nearby: by service UUID and by name, with their signal strength.

Scans ask the stack for the firmware's service only, then keep the devices
whose advertised name is a device id: the UUID alone would also list any
Nordic-UART gadget in the room.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twitchd.ble import NUS_SERVICE, is_sensor
from twitchd.ble.radio import Radio
from twitchd.errors import TransportError

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

#: A MAC address (BlueZ, WinRT, Bumble) or a CoreBluetooth UUID: matched as an address, not a name.
ADDRESS = re.compile(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|[0-9A-Fa-f]{8}-([0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}")


@dataclass(frozen=True)
class FoundSensor:
    name: str
    address: str
    rssi: int | None
    #: bleak's handle, to connect without scanning again
    device: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "address": self.address, "rssi": self.rssi}


def _sensor(device: BLEDevice, adv: AdvertisementData) -> FoundSensor | None:
    name = adv.local_name or device.name
    if not is_sensor(name, adv.service_uuids):
        return None
    return FoundSensor(str(name), device.address, adv.rssi, device)


async def scan(radio: Radio, seconds: float) -> list[FoundSensor]:
    """Every twitchd sensor heard within ``seconds``, strongest first."""
    scanner = radio.scanner(None, [NUS_SERVICE])
    try:
        await scanner.start()
        try:
            await asyncio.sleep(seconds)
        finally:
            await scanner.stop()
    except TransportError:
        raise
    except Exception as exc:
        raise radio.explain(exc, "scanning for BLE sensors") from exc
    found = [s for d, a in scanner.discovered_devices_and_advertisement_data.values() if (s := _sensor(d, a))]
    return sorted(found, key=lambda s: (-(s.rssi if s.rssi is not None else -999), s.name))


def matches(target: str, name: str | None, address: str) -> bool:
    """Whether ``target`` (from ``ble:TARGET``) names this sensor: its address, else its advertised name."""
    if ADDRESS.fullmatch(target):
        return address.upper() == target.upper()
    return (name or "").upper() == target.upper()


async def find(radio: Radio, target: str, timeout: float) -> FoundSensor | None:
    """The sensor ``target`` names, as soon as it is heard; None if not heard within ``timeout``."""
    found: asyncio.Future[FoundSensor] = asyncio.get_running_loop().create_future()

    def heard(device: BLEDevice, adv: AdvertisementData) -> None:
        sensor = _sensor(device, adv)
        if sensor is not None and matches(target, sensor.name, sensor.address) and not found.done():
            found.set_result(sensor)

    scanner = radio.scanner(heard, [NUS_SERVICE])
    try:
        await scanner.start()
        try:
            return await asyncio.wait_for(asyncio.shield(found), timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            await scanner.stop()
    except TransportError:
        raise
    except Exception as exc:
        raise radio.explain(exc, f"looking for {target}") from exc
