"""A virtual ESP32 sensor: the firmware's BLE side on a Bumble controller.

It serves the firmware's service (TX notify, RX write), advertises the service
and its device id as the firmware does, and carries the bytes of a
SimulatedDevice, which speaks protocol v1 exactly as the firmware does. The
board keeps sampling whatever the link does: what it produces while nobody is
subscribed is lost, as on the real board.

It can also misbehave on purpose (a dropped link, a link that stays up but goes
silent, corrupt bytes), and it keeps a log of every DATA frame it made and
whether the frame went out whole, so a test can say how many samples the host
*must* have lost. Faults are applied at tick boundaries, between two batches
of notifications, so that log is exact.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from twitchd.ble import NUS_RX, NUS_SERVICE, NUS_TX
from twitchd.protocol import Data, StreamDecoder
from twitchd.sim.device import SimulatedDevice

if TYPE_CHECKING:
    from bumble.controller import Controller
    from bumble.device import Connection, Device
    from bumble.gatt import Characteristic
    from bumble.link import LocalLink

log = logging.getLogger(__name__)

#: The firmware batches ~5-10 ms of samples per notification burst (DESIGN.md §3).
TICK_S = 0.01
ADVERTISING_INTERVAL_MS = 50.0
#: What the firmware's BLEDevice::setMTU asks for.
MAX_MTU = 247
#: HCI "Connection Timeout": what both ends report when a link is lost in the air.
CONNECTION_TIMEOUT = 0x08


def address_for(device_id: str) -> str:
    """A random static address fixed by the device id, so a paired virtual sensor is the same one tomorrow."""
    raw = bytearray(hashlib.sha256(device_id.encode()).digest()[:6])
    raw[0] |= 0xC0
    return ":".join(f"{b:02X}" for b in raw)


@dataclass
class SentFrame:
    sample_index: int
    samples: int
    delivered: bool
    #: the frame's ADC counts, when the sensor keeps them (``keep_counts``)
    counts: npt.NDArray[np.uint16] | None = None


class VirtualSensor:
    def __init__(self, link: LocalLink, board: SimulatedDevice | None = None, *, tick_s: float = TICK_S,
                 max_chunk: int | None = None, rng: random.Random | None = None, log_frames: bool = False,
                 keep_counts: bool = False) -> None:
        """``max_chunk`` caps a notification (20 is an MTU-23 link); with ``rng`` each
        notification takes a random length up to the cap, to test reassembly.
        ``log_frames`` keeps the log of sent frames (tests; it grows without end)."""
        self.board = board or SimulatedDevice(device_id="TW-B1E001")
        self.name = self.board.device_id
        self.address = address_for(self.name)
        self.link = link
        self.tick_s, self.max_chunk, self.rng = tick_s, max_chunk, rng
        self.frames: list[SentFrame] = []
        self.log_frames, self.keep_counts = log_frames or keep_counts, keep_counts
        self.connections = 0
        self.notifications = 0
        self._observer = StreamDecoder()
        self._device: Device | None = None
        self._controller: Controller | None = None
        self._tx: Characteristic[bytes] | None = None
        self._subscribed: set[Connection] = set()
        self._task: asyncio.Task[None] | None = None
        self._down_until = 0.0
        self._drop_request: float | None = None
        self._dropped = asyncio.Event()
        self._stalled = False
        self._corrupt_next = False
        self._inject: list[bytes] = []

    # -- life -------------------------------------------------------------
    async def start(self) -> None:
        from bumble.controller import Controller
        from bumble.device import Device
        from bumble.gatt import Characteristic, CharacteristicValue, Service
        from bumble.hci import Address
        from bumble.host import Host
        from bumble.transport.common import AsyncPipeSink

        controller = Controller(self.name, link=self.link)
        device = Device(self.name, Address(self.address), host=Host(controller, AsyncPipeSink(controller)))
        device.gatt_server.max_mtu = MAX_MTU
        tx: Characteristic[bytes] = Characteristic(NUS_TX, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b"")
        rx: Characteristic[bytes] = Characteristic(
            NUS_RX, Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
            Characteristic.WRITEABLE, CharacteristicValue(write=lambda _conn, value: self.board.receive(bytes(value))))
        device.add_service(Service(NUS_SERVICE, [tx, rx]))
        tx.on(tx.EVENT_SUBSCRIPTION, self._on_subscription)
        device.on(device.EVENT_CONNECTION, self._on_connection)
        await device.power_on()
        self._device, self._controller, self._tx = device, controller, tx
        await self._advertise()
        self._task = asyncio.create_task(self._run(), name=f"virtual-sensor-{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        device, self._device = self._device, None
        if device is not None:
            with contextlib.suppress(Exception):
                await device.stop_advertising()
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):
                    await connection.disconnect()
        if self._controller is not None:
            self.link.remove_controller(self._controller)
            self._controller = None

    async def _advertise(self) -> None:
        from bumble.core import AdvertisingData, UUID

        assert self._device is not None
        # The firmware puts the name in its scan response; Bumble's virtual
        # controller answers scans with the advertising data, so both go here
        # (16 + 2 + 9 + 2 = 29 of 31 bytes, no room for flags).
        data = bytes(AdvertisingData([
            (AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, UUID(NUS_SERVICE).to_bytes()),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
        ]))
        await self._device.start_advertising(advertising_data=data, auto_restart=True,
                                             advertising_interval_min=ADVERTISING_INTERVAL_MS,
                                             advertising_interval_max=ADVERTISING_INTERVAL_MS)

    def _on_connection(self, connection: Connection) -> None:
        self.connections += 1
        self._stalled = False  # a stall belongs to the link it happened on
        connection.on(connection.EVENT_DISCONNECTION, lambda _reason: self._subscribed.discard(connection))

    def _on_subscription(self, connection: Connection, notify: bool, _indicate: bool) -> None:
        (self._subscribed.add if notify else self._subscribed.discard)(connection)

    # -- faults -------------------------------------------------------------
    async def drop(self, down_for_s: float | None) -> None:
        """Lose the link as if the sensor went out of range, and stay unreachable for
        ``down_for_s`` (None: for good). Returns once the link is down."""
        self._dropped.clear()
        self._drop_request = math.inf if down_for_s is None else down_for_s
        await self._dropped.wait()

    def stall(self) -> None:
        """Keep the link up but stop notifying, until the next connection."""
        self._stalled = True

    def inject(self, raw: bytes) -> None:
        """Send ``raw`` as a notification of its own at the next tick."""
        self._inject.append(raw)

    def corrupt_next_frame(self) -> None:
        """Flip one bit of the next DATA frame's body (not a delimiter): its CRC fails."""
        self._corrupt_next = True

    @property
    def linked(self) -> bool:
        return bool(self._subscribed)

    def lost_samples(self) -> int:
        """Samples in frames that did not go out whole, between the first and the last that did."""
        sent = [i for i, f in enumerate(self.frames) if f.delivered]
        if not sent:
            return 0
        return sum(f.samples for f in self.frames[sent[0]:sent[-1] + 1] if not f.delivered)

    def delivered_samples(self) -> int:
        return sum(f.samples for f in self.frames if f.delivered)

    # -- the board's loop ------------------------------------------------------
    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(self.tick_s)
            now = time.monotonic()
            out = self.board.advance(now - last)  # the board samples whatever the link does
            last = now
            await self._apply_faults(now)
            await self._send(out)

    async def _apply_faults(self, now: float) -> None:
        device = self._device
        assert device is not None
        if self._drop_request is not None:
            self._down_until, self._drop_request = now + self._drop_request, None
            await device.stop_advertising()
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):
                    await connection.disconnect(CONNECTION_TIMEOUT)
            self._subscribed.clear()
            self._dropped.set()
        elif self._down_until and now >= self._down_until:
            self._down_until = 0.0
            await self._advertise()

    async def _send(self, out: bytes) -> None:
        live = self.linked and not self._stalled and not self._down_until
        wire = bytearray()
        for body in out.split(b"\x00")[:-1]:
            frame = bytearray(body + b"\x00")
            data = [item for item in self._observer.feed(bytes(frame)) if isinstance(item, Data)] \
                if self.log_frames or self._corrupt_next else []
            corrupt = bool(data) and self._corrupt_next and live
            if corrupt:
                self._corrupt_next = False
                middle = len(frame) // 2
                frame[middle] = frame[middle] ^ 0x80 or 0x81
            for item in data if self.log_frames else ():
                self.frames.append(SentFrame(item.sample_index, item.samples.shape[0], live and not corrupt,
                                             item.samples if self.keep_counts else None))
            wire += frame
        if live:
            for raw in self._inject:
                await self._notify(raw, whole=True)
            self._inject.clear()
            await self._notify(bytes(wire))

    async def _notify(self, payload: bytes, whole: bool = False) -> None:
        assert self._device is not None and self._tx is not None
        for connection in list(self._subscribed):
            limit = connection.att_mtu - 3 if self.max_chunk is None else min(self.max_chunk, connection.att_mtu - 3)
            at = 0
            while at < len(payload):
                size = len(payload) if whole else (self.rng.randint(1, limit) if self.rng else limit)
                with contextlib.suppress(Exception):
                    await self._device.notify_subscriber(connection, self._tx, payload[at:at + size])
                    self.notifications += 1
                at += size
