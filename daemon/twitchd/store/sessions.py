"""Reading sessions back: summaries, samples in physical units, events, markers, gaps.

Samples are stored as the device's ADC counts with the ``ChannelMap`` that
scales them, so volts and newtons come out exactly as the live pipeline saw
them, and a better force calibration can be applied later.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd.errors import SessionNotFoundError, StoreError
from twitchd.marks import Site, SiteTimeline
from twitchd.signal.calibration import ChannelMap
from twitchd.store.paths import database_path
from twitchd.store.schema import connect_for_reading


@dataclass(frozen=True)
class DeviceRecord:
    """One device of a session and how to scale its counts."""

    name: str
    device_id: str
    firmware: str
    board: str
    rate_hz: int
    channels: list[str]
    cmap: ChannelMap
    calibration_note: str
    samples: int
    first_index: int
    end_index: int

    @property
    def duration_s(self) -> float:
        return (self.end_index - self.first_index) / self.rate_hz if self.rate_hz else 0.0


@dataclass(frozen=True)
class Gap:
    """Samples missing from a recording (lost on the link or while the device restarted)."""

    onset_s: float
    duration_s: float
    samples: int


class SessionStore:
    """Read access (and deletion) for the sessions in one data directory."""

    def __init__(self, data_dir: Path | None) -> None:
        self.path = database_path(data_dir)
        self._db: sqlite3.Connection | None = None
        if self.path.exists():
            self._db = connect_for_reading(data_dir)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise SessionNotFoundError(f"no sessions recorded yet (no database at {self.path})")
        return self._db

    # -- summaries -----------------------------------------------------------
    def all(self) -> list[dict[str, Any]]:
        if self._db is None:
            return []
        ids = [int(r[0]) for r in self.db.execute("SELECT id FROM sessions ORDER BY id")]
        return [self.summary(i) for i in ids]

    def summary(self, session_id: int) -> dict[str, Any]:
        """The JSON shape of ``sessions list/show`` and ``GET /api/sessions``."""
        row = self.db.execute(
            "SELECT id, started_at, ended_at, patient, muscle, side, technique, practitioner, notes, stop_reason,"
            " app_version FROM sessions WHERE id = ?", (session_id,)).fetchone()
        if row is None:
            raise SessionNotFoundError(f"no session {session_id}")
        keys = ("id", "started_at", "ended_at", "patient", "muscle", "side", "technique", "practitioner", "notes",
                "stop_reason", "app_version")
        out: dict[str, Any] = dict(zip(keys, row, strict=True))
        devices = self.devices(session_id)
        main = devices[0] if devices else None
        counts = dict(self.db.execute("SELECT kind, count(*) FROM events WHERE session_id = ? GROUP BY kind",
                                      (session_id,)).fetchall())
        out.update({
            "duration_s": round(main.duration_s, 3) if main else 0.0,
            "sample_rate": main.rate_hz if main else 0,
            "samples": main.samples if main else 0,
            "events": sum(n for k, n in counts.items() if k != "gap"),
            "ltrs": counts.get("ltr", 0),
            "markers": self.db.execute("SELECT count(*) FROM markers WHERE session_id = ?", (session_id,)).fetchone()[0],
            "lost_samples": sum(g.samples for g in self.gaps(session_id, main.name)) if main else 0,
            "complete": row[2] is not None,
            "devices": [{"name": d.name, "device_id": d.device_id, "firmware": d.firmware, "board": d.board,
                         "rate_hz": d.rate_hz, "channels": d.channels, "samples": d.samples,
                         "duration_s": round(d.duration_s, 3), "calibration": d.calibration_note}
                        for d in devices],
        })
        return out

    def devices(self, session_id: int) -> list[DeviceRecord]:
        spans = {r[0]: r[1:] for r in self.db.execute(
            "SELECT device, sum(n), min(first_index), max(first_index + n) FROM chunks WHERE session_id = ?"
            " GROUP BY device", (session_id,))}
        out = []
        for name, device_id, firmware, board, rate, channels, cal, note in self.db.execute(
                "SELECT name, device_id, firmware, board, rate_hz, channels, calibration, calibration_note"
                " FROM devices WHERE session_id = ? ORDER BY name", (session_id,)):
            n, first, end = spans.get(name, (0, 0, 0))
            out.append(DeviceRecord(name, device_id, firmware, board, int(rate), json.loads(channels),
                                    ChannelMap.from_json(json.loads(cal)), note, int(n or 0), int(first or 0), int(end or 0)))
        return out

    def device(self, session_id: int, name: str | None = None) -> DeviceRecord:
        """The named device of a session, or its first one."""
        self.summary_exists(session_id)
        devices = self.devices(session_id)
        for d in devices:
            if name is None or d.name == name:
                return d
        have = ", ".join(d.name for d in devices) or "none"
        raise SessionNotFoundError(f"session {session_id} has no device {name or ''} (devices: {have})".replace("  ", " "))

    def summary_exists(self, session_id: int) -> None:
        if self.db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFoundError(f"no session {session_id}")

    # -- contents ------------------------------------------------------------
    def chunks(self, session_id: int, device: str) -> Iterator[tuple[int, npt.NDArray[np.uint16]]]:
        """``(first_index, counts[n, channels])`` in index order."""
        for first, _, counts in self.timed_chunks(session_id, device):
            yield first, counts

    def timed_chunks(self, session_id: int, device: str) -> Iterator[tuple[int, float, npt.NDArray[np.uint16]]]:
        """``(first_index, unix time of the first sample, counts)``; the time is the device clock's, mapped."""
        cur = self.db.execute("SELECT first_index, host_time, n, channels, counts FROM chunks"
                              " WHERE session_id = ? AND device = ? ORDER BY first_index", (session_id, device))
        for first, host_time, n, channels, blob in cur:
            yield int(first), float(host_time), np.frombuffer(blob, dtype="<u2").reshape(int(n), int(channels))

    def gaps(self, session_id: int, device: str) -> list[Gap]:
        dev_rate = self.db.execute("SELECT rate_hz FROM devices WHERE session_id = ? AND name = ?",
                                   (session_id, device)).fetchone()
        rate = int(dev_rate[0]) if dev_rate else 1
        out, end = [], None
        for first, n in self.db.execute("SELECT first_index, n FROM chunks WHERE session_id = ? AND device = ?"
                                        " ORDER BY first_index", (session_id, device)):
            if end is not None and first > end:
                out.append(Gap(end / rate, (first - end) / rate, int(first - end)))
            end = first + n if end is None else max(end, first + n)
        return out

    def events(self, session_id: int, device: str | None = None) -> list[dict[str, Any]]:
        """Detector events (without the pipeline's own gap events: ``gaps`` is the store's truth).

        Each carries its row ``id`` (what a correction names) and the site that
        was current at its onset.
        """
        self.summary_exists(session_id)
        cur = self.db.execute(
            "SELECT kind, onset_s, end_s, decided_s, peak_emg_v, force_n, confidence, device, extra, id FROM events"
            " WHERE session_id = ? AND kind != 'gap' AND (? IS NULL OR device = ?) ORDER BY onset_s, id",
            (session_id, device, device))
        keys = ("kind", "onset_s", "end_s", "decided_s", "peak_emg_v", "force_n", "confidence", "device")
        sites = self.site_timeline(session_id)
        return [{"id": int(r[9]), **dict(zip(keys, r[:8], strict=True)), **json.loads(r[8]),
                 "site": sites.at(float(r[1])).to_json()} for r in cur]

    def markers(self, session_id: int) -> list[dict[str, Any]]:
        """The session's marks in time order; ``id`` numbers them within the session, in the order made."""
        self.summary_exists(session_id)
        rows = self.db.execute(
            "SELECT t_s, label, kind, source, device, device_time_us, site, host_time FROM markers"
            " WHERE session_id = ? ORDER BY id", (session_id,)).fetchall()
        out = [{"id": k + 1, "t_s": t, "kind": kind, "text": label, "label": label, "source": source,
                "device": device, "device_time_us": us, "site": json.loads(site) if site else None,
                "unix_time": host_time}
               for k, (t, label, kind, source, device, us, site, host_time) in enumerate(rows)]
        return sorted(out, key=lambda m: (m["t_s"], m["id"]))

    def sites(self, session_id: int) -> list[dict[str, Any]]:
        """Site changes in time order (a row with an empty muscle clears the site)."""
        self.summary_exists(session_id)
        return [{"t_s": t, "muscle": m, "side": side, "point": p} for t, m, side, p in self.db.execute(
            "SELECT t_s, muscle, side, point FROM sites WHERE session_id = ? ORDER BY t_s, id", (session_id,))]

    def site_timeline(self, session_id: int) -> SiteTimeline:
        rows = self.sites(session_id)
        return SiteTimeline([r["t_s"] for r in rows], [Site(r["muscle"], r["side"], r["point"]) for r in rows])

    def detector_params(self, session_id: int) -> list[tuple[float, dict[str, float]]]:
        """The detector settings the session ran with: ``(t_s, settings)`` from the start, then each change
        (empty for a session recorded before twitchd kept them)."""
        self.summary_exists(session_id)
        row = self.db.execute("SELECT detector_params FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return [(float(t), dict(p)) for t, p in json.loads(row[0] or "[]")]

    def corrections(self, session_id: int) -> list[dict[str, Any]]:
        """Review corrections in the order they were made (twitchd.store.review)."""
        self.summary_exists(session_id)
        keys = ("id", "action", "event_id", "added_id", "kind", "onset_s", "end_s", "author", "created_at",
                "replaces", "note")
        return [dict(zip(keys, r, strict=True)) for r in self.db.execute(
            f"SELECT {', '.join(keys)} FROM corrections WHERE session_id = ? ORDER BY id", (session_id,))]

    def delete(self, session_id: int) -> None:
        """Delete a session so that its data is really gone, not just unlinked.

        A patient may withdraw consent: SQLite would otherwise leave the rows in
        free pages and old WAL frames. ``secure_delete`` zeroes what the delete
        frees, and a checkpoint folds the WAL back (best effort: a recording in
        progress can hold it open, and the next checkpoint finishes the job).
        """
        self.summary_exists(session_id)
        try:
            self.db.execute("PRAGMA secure_delete=ON")
            self.db.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot delete session {session_id}: {exc}") from exc


def physical(cmap: ChannelMap, counts: npt.NDArray[np.uint16]) -> dict[str, npt.NDArray[np.float64]]:
    """Counts to ``emg_v``, ``force_n`` and (if the device has it) ``env_v``, as the pipeline computes them."""
    out = {"emg_v": cmap.emg_volts(counts)}
    if cmap.force is not None:
        out["force_n"] = cmap.force_newtons(counts)
    if cmap.env is not None:
        out["env_v"] = cmap.env_volts(counts)
    return out
