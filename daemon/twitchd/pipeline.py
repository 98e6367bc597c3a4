"""One device's chain: transport -> decoder -> calibration -> detector -> hub.

It owns the device's state as the dashboard shows it (connecting, streaming,
stalled, lost, reconnecting), counts every lost sample exactly from the
frames' sample indices, and keeps reconnecting a lost link with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from twitchd.clock import MASK32, StreamClock, signed32
from twitchd.errors import ProtocolError, TransportError, TwitchdError
from twitchd.events import Event
from twitchd.hub import Hub
from twitchd.protocol import Command, DataBlock, Hello, Mark, Opcode, SequenceGap, Status, StreamDecoder, encode_frame
from twitchd.signal.calibration import ChannelMap
from twitchd.signal.health import ChannelHealth
from twitchd.signal.detector import PROVISIONAL, Detector
from twitchd.signal.params import DetectorParams
from twitchd.store.calibrations import Calibration, CalibrationBook
from twitchd.timeline import GapMap
from twitchd.transports.base import Transport

log = logging.getLogger(__name__)

#: No bytes for this long on an open link means it has stalled (a known
#: failure of BLE stacks and of USB adapters); the practitioner is told.
STALL_S = 2.0

#: Display traces: 250 points/s (min/max per 4 ms bucket keeps every spike
#: visible), sent ~20 times a second.
DISPLAY_RATE_HZ = 250
DISPLAY_PERIOD_S = 0.05
#: Reads whose data-path time the status reports on (about 10 s of one 2 kHz sensor).
PATH_WINDOW = 2048
STATUS_PERIOD_S = 1.0
RECONNECT_BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 5.0)
#: The pipeline takes what a link has brought at most this often. A read costs
#: some 100-150 µs of Python (the transport's turn of the event loop, the decoder
#: call, the detector call, the hand-over) whatever it holds, and a board sends
#: a frame every 5 ms: read by read, 16 sensors at 2 kHz took 60 % of a core
#: (docs/performance.md). Every 15 ms a read holds about three frames. Measured
#: with benchmarks/fleet.py, 64 sensors for 30 s: 10 ms took 73 % of a core
#: (end to end p99 49 ms), 15 ms 65 % (44 ms), 20 ms 59 % (55 ms, over the 50 ms
#: issue 20 allows). A USB-serial adapter's latency timer adds as much anyway
#: (FTDI's default is 16 ms).
READ_INTERVAL_S = 0.015
#: Button presses held until the first DATA gives the stream its origin (a
#: press just after the HELLO); more than a few there means a stuck button.
MARKS_WAITING = 16


@dataclass
class DeviceInfo:
    """What the API and dashboard show about a device."""

    id: str
    source: str
    state: str = "connecting"
    board: str = ""
    firmware: str = ""
    device_id: str = ""
    rate_hz: int = 0
    channels: list[str] = field(default_factory=list)
    samples: int = 0
    lost_samples: int = 0
    device_overflows: int = 0
    bad_frames: int = 0
    #: presses of the board's button (MARK frames) received, and those whose MARK was lost
    #: (the board numbers its presses, so a skipped number is a lost frame)
    marks: int = 0
    marks_missed: int = 0
    press_threshold_n: float = 0.0
    force_calibration: str = "nominal"
    saturation_n: float = 0.0
    warnings: list[dict[str, str]] = field(default_factory=list)
    last_error: str = ""
    #: signal strength in dBm where the link has one (BLE: last advertisement heard)
    rssi: int | None = None
    #: how fast the board's clock runs against the host's, once fitted (a crystal: tens of ppm)
    clock_drift_ppm: float | None = None
    #: time the data path took per read (decode, detect, hand to sinks and screens), p50/p99/max
    #: over the last PATH_WINDOW reads, in ms: what the daemon adds to a frame's latency
    data_path_ms: dict[str, float] = field(default_factory=dict)
    #: when the link was lost (time.monotonic()), None while streaming; shown as lost_for_s
    lost_since: float | None = field(default=None, repr=False)

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        since = out.pop("lost_since")
        out["lost_for_s"] = round(time.monotonic() - since, 1) if since is not None else 0.0
        return out


class SampleSink(Protocol):
    """Where a recording takes the raw stream from (twitchd.store.recorder.Recorder).

    Both calls are made on the data path and must return at once: a sink
    queues, it never writes or waits. ``origin_raw`` is the sample index the
    pipeline's stream time counts from, so event times can be placed exactly.
    ``host_s`` is when the frame's first sample was taken, on ``time.monotonic()``'s
    clock, mapped from the board's own µs clock (twitchd.clock.StreamClock):
    free of arrival jitter, following the board's drift, increasing.
    ``counts`` (samples x channels) is one DATA frame's samples; a sink whose
    class sets ``takes_runs = True`` is called once per *run* instead: the
    frames of a read whose sample indices follow on, ``counts`` all of their
    samples and ``sample_index``, ``t0_us`` and ``host_s`` those of its first
    sample (each later sample is one period after the one before, on the
    board's clock). A run never spans a gap or a board's reset. Without the
    attribute a sink is called frame by frame, as sinks written before runs
    (issue 20) expect.

    Optional: ``on_button(name, t_s, device_time_us, button, count)``, a press
    of the board's own button (a MARK frame, docs/protocol.md). ``t_s`` is the
    press on the pipeline's stream time, the axis of ``Event.onset_s``, placed
    by the sample index the board took it at (exact to one sample; slightly
    negative for a press just before the first sample the pipeline saw);
    ``device_time_us`` the board's µs clock at the press (wrapping at 2³²);
    ``button`` the button's id (1 on the boards of firmware/); ``count`` the
    board's number of the press since it booted (1, 2, ..., wrapping at
    65536). A sink without it is not told; like the others it must not block.
    """

    def on_data(self, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int, sample_index: int,
                counts: npt.NDArray[np.uint16], t0_us: int, host_s: float) -> None: ...

    def on_event(self, name: str, event: Event) -> None: ...


@dataclass(frozen=True)
class Resume:
    """Where a device's stream stood when the process acquiring it died (twitchd.acquisition).

    A pipeline started with it continues that stream when the same sensor says
    HELLO at the same rate: the same origin, so stream time and the recording
    go on, and the samples missed while nobody read are one exact gap, counted
    from the board's own sample index.
    """

    device_id: str
    rate_hz: int
    origin_raw: int
    next_index: int
    #: when the last sample arrived (time.monotonic(), one clock for every process):
    #: what a board that rebooted meanwhile is placed by
    last_data_host: float
    samples: int = 0
    lost_samples: int = 0


@dataclass(slots=True)
class Run:
    """DATA frames whose sample indices follow on, as the pipeline hands them to its sinks.

    Frame k has ``sizes[k]`` samples from raw index ``index[k]``, the board's
    ``t0_us[k]`` and the host stamp ``host_s[k]`` of its first sample;
    ``samples`` holds all of them, frame after frame.
    """

    index: list[int]
    sizes: list[int]
    t0_us: list[int]
    host_s: list[float]
    samples: npt.NDArray[np.uint16]

    def frames(self) -> Iterator[tuple[int, npt.NDArray[np.uint16], int, float]]:
        """``(index, counts, t0_us, host_s)`` frame by frame, for sinks that take frames."""
        row = 0
        for index, n, t0_us, host_s in zip(self.index, self.sizes, self.t0_us, self.host_s, strict=True):
            yield index, self.samples[row:row + n], t0_us, host_s
            row += n

    def to(self, sink: SampleSink, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int) -> None:
        """To one sink: in one call if it takes runs, else frame by frame."""
        on_run = getattr(sink, "on_run", None)
        if on_run is not None:
            on_run(name, info, cmap, origin_raw, self)
        elif getattr(sink, "takes_runs", False):
            sink.on_data(name, info, cmap, origin_raw, self.index[0], self.samples, self.t0_us[0], self.host_s[0])
        else:
            for index, counts, t0_us, host_s in self.frames():
                sink.on_data(name, info, cmap, origin_raw, index, counts, t0_us, host_s)


def _takes_runs(sink: object) -> bool:
    return getattr(sink, "on_run", None) is not None or bool(getattr(sink, "takes_runs", False))


class Sinks:
    """Several sinks behind the pipeline's one ``sink`` (the recorder, LSL output, the mark desk, ...).

    A sink has any of ``on_data`` (with or without ``takes_runs``), ``on_event``
    and ``on_button``; which sink wants what is worked out when the set
    changes, not on every frame. The roles are one tuple replaced whole, so a
    sink can be added or removed from another thread while a pipeline is
    calling the others. A sink that raises is logged and skipped: a
    consumer's bug must not stop acquisition.
    """

    def __init__(self, *sinks: object) -> None:
        self._reported: set[int] = set()
        self._set(sinks)

    def _set(self, sinks: tuple[object, ...]) -> None:
        data = tuple(s for s in sinks if hasattr(s, "on_data") or hasattr(s, "on_run"))
        self._roles: tuple[tuple[Any, ...], ...] = (
            tuple(s for s in data if not _takes_runs(s)), tuple(s for s in data if _takes_runs(s)),
            tuple(s for s in sinks if hasattr(s, "on_event")), tuple(s for s in sinks if hasattr(s, "on_button")))
        self.sinks = sinks

    def add(self, sink: object) -> None:
        self._set((*self.sinks, sink))

    def remove(self, sink: object) -> None:
        self._set(tuple(s for s in self.sinks if s is not sink))

    def on_data(self, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int, sample_index: int,
                counts: npt.NDArray[np.uint16], t0_us: int, host_s: float) -> None:
        frames, runs, _, _ = self._roles
        for sink in (*frames, *runs):  # one frame is a run of one
            try:
                sink.on_data(name, info, cmap, origin_raw, sample_index, counts, t0_us, host_s)
            except Exception:
                self._failed(name, sink, "a frame")

    def on_run(self, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int, run: Run) -> None:
        """A run of frames (the pipeline's call): in one call to each sink that takes
        runs, frame by frame to the others, each frame on its own as ``on_data``."""
        frames, runs, _, _ = self._roles
        for sink in runs:
            try:
                run.to(sink, name, info, cmap, origin_raw)
            except Exception:
                self._failed(name, sink, "a frame")
        for sink in frames:
            for index, counts, t0_us, host_s in run.frames():
                try:
                    sink.on_data(name, info, cmap, origin_raw, index, counts, t0_us, host_s)
                except Exception:
                    self._failed(name, sink, "a frame")

    def on_event(self, name: str, event: Event) -> None:
        for sink in self._roles[2]:
            try:
                sink.on_event(name, event)
            except Exception:
                self._failed(name, sink, "an event")

    def on_button(self, name: str, t_s: float, device_time_us: int, button: int, count: int) -> None:
        for sink in self._roles[3]:
            try:
                sink.on_button(name, t_s, device_time_us, button, count)
            except Exception:
                self._failed(name, sink, "a button press")

    def _failed(self, name: str, sink: object, what: str) -> None:
        """The first failure of each sink is logged with its traceback; later ones would flood the log."""
        if id(sink) not in self._reported:
            self._reported.add(id(sink))
            log.exception("%s: %s failed on %s (further failures are not logged)", name, type(sink).__name__, what)


def _finite_or_none(values: npt.NDArray[np.float64]) -> list[float | None]:
    """A JSON list in which an unknown value (NaN: no force sensor) is null."""
    if np.isfinite(values).all():
        return values.tolist()  # type: ignore[no-any-return]
    return [None if not np.isfinite(v) else v for v in values.tolist()]


class DevicePipeline:
    def __init__(self, name: str, transport: Transport, hub: Hub, params: DetectorParams | None = None,
                 calibrations: CalibrationBook | None = None, resume: Resume | None = None) -> None:
        self.name = name
        self.calibrations = calibrations
        self.transport = transport
        self.hub = hub
        self.params = params or DetectorParams()
        self.info = DeviceInfo(id=name, source=transport.spec, press_threshold_n=self.params.press_on_n)
        self._decoder = StreamDecoder()
        self._map: ChannelMap | None = None
        self._detector: Detector | None = None
        self._health: ChannelHealth | None = None
        self._health_pending = 0  # samples the health holds towards its next window
        self._next_index: int | None = None
        # Detector sample index -> samples lost before it, for exact event times.
        self._gaps = GapMap(1.0)
        self._times = StreamClock(1)
        self._path_s = np.zeros(PATH_WINDOW)
        self._path_n = 0
        #: The trace not yet sent: (band-passed EMG, force) pieces, and how many samples they hold.
        self._display: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
        self._display_n = 0
        self._display_t0: float | None = None
        self._host_seq = 0
        self._last_status = 0.0
        self._stopping = False
        # -- recording hook (twitchd.store); None when nothing records --
        self.sink: SampleSink | None = None
        self._origin_raw = 0
        self._last_data_host = 0.0
        # -- the board's button (MARK frames) --
        self._marks_waiting: list[Mark] = []
        self._last_mark_count: int | None = None
        self._sink_failed = False
        self._resume = resume
        if resume is not None:
            self.info.samples, self.info.lost_samples = resume.samples, resume.lost_samples

    # -- lifecycle ---------------------------------------------------------
    async def run(self) -> None:
        """Acquire until cancelled, reopening the link whenever it is lost."""
        attempt = 0
        while not self._stopping:
            try:
                await self.transport.open()
            except TransportError as exc:
                self.info.rssi = self.transport.rssi
                # Every attempt is announced, so the dashboard's "lost for N s" moves on.
                self._set_state("reconnecting" if self.info.samples else "lost", str(exc), announce=True)
                # A sensor we know may be back under another name (a replugged USB
                # adapter that came up as ttyUSB1): look for it by its identity.
                if self.info.device_id and await self.transport.relocate(self.info.device_id):
                    self.info.source = self.transport.spec
                    continue
                await asyncio.sleep(RECONNECT_BACKOFF_S[min(attempt, len(RECONNECT_BACKOFF_S) - 1)])
                attempt += 1
                continue
            attempt = 0
            self.info.rssi = self.transport.rssi
            self._decoder = StreamDecoder()
            self._set_state("connecting", "")
            try:
                await self._command(Opcode.HELLO)
                await self._command(Opcode.START)
                await self._acquire()
            except TransportError as exc:
                log.warning("%s: %s", self.name, exc)
                self._set_state("reconnecting" if self.transport.reconnectable else "lost", str(exc))
            finally:
                await self.transport.close()
            if not self.transport.reconnectable:
                break

    async def stop(self) -> None:
        self._stopping = True

    def set_params(self, params: DetectorParams) -> None:
        self.params = params
        self.info.press_threshold_n = params.press_on_n
        if self._detector is not None:
            self._detector.set_params(params)

    async def _command(self, opcode: Opcode, arg: bytes = b"") -> None:
        await self.transport.write(encode_frame(Command(self._host_seq, opcode, arg)))
        self._host_seq = (self._host_seq + 1) & 0xFFFF

    async def _acquire(self) -> None:
        last_bytes = time.monotonic()
        while not self._stopping:
            data = await self.transport.read()
            now = time.monotonic()
            if data:
                last_bytes = now
                self.feed(data, now)
                done = time.monotonic()
                self._path_s[self._path_n % PATH_WINDOW] = done - now
                self._path_n += 1
                if done - now < READ_INTERVAL_S:
                    # Let the link gather more before the next read.
                    await asyncio.sleep(READ_INTERVAL_S - (done - now))
            elif now - last_bytes > STALL_S and self.info.state != "stalled":
                self._set_state("stalled", f"no data for {now - last_bytes:.1f} s")
            if now - self._last_status >= STATUS_PERIOD_S:
                self._last_status = now
                self.hub.publish_display(self.status_message())

    def status_message(self) -> dict[str, Any]:
        fit = self._times.fit
        self.info.clock_drift_ppm = round(fit.drift_ppm, 1) if fit.ready else None
        if self._path_n:
            p50, p99, top = np.percentile(self._path_s[:min(self._path_n, PATH_WINDOW)], (50, 99, 100)) * 1e3
            self.info.data_path_ms = {"p50": round(float(p50), 3), "p99": round(float(p99), 3), "max": round(float(top), 3)}
        return {"kind": "status", "device": self.name, **self.info.to_json()}

    def _set_state(self, state: str, error: str, announce: bool = False) -> None:
        if state == "streaming":
            self.info.lost_since = None
        elif state in ("lost", "reconnecting", "stalled") and self.info.lost_since is None:
            self.info.lost_since = time.monotonic()
        if announce or state != self.info.state or error != self.info.last_error:
            self.info.state, self.info.last_error = state, error
            self.hub.publish_display(self.status_message())

    # -- the data path (synchronous: it never waits for anyone) -------------
    def feed(self, data: bytes, arrival: float | None = None) -> None:
        """One read's bytes, which all arrived at ``arrival`` (time.monotonic(); now if not given).

        The clock fit takes every frame of the read at the read's time: stamping
        each frame as it is decoded would add the decoding of the ones before it.
        DATA frames come from the decoder as blocks (one per read, unless another
        frame or a sequence gap came between), and every run of frames whose
        sample indices follow on goes to the calibration, the detector, the
        sinks and the screens in one call.
        """
        now = time.monotonic() if arrival is None else arrival
        for item in self._decoder.feed_blocks(data):
            if type(item) is DataBlock:
                self._on_block(item, now)
            elif isinstance(item, Hello):
                self._on_hello(item)
            elif isinstance(item, Status):
                self.info.device_overflows = item.overflows
            elif isinstance(item, Mark):
                self._on_mark(item)
            elif isinstance(item, SequenceGap):
                log.debug("%s: %d frame(s) missing", self.name, item.missed)
        self.info.bad_frames = self._decoder.stats.bad_frames

    def _calibration(self, device_id: str) -> Calibration | None:
        """This sensor's force calibration; a damaged one is reported and the nominal curve used."""
        if self.calibrations is None:
            return None
        try:
            return self.calibrations.get(device_id)
        except TwitchdError as exc:
            log.warning("%s: %s; using the nominal force curve", self.name, exc)
            return None

    def _on_mark(self, mark: Mark) -> None:
        """A press of the board's button: placed on stream time by its sample index."""
        self.info.marks += 1
        if self._last_mark_count is not None:
            skipped = (mark.count - self._last_mark_count - 1) & 0xFFFF
            if skipped < 0x8000:  # not a count that went back: the board rebooted (counts from 1 again)
                self.info.marks_missed += skipped
        self._last_mark_count = mark.count
        if self._next_index is None or self._detector is None:
            # No DATA yet since the HELLO: stream time has no origin. The first DATA places it.
            if len(self._marks_waiting) < MARKS_WAITING:
                self._marks_waiting.append(mark)
            return
        self._place_mark(mark)

    def _place_mark(self, mark: Mark) -> None:
        assert self._next_index is not None and self._detector is not None
        # Stream samples up to _next_index, as event times count them (the
        # detector's samples plus those lost), then the press's own sample,
        # before or after that by the nearest way round the 32-bit counter.
        at = round(self._gaps.origin_s * self.info.rate_hz) + self._detector.samples_seen + self._gaps.lost \
            + signed32(mark.sample_index - self._next_index)
        t_s = at / self.info.rate_hz
        hook = getattr(self.sink, "on_button", None) if self.sink is not None else None
        if hook is None:
            return
        try:
            hook(self.name, t_s, mark.device_time_us, mark.button, mark.count)
        except Exception:  # a consumer's bug must not stop acquisition
            if not self._sink_failed:
                self._sink_failed = True
                log.exception("%s: the sink failed on a button press (further failures are not logged)", self.name)

    def _on_hello(self, hello: Hello) -> None:
        cal = self._calibration(hello.device_id)
        try:
            channel_map = ChannelMap.from_hello(hello, cal.curve if cal else None)
        except ProtocolError as exc:
            self._set_state("lost", str(exc))
            return
        same = self._detector is not None and self.info.rate_hz == hello.rate_hz and self._map == channel_map
        if hello.seq == 0 or (self._detector is not None and not same):
            # A reset board, or a new stream: presses waiting for an origin have no place on it.
            self._marks_waiting = []
        if hello.seq == 0:
            self._last_mark_count = None  # the board numbers its presses from 1 again
        self._map = channel_map
        raw = hello.channels[channel_map.emg]
        self._health = ChannelHealth(hello.rate_hz, channel_map, (1 << raw.adc_bits) - 1,
                                     cal.saturation_n if cal else None)
        self._health_pending = 0
        self.info.saturation_n = round(self._health.sat_n, 1)
        self.info.force_calibration = cal.note if cal else (
            "nominal FSR 402 curve: uncalibrated, expect errors of tens of percent (run `twitchd calibrate`)")
        self.info.warnings = []
        self.info.board, self.info.firmware = hello.board, hello.firmware
        self.info.device_id, self.info.rate_hz = hello.device_id, hello.rate_hz
        self.info.channels = [c.name for c in hello.channels]
        if not same:
            # New device or new rate: detector time restarts with the stream.
            self._detector = Detector(hello.rate_hz, self.params, channel_map.emg_scale)
            self._next_index = None
            self._gaps = GapMap(hello.rate_hz)
            self._times = StreamClock(hello.rate_hz)
            self._display, self._display_n, self._display_t0 = [], 0, None
            resume, self._resume = self._resume, None
            if resume is not None and (resume.device_id, resume.rate_hz) == (hello.device_id, hello.rate_hz):
                # The same stream, taken up by a new process: its origin and where it
                # stood; the first DATA then tells exactly how much went by unread.
                self._origin_raw, self._next_index = resume.origin_raw, resume.next_index
                self._last_data_host = resume.last_data_host
                self._gaps = GapMap(hello.rate_hz, ((resume.next_index - resume.origin_raw) & MASK32) / hello.rate_hz)
        log.log(logging.DEBUG if same else logging.INFO, "%s: %s %s (%s) at %d Hz", self.name, hello.board, hello.firmware, hello.device_id, hello.rate_hz)

    def _on_block(self, block: DataBlock, now: float) -> None:
        """DATA frames, taken as the per-frame rules say: a frame that does not follow on
        from the last one taken is a gap, an old or repeated frame (dropped), or a
        rebooted board. Frames that follow on from each other go on as one run."""
        det, cmap = self._detector, self._map
        if det is None or cmap is None:
            return  # samples before the HELLO cannot be scaled; the HELLO was requested
        if self.info.state != "streaming":
            self._set_state("streaming", "")
        index, counts, t0 = block.sample_index.tolist(), block.counts.tolist(), block.t0_us.tolist()
        frames = len(index)
        k = row = 0  # frame k's samples start at ``row`` of the block
        while k < frames:
            first, n = index[k], counts[k]
            if self._next_index is not None and first != self._next_index:
                lost = (first - self._next_index) & MASK32
                if lost >= 0x80000000:
                    if (self._next_index - first) & MASK32 <= max(self.info.rate_hz, n):
                        k, row = k + 1, row + n
                        continue  # an old or repeated frame: never feed a sample twice
                    self._restarted(first, n, now)  # far behind: the board rebooted and counts from 0 again
                else:
                    self._record_gap(lost, det.samples_seen)
            end, following = k + 1, (first + n) & MASK32
            while end < frames and index[end] == following:
                following = (following + counts[end]) & MASK32
                end += 1
            sizes = counts[k:end] if end - k < frames else counts
            total = sum(sizes)
            samples = block.samples if total == block.samples.shape[0] else block.samples[row:row + total]
            self._on_run(samples, index, t0, k, sizes, now)
            k, row = end, row + total

    def _on_run(self, samples: npt.NDArray[np.uint16], index: list[int], t0: list[int], k: int, sizes: list[int],
                now: float) -> None:
        """Frames k, k+1, ... of a block (``sizes`` samples each, ``samples`` in all), each
        following on from the one before: one call each to the detector and the sinks.
        What is per frame stays per frame (the clock fit, and the frame boundaries
        where the health windows and the display traces close), so the outcome is
        the same as frame by frame."""
        det, cmap = self._detector, self._map
        assert det is not None and cmap is not None
        first = index[k]
        if self._next_index is None:
            self._origin_raw = first
        stamps: list[float] = []
        times, sink = self._times, self.sink
        for j, n in enumerate(sizes, k):
            times.observe(index[j], t0[j], n, now)
            if sink is not None:
                # The stamp of each frame's first sample, taken frame by frame as ever
                # (host_s keeps stamps increasing from call to call).
                stamps.append(times.host_s(index[j]))
        total = samples.shape[0]
        self._next_index = (index[k + len(sizes) - 1] + sizes[-1]) & MASK32
        self._last_data_host = now
        self.info.samples += total
        emg, force = cmap.emg_volts(samples), cmap.force_newtons(samples)
        self._update_health(samples, sizes)
        if sink is not None:
            if len(sizes) == 1:  # one frame (a live read, usually): the same call for every kind of sink
                sink.on_data(self.name, self.info, cmap, self._origin_raw, first, samples, t0[k], stamps[0])
            else:
                end = k + len(sizes)
                Run(index[k:end], sizes, t0[k:end], stamps, samples).to(sink, self.name, self.info, cmap,
                                                                         self._origin_raw)
        events, filtered = det.process(emg, force)
        if self._marks_waiting:  # presses since the HELLO, placed now that the stream has an origin
            waiting, self._marks_waiting = self._marks_waiting, []
            for mark in waiting:
                self._place_mark(mark)
        for event in events:
            if event.kind == PROVISIONAL:
                self._flag_onset(self._gaps.event(event))
            else:
                numbered = self.hub.publish_event(self._gaps.event(event), self.name)
                if self.sink is not None:
                    self.sink.on_event(self.name, numbered)
        self._add_display(filtered, force, first, sizes)

    def _update_health(self, samples: npt.NDArray[np.uint16], sizes: list[int]) -> None:
        """The run's samples to the channel health, cut where a window closed frame by frame."""
        health = self._health
        if health is None:
            return
        pending, cut, at = self._health_pending, 0, 0
        if pending + len(samples) < health.window:  # no window closes in this run
            health.update(samples)
            self._health_pending = pending + len(samples)
            return
        for n in sizes:
            at += n
            pending += n
            if pending >= health.window:  # ChannelHealth judges a window once it holds this many
                if health.update(samples[cut:at]):
                    self.info.warnings = health.to_json()
                    self.hub.publish_display(self.status_message())
                cut, pending = at, 0
        if cut < at:
            health.update(samples[cut:at])
        self._health_pending = pending

    def _restarted(self, first: int, n: int, now: float) -> None:
        """The board counts from 0 again (battery swap, reset): stream time goes on.

        How long it was away can only be told by the host's clock, so the gap is
        an estimate (marked ``reset``); the new counting is placed after it.
        """
        assert self._next_index is not None and self._detector is not None
        rate = self.info.rate_hz
        stream_end = (self._next_index - self._origin_raw) & MASK32
        away = max(0, round((now - self._last_data_host) * rate) - n)
        log.warning("%s: the sensor restarted its sample count; about %.1f s missing", self.name, away / rate)
        self._record_gap(away, self._detector.samples_seen, reset=True)
        self._origin_raw = (first - (stream_end + away)) & MASK32
        self._next_index = first

    def _flag_onset(self, event: Event) -> None:
        """A provisional flag, so the screen (and the ear) react while the burst is
        still going; the numbered, final event follows when it ends."""
        self.hub.publish_display({
            "kind": PROVISIONAL, "device": self.name, "onset_s": round(event.onset_s, 4),
            "decided_s": round(event.decided_s, 4), "force_n": round(event.force_n or 0.0, 3),
            "likely": "ltr" if event.extra.get("likely_ltr") else "twitch",
        })

    def _record_gap(self, lost: int, at: int, reset: bool = False) -> None:
        rate = self.info.rate_hz
        self.info.lost_samples += lost
        onset = self._gaps.add(at, lost)
        extra = {"samples": float(lost), **({"reset": 1.0} if reset else {})}
        gap = Event("gap", onset, onset + lost / rate, onset + lost / rate, extra=extra)
        self.hub.publish_event(gap, self.name)
        self._display, self._display_n, self._display_t0 = [], 0, None  # the trace restarts after the hole

    def _add_display(self, filtered: npt.NDArray[np.float64], force: npt.NDArray[np.float64], first: int,
                     sizes: list[int]) -> None:
        """A run's trace (its first sample is raw index ``first``; its frames hold ``sizes``
        samples), sent in the pieces frame-by-frame feeding would send: one once a
        frame brings DISPLAY_PERIOD_S or more."""
        rate = self.info.rate_hz
        if self._display_t0 is None:
            # Stream time counts from the first sample seen, like event times (a board
            # that was already running when the daemon started is not at index 0).
            after = (first + sizes[0]) & MASK32
            self._display_t0 = ((after - self._origin_raw) & MASK32) / rate - sizes[0] / rate
        period = DISPLAY_PERIOD_S * rate
        if self._display_n + len(filtered) < period:  # no trace goes out in this run
            self._display.append((filtered, force))
            self._display_n += len(filtered)
            return
        cut, at = 0, 0
        for n in sizes:
            at += n
            if self._display_n + (at - cut) >= period:
                self._display.append((filtered[cut:at], force[cut:at]))
                self._display_n += at - cut
                cut = at
                self._publish_trace()
        if cut < at:
            self._display.append((filtered[cut:at], force[cut:at]))
            self._display_n += at - cut

    def _publish_trace(self) -> None:
        rate = self.info.rate_hz
        assert self._display_t0 is not None
        emg, force = (np.concatenate(channel) for channel in zip(*self._display, strict=True))
        step = max(1, rate // DISPLAY_RATE_HZ)
        whole = len(emg) // step * step
        buckets = emg[:whole].reshape(-1, step)
        force_mean = force[:whole].reshape(-1, step).mean(axis=1)
        self.hub.publish_display({
            "kind": "trace", "device": self.name, "t0_s": round(self._display_t0, 4), "dt_s": step / rate,
            "emg_min_v": np.round(buckets.min(axis=1), 6).tolist(),
            "emg_max_v": np.round(buckets.max(axis=1), 6).tolist(),
            "force_n": _finite_or_none(np.round(force_mean, 3)),
        })
        self._display_t0 += whole / rate
        self._display = [(emg[whole:], force[whole:])] if whole < len(emg) else []
        self._display_n = len(emg) - whole
