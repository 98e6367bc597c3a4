"""Which Bluetooth stack bleak drives: the computer's own, or Bumble on an HCI transport.

``--ble-radio`` (env ``TWITCHD_BLE_RADIO``) takes:

- ``os`` (the default): bleak's backend for this platform (BlueZ, CoreBluetooth, WinRT);
- ``virtual[:[HOST:]PORT]``: the virtual radio that ``twitchd sim-ble`` serves
  (127.0.0.1:9300 by default), for a demo or a test without Bluetooth hardware;
- ``bumble:TRANSPORT``: Bumble's own host stack on any Bumble HCI transport,
  e.g. ``bumble:usb:0`` for a USB dongle on a machine without BlueZ.

A process has one radio, as it has one Bluetooth adapter: the scanner, every
sensor link and the API share it. Bleak and Bumble are imported only when a
radio is first used.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from twitchd.errors import ConfigError, TransportError

if TYPE_CHECKING:
    from bleak import BleakClient, BleakScanner
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementDataCallback

    from twitchd.ble.bumble_stack import BumbleRadio

VIRTUAL_HOST, VIRTUAL_PORT = "127.0.0.1", 9300
HOW_TO_VIRTUAL = "to try twitchd without Bluetooth, see docs/ble.md (twitchd sim-ble, --ble-radio virtual)"


class Radio:
    """Builds bleak scanners and clients on one stack, and explains its failures."""

    def __init__(self, label: str, bumble: BumbleRadio | None = None) -> None:
        self.label = label
        self.bumble = bumble

    def scanner(self, callback: AdvertisementDataCallback | None, service_uuids: list[str]) -> BleakScanner:
        from bleak import BleakScanner

        if self.bumble is None:
            return BleakScanner(callback, service_uuids)
        from twitchd.ble.bumble_bleak import BumbleScanner

        return BleakScanner(callback, service_uuids, backend=BumbleScanner, bumble=self.bumble)

    def client(self, device: BLEDevice, on_disconnect: Any, timeout: float) -> BleakClient:
        from bleak import BleakClient

        if self.bumble is None:
            return BleakClient(device, on_disconnect, timeout=timeout)
        from twitchd.ble.bumble_bleak import BumbleClient

        return BleakClient(device, on_disconnect, timeout=timeout, backend=BumbleClient, bumble=self.bumble)

    def explain(self, exc: BaseException, doing: str) -> TransportError:
        """A TransportError that says what to do, for any failure of the stack."""
        text = str(exc) or type(exc).__name__
        if self.bumble is not None:
            if isinstance(exc, OSError) and not isinstance(exc, TransportError):
                return TransportError(f"{doing}: {self.label} does not answer ({text});"
                                      " is `twitchd sim-ble` (or the dongle) running?")
            return TransportError(f"{doing} failed on {self.label}: {text}")
        name = type(exc).__name__
        if isinstance(exc, FileNotFoundError) or "BluetoothNotAvailable" in name or "ServiceUnknown" in text \
                or "org.bluez" in text and "not" in text.lower():
            return TransportError(f"{doing}: Bluetooth is not available on this computer (is it switched on, and is"
                                  f" the Bluetooth service running?); {HOW_TO_VIRTUAL}")
        return TransportError(f"{doing} failed: {text}")

    async def close(self) -> None:
        if self.bumble is not None:
            await self.bumble.close()


def parse_radio(spec: str) -> Radio:
    """The radio a ``--ble-radio`` value names (ConfigError if it names none)."""
    kind, _, rest = spec.strip().partition(":")
    if kind in ("", "os"):
        return Radio("the computer's Bluetooth")
    if kind == "virtual":
        host, _, port = rest.rpartition(":")
        if rest and not port.isdigit():
            raise ConfigError(f"--ble-radio virtual takes [HOST:]PORT, got {rest!r}")
        address = f"{host or VIRTUAL_HOST}:{port or VIRTUAL_PORT}"
        return _bumble_radio(f"tcp-client:{address}", f"the virtual radio at {address}")
    if kind == "bumble" and rest:
        return _bumble_radio(rest, f"Bumble on {rest}")
    raise ConfigError(f"unknown BLE radio {spec!r}: use os, virtual[:[HOST:]PORT] or bumble:TRANSPORT (docs/ble.md)")


def _bumble_radio(transport: str, label: str) -> Radio:
    from twitchd.ble.bumble_stack import BumbleRadio

    return Radio(label, BumbleRadio.on_transport(transport, label))


_current: Radio | None = None


def current_radio() -> Radio:
    """The process's radio: the one set with use_radio, else TWITCHD_BLE_RADIO, else the OS's."""
    global _current
    if _current is None:
        _current = parse_radio(os.environ.get("TWITCHD_BLE_RADIO", "os"))
    return _current


def use_radio(radio: Radio | None) -> Radio | None:
    """Make ``radio`` the process's radio (None: decide again from the environment); returns the previous one."""
    global _current
    previous, _current = _current, radio
    return previous
