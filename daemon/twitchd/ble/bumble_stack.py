"""Bumble's host stack as the daemon's Bluetooth radio.

One Bumble ``Device`` (a host) talks HCI to one controller: a USB dongle, the
virtual controller that ``twitchd sim-ble`` serves over TCP, or, in tests, a
virtual controller on an in-process link. Scanners and clients share it, as
bleak's OS backends share the adapter: scanning is reference-counted, and the
last advertisement of every address is kept so a client can connect to an
address it was handed as a string. The stack is opened on first use and again
after its transport was lost, so a radio that comes later (sim-ble started
after the daemon) is picked up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from bumble.device import Advertisement, Device
    from bumble.link import LocalLink
    from bumble.transport.common import Transport as HciTransport

log = logging.getLogger(__name__)

AdvertisementListener = Callable[["Advertisement"], None]


def random_static_address() -> str:
    """A fresh random static address (two top bits set), so two daemons on one virtual air never collide."""
    raw = bytearray(secrets.token_bytes(6))
    raw[0] |= 0xC0
    return ":".join(f"{b:02X}" for b in raw)


class BumbleRadio:
    def __init__(self, open_host: Callable[[], Awaitable[tuple[Device, HciTransport | None]]], label: str) -> None:
        self.label = label
        self._open_host = open_host
        self._device: Device | None = None
        self._transport: HciTransport | None = None
        self._lock = asyncio.Lock()
        self._listeners: dict[int, AdvertisementListener] = {}
        self._next_listener = 0
        self._lost_callbacks: set[Callable[[], None]] = set()
        #: address (upper case) -> its last advertisement
        self.seen: dict[str, Advertisement] = {}

    @classmethod
    def on_transport(cls, spec: str, label: str) -> BumbleRadio:
        """A radio on a Bumble HCI transport spec (``tcp-client:127.0.0.1:9300``, ``usb:0``…)."""

        async def open_host() -> tuple[Device, HciTransport | None]:
            from bumble.device import Device
            from bumble.hci import Address
            from bumble.transport import open_transport

            transport = await open_transport(spec)
            device = Device.with_hci("twitchd", Address(random_static_address()), transport.source, transport.sink)
            return device, transport

        return cls(open_host, label)

    @classmethod
    def on_link(cls, link: LocalLink, label: str = "an in-process virtual radio") -> BumbleRadio:
        """A radio whose controller sits on ``link`` in this process (tests)."""

        async def open_host() -> tuple[Device, HciTransport | None]:
            from bumble.controller import Controller
            from bumble.device import Device
            from bumble.hci import Address
            from bumble.host import Host
            from bumble.transport.common import AsyncPipeSink

            controller = Controller("twitchd", link=link)
            return Device("twitchd", Address(random_static_address()), host=Host(controller, AsyncPipeSink(controller))), None

        return cls(open_host, label)

    async def device(self) -> Device:
        """The powered-on host, opening it first if needed (OSError if the controller cannot be reached)."""
        async with self._lock:
            if self._device is None:
                device, transport = await self._open_host()
                try:
                    await asyncio.wait_for(device.power_on(), 10.0)
                except BaseException:
                    if transport is not None:
                        await transport.close()
                    raise
                device.on(device.EVENT_ADVERTISEMENT, self._on_advertisement)
                self._device, self._transport = device, transport
                if transport is not None:
                    transport.source.terminated.add_done_callback(lambda _: self._on_transport_lost(device))
                log.info("BLE radio: Bumble host %s on %s", device.random_address, self.label)
            return self._device

    def _on_transport_lost(self, device: Device) -> None:
        if self._device is not device:
            return
        log.warning("BLE radio %s: HCI transport lost", self.label)
        self._device, self._transport = None, None
        for callback in list(self._lost_callbacks):
            callback()

    def on_lost(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` if the controller goes away (every link on it is gone); returns the unregister function."""
        self._lost_callbacks.add(callback)
        return lambda: self._lost_callbacks.discard(callback)

    # -- scanning, shared ---------------------------------------------------
    def _on_advertisement(self, advertisement: Advertisement) -> None:
        self.seen[str(advertisement.address).upper()] = advertisement
        for listener in list(self._listeners.values()):
            listener(advertisement)

    async def start_scan(self, listener: AdvertisementListener) -> int:
        device = await self.device()
        token = self._next_listener
        self._next_listener += 1
        self._listeners[token] = listener
        if not device.is_scanning:
            try:
                await device.start_scanning(active=True, filter_duplicates=False)
            except BaseException:
                self._listeners.pop(token, None)
                raise
        return token

    async def stop_scan(self, token: int) -> None:
        self._listeners.pop(token, None)
        device = self._device
        if not self._listeners and device is not None and device.is_scanning:
            with contextlib.suppress(Exception):
                await device.stop_scanning()

    async def close(self) -> None:
        device, transport = self._device, self._transport
        self._device, self._transport = None, None
        if device is not None:
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.disconnect(), 2.0)
            with contextlib.suppress(Exception):
                await device.power_off()
        if transport is not None:
            await transport.close()

