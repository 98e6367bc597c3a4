"""Sensor links behind one small interface, chosen by a spec string.

``simulated``, ``serial:/dev/ttyUSB0`` (``@BAUD`` optional), ``replay:SESSION``
(a recorded session, read from the data directory), ``ble:NAME`` or ``ble:ADDRESS``
(a wireless sensor, through the radio twitchd.ble.radio chooses), ``lsl:NAME``
(a stream another twitchd, or any LSL source with EMG and force, publishes).
Modules are imported lazily, as python-can does, so using a serial port never
imports the simulator and a missing optional library only matters when used.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from twitchd.errors import SourceSpecError
from twitchd.transports.base import Transport

#: kind -> "module:class"; each class has ``from_spec(rest: str, data_dir: Path | None) -> Transport``
#: (only sources that read recordings use the data directory).
BACKENDS: dict[str, str] = {
    "simulated": "twitchd.transports.simulated:SimulatedTransport",
    "serial": "twitchd.transports.serial:SerialTransport",
    "replay": "twitchd.store.replay:ReplayTransport",
    "ble": "twitchd.transports.ble:BleTransport",
    "lsl": "twitchd.transports.lsl:LslTransport",
}


def open_source(spec: str, data_dir: Path | None = None) -> Transport:
    """A transport for ``spec``, not yet opened."""
    kind, _, rest = spec.strip().partition(":")
    target = BACKENDS.get(kind)
    if target is None:
        known = ", ".join(f"{k}:…" if k != "simulated" else k for k in BACKENDS)
        raise SourceSpecError(f"unknown source {spec!r}; use one of: {known}")
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    transport: Transport = cls.from_spec(rest, data_dir)
    return transport


__all__ = ["BACKENDS", "Transport", "open_source"]
