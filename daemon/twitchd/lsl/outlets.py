"""The LSL sink: pipelines hand frames and events over, one thread pushes them into outlets.

The hooks run on the data path, so they only take the LSL clock (the frame's
arrival, for the clock fit) and append to a deque: about 0.7 µs a frame.
Everything else happens on the ``twitchd-lsl`` thread: scaling counts to
volts and newtons, fitting each board's clock, creating and destroying
outlets, and pushing. Measured on this project's 2-core machine (liblsl
1.18): ``push_chunk`` of a 10-sample frame costs 6 µs with no consumer and
15 µs with one; creating an outlet 2 ms, destroying one with a connected
inlet 27 ms. Called from the event loop, 16 devices at 200 frames/s would
cost it 5 % of a core and a 27 ms stall per unplugged sensor; on a thread
neither reaches acquisition, and a wedged liblsl fills the deque, which
then drops frames (counted and logged) instead of growing without bound.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twitchd.events import Event
from twitchd.lsl import load_pylsl
from twitchd.clock import MASK32, DeviceClock, StreamClock, signed32
from twitchd.lsl.streams import (
    DeviceMeta, channels, data_info, data_name, mark_json, marker_info, marker_json, marker_name, values,
)
from twitchd.signal.calibration import ChannelMap

if TYPE_CHECKING:
    from twitchd.pipeline import DeviceInfo

log = logging.getLogger(__name__)

#: Frames the thread may fall behind by: 6 s of 16 devices at 2 kHz in 10-sample frames.
QUEUE_FRAMES = 20_000
#: How often the thread looks for devices whose link was lost (their outlets close).
CHECK_S = 0.25
GONE_STATES = ("lost", "reconnecting")
#: Data frames held while a clock is being fitted (10 s at 2 kHz); older ones are dropped.
WAIT_FRAMES = 2_000
#: Seconds between attempts to create an outlet that liblsl refused.
RETRY_S = 5.0


@dataclass
class _Stream:
    """One device as LSL sees it: its clock, its two outlets, and what waits for them."""

    name: str
    info: DeviceInfo
    key: tuple[str, int, tuple[str, ...]]
    meta: DeviceMeta
    cmap: ChannelMap
    times: StreamClock
    origin_raw: int = 0
    next_index: int | None = None
    data: Any = None
    markers: Any = None
    waiting: deque[tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]] = field(
        default_factory=lambda: deque(maxlen=WAIT_FRAMES))
    waiting_events: list[tuple[Event | dict[str, Any], float, float]] = field(default_factory=list)
    to_push: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float64]]] = field(default_factory=list)
    samples: int = 0
    events: int = 0
    error: str = ""
    retry_at: float = 0.0

    @property
    def rate(self) -> int:
        return self.key[1]

    @property
    def clock(self) -> DeviceClock:
        return self.times.fit

    def close(self) -> None:
        # Dropping the last reference destroys the outlet (liblsl unregisters it).
        self.data = self.markers = None


class LslOutlets:
    """A ``SampleSink`` that makes every device an LSL data stream plus a Markers stream."""

    def __init__(self, pylsl: Any | None = None) -> None:
        self.pylsl = pylsl if pylsl is not None else load_pylsl()
        self._now = self.pylsl.local_clock
        self._items: deque[tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._streams: dict[str, _Stream] = {}
        self._status: list[dict[str, Any]] = []
        self.dropped_frames = 0
        self._thread = threading.Thread(target=self._run, name="twitchd-lsl", daemon=True)
        self._thread.start()

    # -- the hooks the pipelines call (never wait) ----------------------------
    def on_data(self, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int, sample_index: int,
                counts: npt.NDArray[np.uint16], t0_us: int, host_s: float) -> None:
        if len(self._items) >= QUEUE_FRAMES:
            self.dropped_frames += 1
            return
        self._items.append(("data", name, info, info.device_id, info.rate_hz, cmap, origin_raw, sample_index,
                            counts, t0_us, self._now()))
        if not self._wake.is_set():
            self._wake.set()

    def on_event(self, name: str, event: Event) -> None:
        self._items.append(("event", name, event))
        if not self._wake.is_set():
            self._wake.set()

    def on_mark(self, name: str, t_s: float, body: dict[str, Any]) -> None:
        """A practitioner's mark at ``t_s`` on device ``name``'s stream time, onto its Markers stream."""
        self._items.append(("mark", name, t_s, body))
        if not self._wake.is_set():
            self._wake.set()

    # -- control ---------------------------------------------------------------
    def forget(self, name: str) -> None:
        """The device was removed from the daemon: close its outlets."""
        self._items.append(("forget", name))
        self._wake.set()

    def close(self, timeout: float = 5.0) -> None:
        """Push what is queued, destroy every outlet and stop the thread."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    def clock_of(self, name: str) -> DeviceClock | None:
        """The clock fit that stamps device ``name``'s samples (docs, tests, diagnostics)."""
        stream = self._streams.get(name)
        return stream.clock if stream is not None else None

    def status(self) -> list[dict[str, Any]]:
        """Per device: stream names, samples and markers pushed, clock fit (refreshed every CHECK_S)."""
        return self._status

    # -- the thread ----------------------------------------------------------------
    def _run(self) -> None:
        last_check, dropped = 0.0, 0
        try:
            while True:
                self._wake.wait(CHECK_S)
                self._wake.clear()
                while self._items:
                    item = self._items.popleft()
                    try:
                        self._handle(item)
                    except Exception:  # one bad frame or a liblsl error must not end the thread
                        log.exception("LSL: could not handle a %s item for %s", item[0], item[1])
                self._flush()
                now = time.monotonic()
                if now - last_check >= CHECK_S or self._stopping:
                    last_check = now
                    self._close_lost_links()
                    if self.dropped_frames != dropped:
                        log.warning("LSL output fell behind: %d frames dropped so far", self.dropped_frames)
                        dropped = self.dropped_frames
                    self._status = [self._describe(s) for s in self._streams.values()]
                if self._stopping and not self._items:
                    break
        finally:
            for stream in self._streams.values():
                stream.close()
            self._streams.clear()
            self._status = []

    def _handle(self, item: tuple[Any, ...]) -> None:
        if item[0] == "data":
            self._on_frame(*item[1:])
        elif item[0] == "event":
            self._on_event(item[1], item[2])
        elif item[0] == "mark":
            self._on_mark(item[1], item[2], item[3])
        elif item[0] == "forget":
            stream = self._streams.pop(item[1], None)
            if stream is not None:
                stream.close()

    def _stream_for(self, name: str, info: DeviceInfo, device_id: str, rate: int, cmap: ChannelMap) -> _Stream:
        key = (device_id, rate, tuple(c.label for c in channels(cmap)))
        stream = self._streams.get(name)
        if stream is None or stream.key != key:
            if stream is not None:
                stream.close()  # a new board on this link, a new rate or other channels: a new stream
            meta = DeviceMeta(name, device_id, rate, info.board, info.firmware, info.source, info.force_calibration)
            stream = _Stream(name, info, key, meta, cmap, StreamClock(rate))
            self._streams[name] = stream
        stream.cmap = cmap
        return stream

    def _on_frame(self, name: str, info: DeviceInfo, device_id: str, rate: int, cmap: ChannelMap, origin_raw: int,
                  index: int, counts: npt.NDArray[np.uint16], t0_us: int, arrival: float) -> None:
        stream = self._stream_for(name, info, device_id, rate, cmap)
        stream.origin_raw = origin_raw
        n = counts.shape[0]
        period_us = 1e6 / rate
        if stream.times.observe(index, t0_us, n, arrival):
            log.info("%s: the board's clock restarted; fitting it again", name)
            stream.next_index = None
        elif stream.next_index is not None and (lost := signed32(index - stream.next_index)) > 0:
            self._gap(stream, stream.next_index, lost)
        assert stream.times.anchor is not None
        t_us = stream.times.anchor[1]
        stream.next_index = (index + n) & MASK32
        frame = (values(cmap, counts), t_us + np.arange(n) * period_us)
        if stream.data is not None and stream.clock.ready:
            stream.to_push.append((frame[0], stream.clock.to_host_array(frame[1])))
            return
        stream.waiting.append(frame)
        if stream.clock.ready:
            self._open(stream)

    def _gap(self, stream: _Stream, first_lost: int, lost: int) -> None:
        """Samples lost on the link: a ``gap`` marker (the data stream simply has no samples there)."""
        onset = ((first_lost - stream.origin_raw) & MASK32) / stream.rate
        end = onset + lost / stream.rate
        gap = Event("gap", onset, end, end, device=stream.name, extra={"samples": float(lost)})
        start_us = stream.times.device_us(first_lost)
        self._add_marker(stream, gap, start_us, start_us + lost * 1e6 / stream.rate)

    def _on_event(self, name: str, event: Event) -> None:
        stream = self._streams.get(name)
        if stream is None or stream.times.anchor is None:
            return  # no frame of this device has come through: nothing to place it against
        onset = (stream.origin_raw + round(event.onset_s * stream.rate)) & MASK32
        onset_us = stream.times.device_us(onset)
        end_us = onset_us + (event.end_s - event.onset_s) * 1e6 if np.isfinite(event.end_s) else float("nan")
        self._add_marker(stream, event, onset_us, end_us)

    def _on_mark(self, name: str, t_s: float, body: dict[str, Any]) -> None:
        stream = self._streams.get(name)
        if stream is None or stream.times.anchor is None:
            return
        onset_us = stream.times.device_us((stream.origin_raw + round(t_s * stream.rate)) & MASK32)
        self._add_marker(stream, body, onset_us, float("nan"))

    def _add_marker(self, stream: _Stream, event: Event | dict[str, Any], onset_us: float, end_us: float) -> None:
        if stream.markers is None or not stream.clock.ready:
            stream.waiting_events.append((event, onset_us, end_us))
            return
        onset = stream.clock.to_host(onset_us)
        if isinstance(event, Event):
            end = stream.clock.to_host(end_us) if np.isfinite(end_us) else float("nan")
            text = marker_json(event, stream.meta.device_id, onset, end)
        else:
            text = mark_json(event, stream.meta.device_id, onset)
        stream.markers.push_sample([text], onset)
        stream.events += 1

    def _open(self, stream: _Stream) -> None:
        """Create the device's outlets once its clock is fitted, then send what waited for it."""
        if stream.data is None:
            if time.monotonic() < stream.retry_at:
                return
            try:
                stream.data = self.pylsl.StreamOutlet(data_info(self.pylsl, stream.meta, stream.cmap), 0, 60)
                stream.markers = self.pylsl.StreamOutlet(marker_info(self.pylsl, stream.meta))
            except Exception as exc:  # liblsl reports failures as RuntimeError or its own errors
                stream.close()
                stream.error, stream.retry_at = f"cannot create LSL outlets: {exc}", time.monotonic() + RETRY_S
                log.error("%s: %s", stream.name, stream.error)
                return
            stream.error = ""
            log.info("%s: LSL streams '%s' and '%s' are up", stream.name, data_name(stream.meta.device_id),
                     marker_name(stream.meta.device_id))
        for vals, us in stream.waiting:
            stream.to_push.append((vals, stream.clock.to_host_array(us)))
        stream.waiting.clear()
        pending, stream.waiting_events = stream.waiting_events, []
        for event, onset_us, end_us in pending:
            self._add_marker(stream, event, onset_us, end_us)

    def _flush(self) -> None:
        """One push per device per wake-up: the frames queued since the last one, each sample stamped."""
        for stream in self._streams.values():
            if not stream.to_push or stream.data is None:
                continue
            vals = np.concatenate([v for v, _ in stream.to_push])
            stamps = np.concatenate([t for _, t in stream.to_push])
            stream.to_push.clear()
            stream.data.push_chunk(vals, stamps.tolist())
            stream.samples += len(stamps)

    def _close_lost_links(self) -> None:
        for name, stream in list(self._streams.items()):
            if stream.info.state in GONE_STATES:
                log.info("%s: link %s; its LSL outlets are closed until it is back", name, stream.info.state)
                stream.close()
                del self._streams[name]

    def _describe(self, stream: _Stream) -> dict[str, Any]:
        line = stream.clock.line
        return {
            "device": stream.name, "device_id": stream.meta.device_id, "rate_hz": stream.rate,
            "state": "streaming" if stream.data is not None else ("failed" if stream.error else "fitting clock"),
            "data_stream": data_name(stream.meta.device_id), "marker_stream": marker_name(stream.meta.device_id),
            "channels": list(stream.key[2]), "samples": stream.samples, "markers": stream.events,
            "consumers": bool(stream.data is not None and stream.data.have_consumers()),
            "drift_ppm": round(stream.clock.drift_ppm, 1), "offset_s": round(line.offset, 6) if line else None,
            "error": stream.error,
        }
