"""Recording a live session: the pipeline hands frames over, a thread writes them.

The pipeline calls ``on_data``/``on_event`` from the event loop; they only put
a tuple on a bounded queue and never wait. The writer thread groups frames
into chunks and commits every ``COMMIT_S`` (so ``kill -9`` loses at most about
two commit periods). A full queue (the disk cannot keep up) or a failed write
(full disk, read-only directory) stops the *recording* with a clear message;
acquisition and the live view go on, and everything committed stays.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from twitchd import __version__
from twitchd.clock import MASK32
from twitchd.errors import StoreError
from twitchd.events import Event
from twitchd.marks import NO_SITE, Mark, Site, check_mark
from twitchd.signal.calibration import ChannelMap
from twitchd.store.paths import database_path
from twitchd.store.schema import connect

if TYPE_CHECKING:
    from twitchd.pipeline import DeviceInfo

log = logging.getLogger(__name__)

#: Commit period: a killed daemon loses at most about twice this.
COMMIT_S = 0.1
#: Frames the writer may fall behind by: 60 000 frames is 30 s of 16 devices
#: at 2 kHz in 20-sample frames, far more than a healthy disk ever needs.
QUEUE_FRAMES = 60_000
#: A chunk holds at most this many samples (about 2 s at 2 kHz), even when a writer that fell
#: behind catches up with many seconds at once: reading a window back (a trace, a PPT, a report)
#: decodes only the chunks it overlaps, so their size bounds what a read costs.
CHUNK_MAX_SAMPLES = 4096


@dataclass(frozen=True)
class SessionMeta:
    """What the practitioner says about a session (validated by the API / CLI)."""

    patient: str = ""
    muscle: str = ""
    side: str = ""
    technique: str = ""
    practitioner: str = ""
    notes: str = ""


@dataclass
class _Device:
    """Where a device's sample indices sit on the session's time axis."""

    cmap: ChannelMap
    rate_hz: int
    origin_raw: int   # the stream origin the pipeline reports (its time 0)
    base: int         # session index of origin_raw
    next_index: int   # session index after the last frame
    next_host: float  # host time (monotonic) the next sample is due, by the device clock
    stored_as: str    # the device's name in the session; a new one for each new sample rate


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _describe(exc: BaseException, path: Path) -> str:
    text = str(exc)
    if "full" in text.lower():
        return f"recording stopped: the disk holding {path.parent} is full ({text})"
    if "readonly" in text.lower() or "read-only" in text.lower() or "permission" in text.lower():
        return f"recording stopped: {path.parent} cannot be written ({text})"
    return f"recording stopped: cannot write {path} ({text})"


class Recorder:
    """One recording at a time, into the database in ``data_dir``."""

    #: Frames of one read come as one run (twitchd.pipeline.SampleSink): a block of samples is
    #: placed by its first index like a frame, and chunks are cut at gaps, not at frames.
    takes_runs = True

    def __init__(self, data_dir: Path | None, queue_frames: int = QUEUE_FRAMES, commit_s: float = COMMIT_S) -> None:
        self.data_dir = data_dir
        self.path = database_path(data_dir)
        self.commit_s = commit_s
        self._queue_frames = queue_frames
        self._queue: queue.Queue[tuple[Any, ...]] = queue.Queue(queue_frames)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._active = False
        self._devices: dict[str, _Device] = {}
        self.state = "idle"
        self.session_id: int | None = None
        self.error = ""
        self._started_mono = 0.0
        self._unix_offset = 0.0
        self._ended_mono: float | None = None
        self.samples_written = 0
        self._uncommitted = 0
        self.lag_s = 0.0
        self.max_lag_s = 0.0
        # The site the practitioner is working on; it outlives recordings, so a
        # new session starts on the site already chosen.
        self.site: Site = NO_SITE
        self.marks = 0
        #: The detector's settings, kept by the daemon; each session stores them and every change.
        self.detector_params: dict[str, float] = {}

    # -- control (from a worker thread or the CLI; these may wait) ---------
    def start(self, meta: SessionMeta) -> int:
        """Open the database, create the session row, start the writer thread."""
        with self._lock:
            if self._active:
                raise StoreError(f"already recording session {self.session_id}")
            try:
                db = connect(self.data_dir)
                cur = db.execute(
                    "INSERT INTO sessions (started_at, patient, muscle, side, technique, practitioner, notes, app_version,"
                    " detector_params) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (_now_iso(), meta.patient, meta.muscle, meta.side, meta.technique, meta.practitioner,
                     meta.notes, __version__, json.dumps([[0.0, self.detector_params]])))
            except StoreError as exc:
                self.state, self.error = "failed", f"cannot record: {exc}"
                raise StoreError(self.error) from exc
            except (sqlite3.Error, OSError) as exc:
                self.state, self.error = "failed", _describe(exc, self.path).replace("recording stopped", "cannot record")
                db.close()
                raise StoreError(self.error) from exc
            self.session_id = int(cur.lastrowid or 0)
            self._queue = queue.Queue(self._queue_frames)
            self._devices = {}
            self._stop.clear()
            self.state, self.error = "recording", ""
            self.samples_written, self._uncommitted, self.lag_s, self.max_lag_s = 0, 0, 0.0, 0.0
            self.marks = 0
            if meta.muscle and meta.muscle != self.site.muscle:  # the form names another muscle: that is the site
                self.site = Site.make(meta.muscle, meta.side)
            if not self.site.empty:
                self._queue.put_nowait(("site", 0.0, self.site))
            self._started_mono, self._ended_mono = time.monotonic(), None
            # Chunks are stamped in Unix time, but the stamps come from the device
            # clock mapped onto the monotonic clock: one offset, fixed for the
            # session, so an NTP step mid-session cannot bend the recording.
            self._unix_offset = time.time() - self._started_mono
            self._thread = threading.Thread(target=self._run, args=(db, self.session_id), name="twitchd-recorder",
                                            daemon=True)
            self._active = True
            self._thread.start()
            log.info("recording session %d into %s", self.session_id, self.path)
            return self.session_id

    def stop(self, timeout: float = 30.0) -> dict[str, Any]:
        """Stop taking frames, let the writer write what is queued, and wait for it."""
        with self._lock:
            self._active = False
            self._stop.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.status()

    def marker(self, label: str) -> float:
        """A labelled moment (a note mark, as before marks had kinds); returns its session time."""
        t_s = self.mark("note", label, "api").t_s
        assert t_s is not None
        return t_s

    def mark(self, kind: str, text: str, source: str) -> Mark:
        """A mark now, on the session's time axis (StoreError when not recording, ConfigError if malformed).

        "Now" is the moment the sample being taken now will have: the newest
        sample's time plus how long ago, by the board's clock, it was taken.
        Without that, a mark would land as late as the link is slow.
        """
        text = check_mark(kind, text, source)
        if not self._active:
            raise StoreError("not recording: start a recording before adding marks")
        return self._add_mark(kind, text, source, self._session_time_now(), None, None)

    def board_mark(self, name: str, t_s: float, device_time_us: int) -> Mark:
        """A press of the board's button, at ``t_s`` on device ``name``'s stream time (from the data path; never waits).

        Outside a recording the mark is still returned (for the live view and
        LSL), with no session time.
        """
        dev = self._devices.get(name) if self._active else None
        if dev is None:
            return Mark("felt_ltr", "", "board", None, None, 0, self.site, name, device_time_us, {name: t_s})
        return self._add_mark("felt_ltr", "", "board", t_s + dev.base / dev.rate_hz, name, device_time_us)

    def _add_mark(self, kind: str, text: str, source: str, t_s: float, device: str | None,
                  device_time_us: int | None) -> Mark:
        self.marks += 1
        at = {name: t_s - d.base / d.rate_hz for name, d in self._devices.items()}
        mark = Mark(kind, text, source, t_s, self.session_id, self.marks, self.site, device, device_time_us, at)
        site = self.site.to_json()
        self._put(("marker", t_s, time.time(), text, kind, source, device, device_time_us,
                   None if site is None else json.dumps(site)))
        return mark

    def set_detector_params(self, params: dict[str, float]) -> None:
        """New detector settings: the session in progress notes when they changed."""
        self.detector_params = dict(params)
        if self._active:
            self._put(("params", self._session_time_now(), self.detector_params))

    def ppt_trial(self, series: int, source: str, t_s: float | None = None, device: str | None = None,
                  device_time_us: int | None = None, calibration: str = "") -> float:
        """The patient's pain press of a PPT trial, now or at ``t_s``; its session time (StoreError if not recording)."""
        if not self._active:
            raise StoreError("not recording: start a recording before measuring a pressure pain threshold")
        t = self._session_time_now() if t_s is None else t_s
        site = self.site.to_json()
        self._put(("ppt", series, t, source, device, device_time_us, None if site is None else json.dumps(site),
                   calibration))
        return t

    def session_time(self, name: str, t_stream: float) -> float | None:
        """Device ``name``'s stream time on the session's axis (None when it is not being recorded)."""
        dev = self._devices.get(name) if self._active else None
        return None if dev is None else t_stream + dev.base / dev.rate_hz

    def set_site(self, site: Site) -> float | None:
        """The site from now on; its session time while recording, else None (it is kept for the next session)."""
        self.site = site
        if not self._active:
            return None
        t_s = self._session_time_now()
        self._put(("site", t_s, site))
        return t_s

    def set_notes(self, notes: str) -> None:
        """Replace the session's notes while recording (the practitioner writes as they go)."""
        if not self._active:
            raise StoreError("not recording: start a recording before adding notes")
        self._put(("notes", notes))

    def status(self) -> dict[str, Any]:
        end = self._ended_mono if self._ended_mono is not None else time.monotonic()
        return {
            "state": self.state, "session_id": self.session_id, "error": self.error,
            "elapsed_s": round(end - self._started_mono, 2) if self.session_id is not None else 0.0,
            "samples": self.samples_written, "queued": self._queue.qsize(),
            "lag_s": round(self.lag_s, 4), "max_lag_s": round(self.max_lag_s, 4),
            "database": str(self.path), "site": self.site.to_json(), "marks": self.marks,
        }

    @property
    def recording(self) -> bool:
        return self._active

    # -- the hook the pipelines call (never waits) --------------------------
    def on_data(self, name: str, info: DeviceInfo, cmap: ChannelMap, origin_raw: int, sample_index: int,
                counts: npt.NDArray[np.uint16], t0_us: int, host_s: float) -> None:
        if not self._active:
            return
        dev = self._devices.get(name)
        if dev is None or dev.cmap != cmap or dev.origin_raw != origin_raw or dev.rate_hz != info.rate_hz:
            # First frame of this device, or its stream restarted (new origin, rate
            # or scaling): place it on the session's axis (after a restart, after
            # the pause the host clock saw). Compared by value: a reconnect that brings the
            # same HELLO is the same stream, and its gap is counted exactly.
            stored_as = name
            if dev is None:
                start = 0
            else:
                start = dev.next_index + max(0, round((host_s - dev.next_host) * dev.rate_hz))
                stored_as = dev.stored_as
                if info.rate_hz != dev.rate_hz:
                    # One stored device holds one rate: a device switched to a new rate
                    # mid-session continues as "NAME@RATE", on the same session clock.
                    stored_as = f"{name}@{info.rate_hz}"
                    start = round(dev.next_index / dev.rate_hz * info.rate_hz) + max(
                        0, round((host_s - dev.next_host) * info.rate_hz))
            base = start - ((sample_index - origin_raw) & MASK32)
            dev = _Device(cmap, info.rate_hz, origin_raw, base, start, host_s, stored_as)
            self._devices[name] = dev
            self._put(("device", stored_as, info.device_id, info.firmware, info.board, info.rate_hz,
                       json.dumps(info.channels), json.dumps(cmap.to_json()), info.force_calibration))
        index = dev.base + ((sample_index - origin_raw) & MASK32)
        dev.next_index, dev.next_host = index + counts.shape[0], host_s + counts.shape[0] / dev.rate_hz
        self._put(("data", dev.stored_as, index, counts, host_s + self._unix_offset, t0_us, time.monotonic()))

    def on_event(self, name: str, event: Event) -> None:
        """``event`` in the pipeline's stream time, whose origin is the device's ``origin_raw``."""
        dev = self._devices.get(name) if self._active else None
        if dev is None:
            return
        shift = dev.base / dev.rate_hz
        self._put(("event", dev.stored_as, event.kind, event.onset_s + shift, event.end_s + shift, event.decided_s + shift,
                   event.peak_emg_v, event.force_n, event.confidence, json.dumps(event.extra)))

    def _session_time_now(self) -> float:
        now = time.monotonic()
        for dev in self._devices.values():
            return (dev.next_index + max(0.0, now - dev.next_host) * dev.rate_hz) / dev.rate_hz
        return now - self._started_mono

    def _put(self, item: tuple[Any, ...]) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self._fail(f"recording stopped: the disk could not keep up (writer {self.lag_s:.1f} s behind, "
                       f"{self._queue.qsize()} frames queued); acquisition goes on")

    def _fail(self, message: str) -> None:
        if self.state == "failed":
            return
        self._active = False
        self.state, self.error = "failed", message
        self._stop.set()
        log.error("%s", message)

    # -- the writer thread ----------------------------------------------------
    def _run(self, db: sqlite3.Connection, session_id: int) -> None:
        pending: dict[str, list[tuple[int, npt.NDArray[np.uint16], float, int]]] = {}
        reason = "stopped"
        try:
            db.execute("BEGIN")
            last_commit = time.monotonic()
            while True:
                wait = max(0.0, last_commit + self.commit_s - time.monotonic())
                try:
                    item = self._queue.get(timeout=wait)
                except queue.Empty:
                    item = None
                if item is not None:
                    self._handle(db, session_id, item, pending)
                elif self._stop.is_set():
                    break
                if time.monotonic() - last_commit >= self.commit_s:
                    self._commit(db, session_id, pending)
                    db.execute("BEGIN")
                    last_commit = time.monotonic()
            if self.state == "failed":
                reason = self.error
            db.execute("UPDATE sessions SET ended_at = ?, stop_reason = ? WHERE id = ?", (_now_iso(), reason, session_id))
            self._commit(db, session_id, pending)
            if self.state == "recording":
                self.state = "idle"
        except (sqlite3.Error, OSError) as exc:
            self._fail(_describe(exc, self.path))
            try:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                db.execute("UPDATE sessions SET ended_at = ?, stop_reason = ? WHERE id = ?",
                           (_now_iso(), self.error, session_id))
            except (sqlite3.Error, OSError):
                pass  # the disk is full: the session simply has no end time
        finally:
            self._active = False
            self._ended_mono = time.monotonic()
            db.close()

    def _commit(self, db: sqlite3.Connection, session_id: int,
                pending: dict[str, list[tuple[int, npt.NDArray[np.uint16], float, int]]]) -> None:
        """Write what is pending and commit; ``samples_written`` counts only committed samples."""
        self._uncommitted += self._flush(db, session_id, pending)
        db.execute("COMMIT")
        self.samples_written += self._uncommitted
        self._uncommitted = 0

    def _handle(self, db: sqlite3.Connection, session_id: int, item: tuple[Any, ...],
                pending: dict[str, list[tuple[int, npt.NDArray[np.uint16], float, int]]]) -> None:
        kind = item[0]
        if kind == "data":
            _, name, index, counts, host, t0_us, enqueued = item
            pending.setdefault(name, []).append((index, counts, host, t0_us))
            self.lag_s = time.monotonic() - enqueued
            self.max_lag_s = max(self.max_lag_s, self.lag_s)
        elif kind == "device":
            self._uncommitted += self._flush(db, session_id, pending)
            db.execute("INSERT OR REPLACE INTO devices (session_id, name, device_id, firmware, board, rate_hz, channels,"
                       " calibration, calibration_note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (session_id, *item[1:]))
        elif kind == "event":
            db.execute("INSERT INTO events (session_id, device, kind, onset_s, end_s, decided_s, peak_emg_v, force_n,"
                       " confidence, extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (session_id, *item[1:]))
        elif kind == "notes":
            db.execute("UPDATE sessions SET notes = ? WHERE id = ?", (item[1], session_id))
        elif kind == "marker":
            db.execute("INSERT INTO markers (session_id, t_s, host_time, label, kind, source, device, device_time_us,"
                       " site) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", (session_id, *item[1:]))
        elif kind == "ppt":
            db.execute("INSERT INTO ppt_trials (session_id, series, t_s, source, device, device_time_us, site, calibration)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (session_id, *item[1:]))
        elif kind == "params":
            row = db.execute("SELECT detector_params FROM sessions WHERE id = ?", (session_id,)).fetchone()
            history = json.loads(row[0]) if row and row[0] else []
            history.append([item[1], item[2]])
            db.execute("UPDATE sessions SET detector_params = ? WHERE id = ?", (json.dumps(history), session_id))
        elif kind == "site":
            site = item[2]
            db.execute("INSERT INTO sites (session_id, t_s, muscle, side, point) VALUES (?, ?, ?, ?, ?)",
                       (session_id, item[1], site.muscle, site.side, site.point))

    def _flush(self, db: sqlite3.Connection, session_id: int,
               pending: dict[str, list[tuple[int, npt.NDArray[np.uint16], float, int]]]) -> int:
        """Contiguous frames become one chunk; a hole in the indices starts another. Returns samples."""
        rows = []
        for name, frames in pending.items():
            start = 0
            size = 0
            for k in range(1, len(frames) + 1):
                size += frames[k - 1][1].shape[0]
                if k == len(frames) or frames[k][0] != frames[k - 1][0] + frames[k - 1][1].shape[0] \
                        or size >= CHUNK_MAX_SAMPLES:
                    block = np.ascontiguousarray(np.concatenate([f[1] for f in frames[start:k]]), dtype="<u2")
                    first = frames[start]
                    rows.append((session_id, name, first[0], block.shape[0], block.shape[1], first[2], first[3],
                                 block.tobytes()))
                    start, size = k, 0
        if rows:
            db.executemany("INSERT INTO chunks (session_id, device, first_index, n, channels, host_time, device_t0_us,"
                           " counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        pending.clear()
        return sum(int(r[3]) for r in rows)
