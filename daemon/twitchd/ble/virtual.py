"""``twitchd sim-ble``: a virtual wireless sensor that another process can pair with.

The sensor (twitchd.ble.peripheral) lives on a Bumble link in this process.
Every daemon that connects over TCP gets a fresh virtual controller on the same
link: its own radio, driven over HCI by Bumble's host stack in the daemon
(``--ble-radio virtual``). So the daemon's scan, connect, notifications and
reconnects are real HCI and GATT traffic, with no Bluetooth hardware and no
kernel Bluetooth. When a daemon goes away, its links are ended as a real
radio switched off would end them, and the sensor advertises again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from bumble import hci, ll
from bumble.controller import Controller
from bumble.link import LocalLink
from bumble.transport.common import StreamPacketSink, StreamPacketSource

from twitchd.ble.peripheral import VirtualSensor
from twitchd.ble.radio import VIRTUAL_HOST, VIRTUAL_PORT
from twitchd.errors import TransportError

if TYPE_CHECKING:
    from twitchd.sim.device import SimulatedDevice

log = logging.getLogger(__name__)


class _RadioSocket(StreamPacketSource):
    """One daemon's HCI connection: a controller on the shared link while it lasts."""

    def __init__(self, air: VirtualAir) -> None:
        super().__init__()
        self.air = air
        self.controller: Controller | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.air.radios += 1
        self.controller = Controller(f"radio-{self.air.radios}", host_source=self,
                                     host_sink=StreamPacketSink(transport), link=self.air.link)  # type: ignore[arg-type]
        log.info("a daemon joined the virtual air (radio %d)", self.air.radios)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.controller is not None:
            self.air.release(self.controller)
            self.controller = None
        super().connection_lost(exc)


class VirtualAir:
    def __init__(self, sensor_board: SimulatedDevice | None = None) -> None:
        self.link = LocalLink()  # type: ignore[no-untyped-call]
        self.sensor = VirtualSensor(self.link, sensor_board)
        self.radios = 0
        self._server: asyncio.Server | None = None

    async def start(self, host: str = VIRTUAL_HOST, port: int = VIRTUAL_PORT) -> int:
        """Start the sensor and listen for daemons; returns the port (useful with port 0)."""
        try:
            self._server = await asyncio.get_running_loop().create_server(lambda: _RadioSocket(self), host, port)
        except OSError as exc:
            raise TransportError(f"cannot listen on {host}:{port} ({exc.strerror or exc}): is another"
                                 " `twitchd sim-ble` running? (--port to choose another)") from exc
        await self.sensor.start()
        return int(self._server.sockets[0].getsockname()[1])

    def release(self, controller: Controller) -> None:
        """A daemon left: end its links the way the air does when a radio goes silent."""
        for connection in list(controller.le_connections.values()):
            with contextlib.suppress(Exception):
                connection.send_ll_control_pdu(ll.TerminateInd(hci.HCI_CONNECTION_TIMEOUT_ERROR))
        controller.le_connections.clear()
        if controller in self.link.controllers:
            self.link.remove_controller(controller)
        log.info("a daemon left the virtual air")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.sensor.stop()


async def serve_virtual_sensor(air: VirtualAir, host: str, port: int, drops: tuple[float, float] | None) -> None:
    """Run ``twitchd sim-ble`` until cancelled; with ``drops`` (every, down), lose the link on a schedule."""
    bound = await air.start(host, port)
    sensor = air.sensor
    radio = "virtual" if (host, bound) == (VIRTUAL_HOST, VIRTUAL_PORT) else f"virtual:{host}:{bound}"
    print(f"virtual sensor {sensor.name} ({sensor.address}) is advertising on the virtual air at {host}:{bound}",
          flush=True)
    print(f"  pair it from the dashboard:  twitchd run --ble-radio {radio}", flush=True)
    print(f"  or connect it directly:      twitchd run --ble-radio {radio} --source ble:{sensor.name}", flush=True)
    try:
        while True:
            if drops is None:
                await asyncio.sleep(3600)
                continue
            every, down = drops
            await asyncio.sleep(every)
            if sensor.linked:
                await sensor.drop(down)
                print(f"dropped the link; the sensor is out of reach for {down:g} s", flush=True)
    finally:
        await air.stop()
