"""Wireless sensors: the firmware's BLE service, finding and remembering sensors.

An ESP32 board advertises under its device id (``TW-3F2A9C``) and carries the
same byte stream as USB serial on a Nordic-UART-style service: the host
subscribes to TX and writes commands to RX (firmware/twitch_sensor/board_esp32.h).
Nothing here imports bleak or Bumble; the modules that need them import them
when used, so a serial-only daemon never loads a Bluetooth stack.
"""

from __future__ import annotations

from collections.abc import Iterable

#: The service, as the firmware declares it (UUIDs in bleak's lower-case form).
NUS_SERVICE = "6e400001-b5a3-f393-e0a9-e50e24dcca9e"
#: Device -> host: protocol bytes in notifications of up to MTU - 3 bytes.
NUS_TX = "6e400003-b5a3-f393-e0a9-e50e24dcca9e"
#: Host -> device: commands, written with or without response.
NUS_RX = "6e400002-b5a3-f393-e0a9-e50e24dcca9e"
#: Device ids, and so advertised names, start with this (twitch_protocol.h format_device_id).
NAME_PREFIX = "TW-"


def is_sensor(name: str | None, service_uuids: Iterable[str]) -> bool:
    """A twitchd board: the service alone is not enough, since any Nordic-UART
    gadget (a bike computer, a serial bridge) advertises the same UUID."""
    return bool(name and name.startswith(NAME_PREFIX)) and NUS_SERVICE in {u.lower() for u in service_uuids}


__all__ = ["NAME_PREFIX", "NUS_RX", "NUS_SERVICE", "NUS_TX", "is_sensor"]
