"""A wireless sensor over BLE: ``ble:ADDRESS`` or ``ble:NAME`` (e.g. ``ble:TW-3F2A9C``).

Opening scans for the sensor (which also gives its signal strength), connects
and subscribes to the firmware's TX characteristic; ``read`` hands over the
notified bytes as they came, since the protocol decoder reassembles frames
that span notifications. A dropped link makes ``read`` raise, and so does a
link that stays up but goes silent for STALL_S (a known BlueZ failure): either
way the pipeline closes the link and reopens it, and the samples missed in
between become a counted gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twitchd.ble import NUS_RX, NUS_TX
from twitchd.ble.radio import Radio, current_radio
from twitchd.ble.scan import ADDRESS, FoundSensor, find, matches
from twitchd.errors import SourceSpecError, TransportError
from twitchd.transports.base import Transport

if TYPE_CHECKING:
    from bleak import BleakClient

log = logging.getLogger(__name__)

#: How long one attempt listens for the sensor's advertisements before giving up.
FIND_TIMEOUT_S = 4.0
CONNECT_TIMEOUT_S = 10.0
#: No notification for this long on an open link is a stall: the same limit as
#: the pipeline's STALL_S, but here it ends the link so that it is reopened.
STALL_S = 2.0
#: ``read`` returns (empty) at least this often, so the pipeline's clock ticks.
WAKE_S = 0.1

OnConnect = Callable[["BleTransport"], Awaitable[None]]


class BleTransport(Transport):
    def __init__(self, target: str, radio: Radio | None = None, on_connect: OnConnect | None = None,
                 find_timeout_s: float = FIND_TIMEOUT_S, stall_s: float = STALL_S) -> None:
        self.target = target
        self.spec = f"ble:{target}"
        self._radio = radio
        self._on_connect = on_connect
        self.find_timeout_s, self.stall_s = find_timeout_s, stall_s
        self.name: str | None = None if ADDRESS.fullmatch(target) else target
        self.address: str | None = None
        self.rssi: int | None = None
        #: notifications received since this transport was made (for tests and diagnostics)
        self.notifications = 0
        self._client: BleakClient | None = None
        self._chunks: list[bytes] = []
        self._wake = asyncio.Event()
        self._dropped: str | None = None
        self._last_rx = 0.0

    @classmethod
    def from_spec(cls, rest: str, data_dir: Path | None = None) -> BleTransport:
        target = rest.strip()
        if not target:
            raise SourceSpecError("ble source needs an address or a name, e.g. ble:TW-3F2A9C (`twitchd devices` lists sensors)")
        from twitchd.ble.paired import PairedSensors

        return cls(target, on_connect=PairedSensors(data_dir).remember_link)

    @property
    def radio(self) -> Radio:
        return self._radio or current_radio()

    def matches(self, name: str | None, address: str) -> bool:
        """Whether this link is to the sensor with that name or address."""
        if self.address is not None and self.address.upper() == address.upper():
            return True
        return matches(self.target, name, address)

    async def open(self) -> None:
        radio = self.radio
        sensor = await find(radio, self.target, self.find_timeout_s)
        if sensor is None:
            self.rssi = None
            raise TransportError(f"{self.target} was not found nearby: is it switched on, charged and within a few"
                                 f" metres? (`twitchd devices` lists the sensors in range)")
        self.name, self.address, self.rssi = sensor.name, sensor.address, sensor.rssi
        await self._connect(radio, sensor)
        if self._on_connect is not None:
            try:
                await self._on_connect(self)
            except Exception as exc:  # remembering the pairing must never cost the link
                log.warning("%s: could not remember the sensor: %s", self.name, exc)

    async def _connect(self, radio: Radio, sensor: FoundSensor) -> None:
        self._chunks.clear()
        self._dropped = None
        client = radio.client(sensor.device, self._on_disconnect, CONNECT_TIMEOUT_S)
        try:
            await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT_S)
            self._client = client
            self._last_rx = time.monotonic()
            await client.start_notify(NUS_TX, self._on_notify)
        except Exception as exc:  # bleak, Bumble, D-Bus and OS errors alike
            self._client = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5.0)
            from bleak.exc import BleakCharacteristicNotFoundError

            if isinstance(exc, TransportError):
                raise
            if isinstance(exc, BleakCharacteristicNotFoundError):
                raise TransportError(f"{sensor.name} has no twitchd data characteristic: is its firmware a"
                                     " twitchd sensor's?") from exc
            raise radio.explain(exc, f"connecting to {sensor.name}") from exc
        log.info("%s (%s): connected, RSSI %s dBm, MTU %d", sensor.name, sensor.address, sensor.rssi, client.mtu_size)

    def _on_notify(self, _: Any, data: bytearray) -> None:
        self._chunks.append(bytes(data))
        self.notifications += 1
        self._last_rx = time.monotonic()
        self._wake.set()

    def _on_disconnect(self, client: Any) -> None:
        if client is not self._client:
            return  # a link this transport already closed
        self._dropped = "the BLE link dropped (out of range, or the sensor switched off?)"
        self._wake.set()

    async def read(self) -> bytes:
        while True:
            if self._chunks:
                out, self._chunks = b"".join(self._chunks), []
                return out
            if self._client is None:
                raise TransportError(f"{self.target} is not connected")
            if self._dropped is not None:
                raise TransportError(f"{self.name}: {self._dropped}; reconnecting")
            silent = time.monotonic() - self._last_rx
            if silent >= self.stall_s:
                raise TransportError(f"{self.name}: no data for {silent:.1f} s although the link is up (a stalled"
                                     " BLE stack); reconnecting")
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), min(WAKE_S, self.stall_s - silent))
            if not self._chunks and self._dropped is None and time.monotonic() - self._last_rx < self.stall_s:
                return b""

    async def write(self, data: bytes) -> None:
        client = self._client
        if client is None or self._dropped is not None:
            raise TransportError(f"{self.target} is not connected")
        # Commands are tiny, but a write must fit one ATT packet (MTU - 3).
        size = max(20, client.mtu_size - 3)
        try:
            for at in range(0, len(data), size):
                await client.write_gatt_char(NUS_RX, data[at:at + size], response=True)
        except Exception as exc:
            raise self.radio.explain(exc, f"sending a command to {self.name}") from exc

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5.0)
