"""The main process's side of acquisition workers: one fleet of devices for the hub, recording and API.

:class:`WorkerPool` starts the workers (spawned processes: the daemon's event
loop and threads must not be forked), shares the devices out among them, reads
each worker's messages on a thread of its own and plays them, on the event
loop, into the hub and the sinks, exactly as an in-process pipeline calls them.
:class:`RemotePipeline` is what the daemon, the API and the dashboard see of a
device acquired in a worker: its name, its :class:`DeviceInfo` as the worker
last reported it, and where its stream stands, which is what a restarted worker
is given to continue the stream with an exact gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from twitchd.acquisition import worker as worker_process
from twitchd.acquisition.link import Message, decode_batch
from twitchd.clock import MASK32
from twitchd.events import Event
from twitchd.hub import Hub
from twitchd.pipeline import DeviceInfo, Resume, Run, Sinks
from twitchd.signal.calibration import ChannelMap
from twitchd.signal.params import DetectorParams

log = logging.getLogger(__name__)

#: Sources a worker can own: serial ports and built-in simulated sensors. BLE
#: (one radio, one Bumble or BlueZ stack) and LSL inlets stay in the main process.
WORKER_KINDS = ("serial", "simulated")
#: A worker that dies is started again after this long, and at most this often.
RESTART_DELAY_S = 0.2


class RemoteTransport:
    """What the API asks of a pipeline's transport (its spec) for a device acquired in a worker."""

    reconnectable = True
    rssi: int | None = None

    def __init__(self, spec: str) -> None:
        self.spec = spec

    async def close(self) -> None:
        return None


@dataclass
class _Stream:
    cmap: ChannelMap | None = None
    origin_raw: int = 0
    next_index: int | None = None
    last_data_host: float = 0.0
    last_event: Event | None = None
    #: samples that reached this process, and samples counted lost (gap events): what a
    #: new worker's counts start from (the dead worker's last status may be a second old)
    taken: int = 0
    lost: int = 0


class RemotePipeline:
    """A device acquired in a worker process, as the daemon sees it."""

    def __init__(self, name: str, spec: str, pool: WorkerPool, params: DetectorParams) -> None:
        self.name = name
        self.transport = RemoteTransport(spec)
        self.pool = pool
        self.info = DeviceInfo(id=name, source=spec, press_threshold_n=params.press_on_n)
        self.worker: int | None = None
        self.stream = _Stream()
        self._stopped = asyncio.Event()
        self._status: dict[str, Any] = {"kind": "status", "device": name, **self.info.to_json()}

    def status_message(self) -> dict[str, Any]:
        return dict(self._status)

    def resume(self) -> Resume | None:
        """Where the stream stands: a new worker continues it from here."""
        s = self.stream
        if s.next_index is None or not self.info.device_id:
            return None
        return Resume(self.info.device_id, self.info.rate_hz, s.origin_raw, s.next_index, s.last_data_host,
                      s.taken, s.lost)

    def set_params(self, params: DetectorParams) -> None:
        """What the API shows; the worker is told by :meth:`WorkerPool.set_params`."""
        self.info.press_threshold_n = params.press_on_n

    async def run(self) -> None:
        """The worker acquires; this only lasts as long as the device is in the fleet."""
        await self._stopped.wait()

    async def stop(self) -> None:
        self._stopped.set()
        await self.pool.remove(self)

    # -- from the worker's messages --------------------------------------------
    def took_status(self, msg: dict[str, Any]) -> None:
        self._status = msg
        for key, value in msg.items():
            if key in ("kind", "device", "lost_for_s"):
                continue
            if hasattr(self.info, key):
                setattr(self.info, key, value)
        self.info.lost_since = None if msg.get("state") == "streaming" else (
            time.monotonic() - float(msg.get("lost_for_s") or 0.0))

    def lost_worker(self, code: int | None) -> None:
        """Its worker died: the dashboard is told, until the new worker's status says otherwise."""
        self.info.state, self.info.last_error = "reconnecting", f"acquisition worker died (exit code {code}); restarting it"
        self.info.lost_since = time.monotonic()
        self._status = {"kind": "status", "device": self.name, **self.info.to_json()}

    def took_samples(self, origin_raw: int, next_index: int, n: int, end_host_s: float) -> None:
        """``n`` samples reached this process, the last before raw index ``next_index``."""
        s = self.stream
        s.origin_raw = origin_raw
        s.next_index = next_index & MASK32
        s.last_data_host = end_host_s
        s.taken += n


