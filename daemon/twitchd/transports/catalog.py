"""What a client of the API may connect, and the serial ports this machine has.

The API never opens a path a browser names: a serial source must be one of
the ports pyserial enumerates (or one the daemon was started with), a replay
names a session id, and BLE names an address or advertised name. Everything
else is refused before a transport is built.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from serial.tools import list_ports

from twitchd.errors import SourceSpecError

#: A BLE address (MAC or CoreBluetooth UUID) or an advertised name: printable, short.
BLE_TARGET = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _:.\-]{0,63}")
SIMULATED_OPTIONS = re.compile(r"simulated(:[a-z]+=[A-Za-z0-9.\-]{1,16}(,[a-z]+=[A-Za-z0-9.\-]{1,16})*)?")


@dataclass(frozen=True)
class SerialPort:
    port: str
    description: str
    hwid: str
    serial_number: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


#: Extra places to look for serial ports, as glob patterns separated by the OS's
#: path separator: udev rules that name sensors /dev/twitch-*, or the links of
#: ``twitchd sim-device`` boards.
SERIAL_PORTS_ENV = "TWITCHD_SERIAL_PORTS"


def serial_ports() -> list[SerialPort]:
    """USB serial adapters and on-board UARTs, with /dev/serial/by-id links as their stable names."""
    found = []
    for p in list_ports.comports(include_links=True):
        found.append(SerialPort(p.device, p.description or "", p.hwid or "", p.serial_number or ""))
    seen = {p.port for p in found}
    for pattern in filter(None, os.environ.get(SERIAL_PORTS_ENV, "").split(os.pathsep)):
        for path in sorted(glob.glob(pattern)):
            if path not in seen and os.path.exists(path):
                found.append(SerialPort(path, f"from {SERIAL_PORTS_ENV}", "", ""))
                seen.add(path)
    return sorted(found, key=lambda p: p.port)


def client_source(spec: str, extra_ports: Iterable[str] = ()) -> str:
    """``spec`` if a client may open it; SourceSpecError saying why not otherwise."""
    spec = spec.strip()
    kind, _, rest = spec.partition(":")
    if kind == "simulated":
        if not SIMULATED_OPTIONS.fullmatch(spec):
            raise SourceSpecError("simulated options are key=number pairs, e.g. simulated:seed=3,snr=2")
        return spec
    if kind == "serial":
        port, _, baud = rest.partition("@")
        allowed = {p.port for p in serial_ports()} | set(extra_ports)
        if port not in allowed:
            raise SourceSpecError(f"{port!r} is not a serial port on this machine; choose one from GET /api/ports")
        if baud and not baud.isdigit():
            raise SourceSpecError(f"serial baud rate must be a number, got {baud!r}")
        return spec
    if kind == "replay":
        if not re.fullmatch(r"[0-9]+(,speed=[0-9.]+)?", rest):
            raise SourceSpecError("replay takes a session id, e.g. replay:12 or replay:12,speed=4")
        return spec
    if kind == "ble":
        if not BLE_TARGET.fullmatch(rest):
            raise SourceSpecError("ble takes an address or advertised name, e.g. ble:twitchd-3F2A")
        return spec
    raise SourceSpecError(f"unknown source kind {kind!r}; use simulated, serial:PORT, ble:NAME or replay:ID")
