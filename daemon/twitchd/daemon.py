"""The running daemon: devices, their pipelines, the hub, recording, marks and LSL.

Nothing here knows of HTTP: the web layer (twitchd.api and twitchd.routes)
builds the FastAPI app around one ``Daemon``, and the CLI drives the same
object. Layers from the ground up (docs/architecture.md): codec, signal,
pipeline, hub, store, daemon, web/CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twitchd.acquisition.fleet import WORKER_KINDS, RemotePipeline, WorkerPool
from twitchd.hub import Hub
from twitchd.marking import MarkDesk
from twitchd.pipeline import DevicePipeline, Sinks
from twitchd.settings import Settings
from twitchd.signal.params import DetectorParams
from twitchd.store.calibrations import CalibrationBook
from twitchd.store.recorder import Recorder
from twitchd.transports import open_source

if TYPE_CHECKING:
    from twitchd.lsl.outlets import LslOutlets


class Daemon:
    """The running system: the hub and one pipeline per device."""

    def __init__(self, settings: Settings, params: DetectorParams | None = None, *, data_dir: Path | None = None) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.params = params or DetectorParams()
        self.hub = Hub()
        self.started = time.monotonic()
        # Names this run of the daemon: a client that reconnects to a new run knows
        # its event ids started over (ids alone cannot tell once the new run has more).
        self.instance = uuid.uuid4().hex
        self.pipelines: list[DevicePipeline | RemotePipeline] = []
        self._numbers = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._device_tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False
        # Recording (twitchd.store): every pipeline hands its frames to the
        # recorder, which ignores them unless a session is being recorded.
        self.recorder = Recorder(data_dir)
        # Every pipeline hands its frames to these sinks: the recorder always,
        # LSL output while it is on (twitchd.lsl; set_lsl adds and removes it).
        self.lsl: LslOutlets | None = None
        # Marks and the current site: to the recording, the dashboards and LSL;
        # a sink too, for the board's button.
        self.recorder.detector_params = self.params.as_dict()
        self.calibrations = CalibrationBook(data_dir)
        self.marks = MarkDesk(self.recorder, self.hub, lambda: self.lsl, self._force_device, self.calibrations,
                              self._read_ppt)
        self.sinks = Sinks(self.recorder, self.marks)
        # Serial and simulated sensors in worker processes (--workers N), into the same hub and sinks.
        self.pool: WorkerPool | None = None
        if settings.workers:
            self.pool = WorkerPool(settings.workers, self.hub, self.sinks, data_dir, self.params)
        for spec in settings.sources:
            self._make_pipeline(spec)

    def _make_pipeline(self, spec: str) -> DevicePipeline | RemotePipeline:
        """A pipeline for ``spec`` (SourceSpecError if malformed), not yet running."""
        transport = open_source(spec, self.data_dir)
        self._numbers += 1
        kind = spec.partition(":")[0]
        name = f"{kind[:3]}-{self._numbers}"
        pipeline: DevicePipeline | RemotePipeline
        if self.pool is not None and kind in WORKER_KINDS:
            pipeline = self.pool.adopt(name, transport.spec)
        else:
            pipeline = DevicePipeline(name, transport, self.hub, self.params, calibrations=self.calibrations)
            pipeline.sink = self.sinks
        self.pipelines.append(pipeline)
        return pipeline

    def _force_device(self, name: str | None = None) -> tuple[str, str] | None:
        """Device ``name`` (default: the first) among the streaming ones with a force sensor: what a PPT is read from."""
        for p in self.pipelines:
            if (name is None or p.name == name) and p.info.device_id and any(c in ("fsr", "force") for c in p.info.channels):
                return p.name, p.info.device_id
        return None

    def _read_ppt(self, session_id: int, t_s: float) -> dict[str, Any] | None:
        from twitchd.store.clinical import ppt_reading_at
        from twitchd.store.sessions import SessionStore

        with SessionStore(self.data_dir) as store:
            return ppt_reading_at(store, session_id, t_s)

    def pipeline(self, device: str) -> DevicePipeline | None:
        return next((p for p in self.pipelines if p.name == device), None)

    async def add_source(self, spec: str) -> DevicePipeline:
        """Connect one more sensor while running; its pipeline starts at once."""
        pipeline = self._make_pipeline(spec)
        if self._running:
            self._device_tasks[pipeline.name] = asyncio.create_task(pipeline.run(), name=pipeline.name)
        self.hub.publish_display(pipeline.status_message())
        return pipeline

    async def remove_device(self, device: str) -> bool:
        """Disconnect a sensor: stop its pipeline and close its link; False if unknown."""
        pipeline = self.pipeline(device)
        if pipeline is None:
            return False
        self.pipelines.remove(pipeline)
        await pipeline.stop()
        task = self._device_tasks.pop(device, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await pipeline.transport.close()
        if self.lsl is not None:
            self.lsl.forget(device)
        self.hub.publish_display({"kind": "removed", "device": device})
        return True

    def set_lsl(self, enabled: bool) -> None:
        """LSL output on or off for every device (LslError, saying how to install pylsl, if it is missing).

        Blocking (loading liblsl, closing outlets): from the CLI before start,
        or from the API through a worker thread.
        """
        if enabled and self.lsl is None:
            from twitchd.lsl.outlets import LslOutlets

            self.lsl = LslOutlets()
            self.sinks.add(self.lsl)
        elif not enabled and self.lsl is not None:
            lsl, self.lsl = self.lsl, None
            self.sinks.remove(lsl)
            lsl.close()

    def set_params(self, params: DetectorParams) -> None:
        """New detector settings for every device, from the next sample on."""
        self.params = params
        for p in self.pipelines:
            p.set_params(params)
        if self.pool is not None:
            self.pool.set_params(params)
        self.recorder.set_detector_params(params.as_dict())

    async def start(self) -> None:
        self._running = True
        if self.pool is not None:
            await self.pool.start()
        self._device_tasks = {p.name: asyncio.create_task(p.run(), name=p.name) for p in self.pipelines}
        self._tasks.append(asyncio.create_task(self._announce_recording(), name="recording-status"))

    async def _announce_recording(self) -> None:
        """Tell the dashboard about the recording once a second while it records or has failed."""
        last_state = ""
        while True:
            status = self.recorder.status()
            if status["state"] != "idle" or last_state != "idle":
                self.hub.publish_display({"kind": "recording", **status})
            last_state = status["state"]
            await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self.recorder.recording:
            self.marks.stop_ppt()
            await asyncio.to_thread(self.recorder.stop)
        self._running = False
        for p in self.pipelines:
            await p.stop()
        tasks = [*self._tasks, *self._device_tasks.values()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks, self._device_tasks = [], {}
        if self.pool is not None:
            await self.pool.stop()
        if self.lsl is not None:
            await asyncio.to_thread(self.set_lsl, False)  # pushes what is queued, then closes the outlets