@dataclass
class _Worker:
    number: int
    process: Any
    conn: Connection
    pid: int = 0
    dropped: int = 0
    dropped_display: int = 0
    restarts: int = 0
    stopping: bool = False


class WorkerPool:
    """``count`` acquisition workers, their devices, and the one fleet they make."""

    def __init__(self, count: int, hub: Hub, sinks: Sinks, data_dir: Path | None, params: DetectorParams) -> None:
        self.count = count
        self.hub = hub
        self.sinks = sinks
        self.data_dir = data_dir
        self.params = params
        self.devices: dict[str, RemotePipeline] = {}
        self._workers: dict[int, _Worker] = {}
        self._pending: list[RemotePipeline] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ctx = multiprocessing.get_context("spawn")
        self._watchers: list[asyncio.Task[None]] = []
        self.restarts = 0

    def adopt(self, name: str, spec: str) -> RemotePipeline:
        """A device for the fleet; it goes to the least loaded worker once the pool runs."""
        device = RemotePipeline(name, spec, self, self.params)
        self.devices[name] = device
        if self._loop is None:
            self._pending.append(device)
        else:
            self._place(device)
        return device

    def owned_by(self, number: int) -> list[RemotePipeline]:
        return [d for d in self.devices.values() if d.worker == number]

    def _place(self, device: RemotePipeline) -> None:
        number = min(self._workers, key=lambda k: len(self.owned_by(k)))
        device.worker = number
        self._workers[number].conn.send(("add", device.name, device.transport.spec, device.resume()))

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        shares: list[list[RemotePipeline]] = [[] for _ in range(self.count)]
        for i, device in enumerate(self._pending):
            shares[i % self.count].append(device)
        self._pending = []
        for number, share in enumerate(shares):
            self._spawn(number, share)

    def _spawn(self, number: int, devices: list[RemotePipeline], restarts: int = 0) -> None:
        assert self._loop is not None
        orders = tuple(worker_process.DeviceOrder(d.name, d.transport.spec, d.resume()) for d in devices)
        setup = worker_process.WorkerSetup(number, self.data_dir, self.params.as_dict(), orders)
        ours, theirs = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(target=worker_process.main, args=(theirs, setup), name=f"twitchd-worker-{number}",
                                    daemon=True)
        process.start()
        theirs.close()
        w = _Worker(number, process, ours, process.pid or 0, restarts=restarts)
        for d in devices:
            d.worker = number
        self._workers[number] = w
        threading.Thread(target=self._read, args=(w,), name=f"worker-{number}-reader", daemon=True).start()
        self._watchers.append(asyncio.create_task(self._watch(w), name=f"worker-{number}-watch"))
        log.info("acquisition worker %d (pid %s): %s", number, process.pid,
                 ", ".join(d.name for d in devices) or "no devices yet")

    def _read(self, w: _Worker) -> None:
        """The worker's messages, batch by batch, onto the event loop (this thread only waits on the pipe)."""
        assert self._loop is not None
        while True:
            try:
                data = w.conn.recv_bytes()
            except (EOFError, OSError):
                return
            try:
                batch = decode_batch(data)
            except Exception:
                log.exception("worker %d sent a batch that cannot be read", w.number)
                continue
            self._loop.call_soon_threadsafe(self._dispatch, batch)

    async def _watch(self, w: _Worker) -> None:
        """Wait for the worker to end; if nobody asked it to, start it again with its devices."""
        await asyncio.to_thread(w.process.join)
        if w.stopping or self._workers.get(w.number) is not w:
            return
        code = w.process.exitcode
        devices = self.owned_by(w.number)
        log.error("acquisition worker %d (pid %s) died (exit code %s); restarting it with %s", w.number, w.pid, code,
                  ", ".join(d.name for d in devices) or "no devices")
        with contextlib.suppress(Exception):
            w.conn.close()
        for d in devices:
            d.lost_worker(code)
            self.hub.publish_display(d.status_message())
        self.restarts += 1
        await asyncio.sleep(RESTART_DELAY_S)
        if self._workers.get(w.number) is w:
            self._spawn(w.number, devices, w.restarts + 1)

    def _dispatch(self, batch: list[Message]) -> None:
        for msg in batch:
            try:
                self._take(msg)
            except Exception:
                log.exception("a worker's %r message failed", msg[0])

    def _take(self, msg: Message) -> None:
        kind = msg[0]
        if kind == "run":
            _, name, origin_raw, run = msg
            device = self.devices.get(name)
            if device is None or device.stream.cmap is None:
                return
            r: Run = run
            device.took_samples(origin_raw, r.index[-1] + r.sizes[-1], r.samples.shape[0],
                                r.host_s[-1] + r.sizes[-1] / max(1, device.info.rate_hz))
            self.sinks.on_run(name, device.info, device.stream.cmap, origin_raw, r)
        elif kind == "data":
            _, name, origin_raw, first, counts, t0_us, host_s = msg
            device = self.devices.get(name)
            if device is None or device.stream.cmap is None:
                return
            n = counts.shape[0]
            device.took_samples(origin_raw, first + n, n, host_s + n / max(1, device.info.rate_hz))
            self.sinks.on_data(name, device.info, device.stream.cmap, origin_raw, first, counts, t0_us, host_s)
        elif kind == "display":
            body = msg[1]
            device = self.devices.get(body.get("device", ""))
            if body.get("kind") == "status" and device is not None:
                device.took_status(body)
            self.hub.publish_display(body)
        elif kind == "event":
            _, name, event = msg
            numbered = self.hub.publish_event(event, name)
            device = self.devices.get(name)
            if device is not None:
                device.stream.last_event = numbered
                if event.kind == "gap":
                    device.stream.lost += int(event.extra.get("samples", 0))
        elif kind == "to_sinks":
            device = self.devices.get(msg[1])
            if device is not None and device.stream.last_event is not None:
                self.sinks.on_event(msg[1], device.stream.last_event)
        elif kind == "stream":
            _, name, cmap, info = msg
            device = self.devices.get(name)
            if device is not None:
                device.stream.cmap = cmap
                device.took_status({"kind": "status", "device": name, **info})
        elif kind == "button":
            _, name, t_s, device_time_us, button, count = msg
            self.sinks.on_button(name, t_s, device_time_us, button, count)
        elif kind == "worker":
            _, number, pid, dropped, dropped_display = msg
            w = self._workers.get(number)
            if w is not None and w.pid == pid:
                w.dropped, w.dropped_display = dropped, dropped_display

    def set_params(self, params: DetectorParams) -> None:
        """New settings for every worker's pipelines (the daemon updates the RemotePipelines)."""
        self.params = params
        for w in self._workers.values():
            with contextlib.suppress(OSError):
                w.conn.send(("params", params.as_dict()))

    async def remove(self, device: RemotePipeline) -> None:
        if self.devices.pop(device.name, None) is None:
            return
        w = self._workers.get(device.worker) if device.worker is not None else None
        if w is not None:
            with contextlib.suppress(OSError):
                w.conn.send(("remove", device.name))

    def status(self) -> list[dict[str, Any]]:
        """One line per worker, for the API: its process, devices, restarts and hand-overs dropped."""
        return [{"worker": w.number, "pid": w.pid, "alive": w.process.is_alive(),
                 "devices": [d.name for d in self.owned_by(w.number)],
                 "restarts": w.restarts, "dropped_handovers": w.dropped, "dropped_traces": w.dropped_display}
                for w in self._workers.values()]

    async def stop(self) -> None:
        workers = list(self._workers.values())
        for w in workers:
            w.stopping = True
            with contextlib.suppress(OSError):
                w.conn.send(("stop",))
        for w in workers:
            await asyncio.to_thread(w.process.join, 5.0)
            if w.process.is_alive():
                w.process.kill()
                await asyncio.to_thread(w.process.join, 2.0)
            with contextlib.suppress(Exception):
                w.conn.close()
        for task in self._watchers:
            task.cancel()
        self._workers = {}
