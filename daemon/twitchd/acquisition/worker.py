"""An acquisition worker process: the pipelines of the devices it owns, and nothing else.

It reads, decodes and detects exactly as the main process would (the same
:class:`DevicePipeline`), with a hub and a sink that turn every call into a
message for the main process (twitchd.acquisition.link). Commands come the
other way on the same pipe, read by a thread so the event loop never blocks.
When the pipe to the main process closes, the worker stops: a worker never
outlives the daemon that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd.acquisition.link import Message, Outbox
from twitchd.events import Event
from twitchd.pipeline import DeviceInfo, DevicePipeline, Resume, Run
from twitchd.signal.calibration import ChannelMap
from twitchd.signal.params import DetectorParams
from twitchd.store.calibrations import CalibrationBook
from twitchd.transports import open_source

log = logging.getLogger(__name__)

#: How often the worker reports its own counters (hand-overs and traces dropped).
REPORT_S = 1.0


@dataclass(frozen=True)
class DeviceOrder:
    """One device a worker is to acquire: its name in the fleet, its source, where its stream stood."""

    name: str
    spec: str
    resume: Resume | None = None


@dataclass(frozen=True)
class WorkerSetup:
    number: int
    data_dir: Path | None
    params: dict[str, float]
    devices: tuple[DeviceOrder, ...] = field(default_factory=tuple)


class HubLink:
    """What a pipeline takes for the hub: each call becomes a message (the main hub numbers events)."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def publish_event(self, event: Event, device: str) -> Event:
        self._outbox.put(("event", device, event))
        return event

    def publish_display(self, msg: dict[str, Any]) -> None:
        self._outbox.put(("display", msg), droppable=msg.get("kind") == "trace")


class SinkLink:
    """What a pipeline takes for its sink: frames, runs, events and presses, as messages."""

    takes_runs = True

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._streams: dict[str, ChannelMap] = {}

    def _stream(self, name: str, info: DeviceInfo, cmap: ChannelMap) -> None:
        # The channel map is one object per HELLO: when the object changes, so may the stream.
        if self._streams.get(name) is not cmap:
            self._streams[name] = cmap
            self._outbox.put(("stream", name, cmap, info.to_json()))

    def on_data(self, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int, sample_index: int,
                counts: npt.NDArray[np.uint16], t0_us: int, host_s: float) -> None:
        self._stream(name, info, cmap)
        self._outbox.put(("data", name, origin_raw, sample_index, counts, t0_us, host_s))

    def on_run(self, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int, run: Run) -> None:
        self._stream(name, info, cmap)
        self._outbox.put(("run", name, origin_raw, run))

    def on_event(self, name: str, event: Event) -> None:
        self._outbox.put(("to_sinks", name))

    def on_button(self, name: str, t_s: float, device_time_us: int, button: int, count: int) -> None:
        self._outbox.put(("button", name, t_s, device_time_us, button, count))


class Worker:
    def __init__(self, conn: Connection, setup: WorkerSetup) -> None:
        self.conn = conn
        self.setup = setup
        self.outbox = Outbox(conn)
        self.hub = HubLink(self.outbox)
        self.sink = SinkLink(self.outbox)
        self.params = DetectorParams(**setup.params)
        self.calibrations = CalibrationBook(setup.data_dir)
        self.pipelines: dict[str, DevicePipeline] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.done = asyncio.Event()

    def add(self, order: DeviceOrder) -> None:
        transport = open_source(order.spec, self.setup.data_dir)
        pipeline = DevicePipeline(order.name, transport, self.hub, self.params,  # type: ignore[arg-type]
                                  calibrations=self.calibrations, resume=order.resume)
        pipeline.sink = self.sink
        self.pipelines[order.name] = pipeline
        self.tasks[order.name] = asyncio.create_task(pipeline.run(), name=order.name)

    async def remove(self, name: str) -> None:
        pipeline = self.pipelines.pop(name, None)
        task = self.tasks.pop(name, None)
        if pipeline is None or task is None:
            return
        await pipeline.stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        with contextlib.suppress(Exception):
            await pipeline.transport.close()

    async def command(self, msg: Message) -> None:
        kind = msg[0]
        if kind == "params":
            self.params = DetectorParams(**msg[1])
            for p in self.pipelines.values():
                p.set_params(self.params)
        elif kind == "add":
            self.add(DeviceOrder(msg[1], msg[2], msg[3]))
        elif kind == "remove":
            await self.remove(msg[1])
        elif kind == "stop":
            self.done.set()

    async def report(self) -> None:
        while True:
            await asyncio.sleep(REPORT_S)
            self.outbox.put(("worker", self.setup.number, os.getpid(), self.outbox.dropped,
                             self.outbox.dropped_display))

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        for order in self.setup.devices:
            self.add(order)
        reader = threading.Thread(target=self._read_commands, args=(loop,), name="commands", daemon=True)
        reader.start()
        reporter = asyncio.create_task(self.report())
        await self.done.wait()
        reporter.cancel()
        for name in list(self.pipelines):
            await self.remove(name)
        self.outbox.close()

    def _read_commands(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                msg = ("stop",)  # the main process is gone
            asyncio.run_coroutine_threadsafe(self.command(msg), loop)
            if msg[0] == "stop":
                return


def main(conn: Connection, setup: WorkerSetup) -> None:
    """The worker process's entry point (multiprocessing, spawn)."""
    logging.basicConfig(level=logging.WARNING, format=f"worker {setup.number}: %(levelname)s %(name)s: %(message)s")
    from twitchd.signal.detector import warm_up

    warm_up()
    asyncio.run(Worker(conn, setup).serve())
