"""Review: the practitioner's corrections of the detector, and the labels they leave.

The detector's events are never changed. A correction is a row of its own:
who made it, when, what it did (accept, reject, relabel, or add an event the
detector missed), and which earlier correction of the same event it replaced.
The *reviewed labels* are what remains when the newest correction of each
event is applied: the practitioner's answer, against which the detector is
scored (twitchd.evaluate), and labelled data for the next detector.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twitchd.errors import ConfigError, EventNotFoundError, ReviewError, SessionNotFoundError, StoreError
from twitchd.events import KINDS
from twitchd.marks import SiteTimeline, check_mark, clean_text
from twitchd.store.schema import connect

ACTIONS = ("accept", "reject", "relabel", "add")
#: Kinds a practitioner can give an event (a gap is the store's fact, not a label).
LABEL_KINDS = tuple(k for k in KINDS if k != "gap")
#: An added event without an end lasts this long: the short end of the 50-500 ms
#: LTR trains of shared/research/signal-facts.md (the sources give no firmer
#: figure); the practitioner can give the end instead.
ADDED_LENGTH_S = 0.1


@dataclass(frozen=True)
class CorrectionIn:
    """A correction as a client asks for it; ``add_correction`` checks it against the session."""

    action: str
    author: str
    event_id: int | None = None
    added_id: int | None = None
    kind: str | None = None
    onset_s: float | None = None
    end_s: float | None = None
    note: str = ""


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _check(c: CorrectionIn) -> CorrectionIn:
    """The correction's own consistency (ReviewError), before the database is asked."""
    try:
        author = clean_text(c.author, "the author", 120)
        note = clean_text(c.note, "the note", 400)
    except ConfigError as exc:
        raise ReviewError(str(exc)) from exc
    if not author:
        raise ReviewError("a correction needs its author (who reviewed)")
    if c.action not in ACTIONS:
        raise ReviewError(f"a correction's action is one of {', '.join(ACTIONS)}, not {c.action!r}")
    if c.kind is not None and c.kind not in LABEL_KINDS:
        raise ReviewError(f"an event's kind is one of {', '.join(LABEL_KINDS)}, not {c.kind!r}")
    targets = (c.event_id is not None) + (c.added_id is not None)
    if c.action == "add":
        if targets:
            raise ReviewError("'add' makes a new event: give onset_s (and end_s), not event_id or added_id")
        if c.onset_s is None or not math.isfinite(c.onset_s) or c.onset_s < 0:
            raise ReviewError("'add' needs onset_s, the event's onset in session seconds (0 or more)")
        end = c.onset_s + ADDED_LENGTH_S if c.end_s is None else c.end_s
        if not math.isfinite(end) or end < c.onset_s:
            raise ReviewError("end_s must not come before onset_s")
        return CorrectionIn("add", author, None, None, c.kind or "ltr", float(c.onset_s), float(end), note)
    if targets != 1:
        raise ReviewError(f"'{c.action}' judges one event: give event_id (a detector event) or added_id "
                          "(an event added in review), not both")
    if c.onset_s is not None or c.end_s is not None:
        raise ReviewError("only 'add' takes onset_s and end_s")
    if c.action == "relabel" and c.kind is None:
        raise ReviewError("'relabel' needs the new kind")
    if c.action != "relabel" and c.kind is not None:
        raise ReviewError(f"'{c.action}' takes no kind (use 'relabel' to change it)")
    return CorrectionIn(c.action, author, c.event_id, c.added_id, c.kind, None, None, note)


@contextlib.contextmanager
def _session_write(data_dir: Path | None, session_id: int) -> Iterator[sqlite3.Connection]:
    """One write transaction on an existing session: SessionNotFoundError if there is none, and
    nothing written when the body raises (the API refuses a request and leaves the store as it was)."""
    try:
        db = connect(data_dir, create=False)
    except StoreError as exc:
        raise SessionNotFoundError(f"no session {session_id}: {exc}") from exc
    try:
        db.execute("BEGIN IMMEDIATE")
        if db.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise SessionNotFoundError(f"no session {session_id}")
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def add_correction(data_dir: Path | None, session_id: int, correction: CorrectionIn) -> dict[str, Any]:
    """Store one correction; the stored row. SessionNotFoundError, EventNotFoundError or ReviewError first."""
    c = _check(correction)
    with _session_write(data_dir, session_id) as db:
        replaces = None
        if c.event_id is not None:
            if db.execute("SELECT 1 FROM events WHERE id = ? AND session_id = ? AND kind != 'gap'",
                          (c.event_id, session_id)).fetchone() is None:
                raise EventNotFoundError(f"session {session_id} has no event {c.event_id}")
            replaces = _latest(db, session_id, "event_id", c.event_id)
        elif c.added_id is not None:
            if db.execute("SELECT 1 FROM corrections WHERE id = ? AND session_id = ? AND action = 'add'",
                          (c.added_id, session_id)).fetchone() is None:
                raise EventNotFoundError(f"session {session_id} has no added event {c.added_id}")
            replaces = _latest(db, session_id, "added_id", c.added_id)
        else:
            duration = _duration(db, session_id)
            if c.onset_s is not None and c.onset_s > duration:
                raise ReviewError(f"onset_s {c.onset_s:g} is after the session's end ({duration:.3f} s)")
        created = _now_iso()
        cur = db.execute(
            "INSERT INTO corrections (session_id, action, event_id, added_id, kind, onset_s, end_s, author, created_at,"
            " replaces, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, c.action, c.event_id, c.added_id, c.kind, c.onset_s, c.end_s, c.author, created, replaces,
             c.note))
    return {"id": int(cur.lastrowid or 0), "action": c.action, "event_id": c.event_id, "added_id": c.added_id,
            "kind": c.kind, "onset_s": c.onset_s, "end_s": c.end_s, "author": c.author, "created_at": created,
            "replaces": replaces, "note": c.note}


def add_mark(data_dir: Path | None, session_id: int, t_s: float, kind: str, text: str) -> dict[str, Any]:
    """A mark added afterwards (from a paper note, say), with ``source`` "review" and the site of its time."""
    try:
        text = check_mark(kind, text, "review")
    except ConfigError as exc:
        raise ReviewError(str(exc)) from exc
    if not math.isfinite(t_s) or t_s < 0:
        raise ReviewError("t_s is the mark's time in session seconds, 0 or more")
    with _session_write(data_dir, session_id) as db:
        duration = _duration(db, session_id)
        if t_s > duration:
            raise ReviewError(f"t_s {t_s:g} is after the session's end ({duration:.3f} s)")
        site = db.execute("SELECT muscle, side, point FROM sites WHERE session_id = ? AND t_s <= ?"
                          " ORDER BY t_s DESC, id DESC LIMIT 1", (session_id, t_s)).fetchone()
        at = {"muscle": site[0], "side": site[1], "point": site[2]} if site and site[0] else None
        db.execute("INSERT INTO markers (session_id, t_s, host_time, label, kind, source, site)"
                   " VALUES (?, ?, ?, ?, ?, 'review', ?)",
                   (session_id, t_s, time.time(), text, kind, None if at is None else json.dumps(at)))
        number = db.execute("SELECT count(*) FROM markers WHERE session_id = ?", (session_id,)).fetchone()[0]
    return {"id": int(number), "session_id": session_id, "t_s": t_s, "kind": kind, "text": text, "source": "review",
            "site": at}


def _latest(db: sqlite3.Connection, session_id: int, column: str, target: int) -> int | None:
    row = db.execute(f"SELECT max(id) FROM corrections WHERE session_id = ? AND {column} = ?",
                     (session_id, target)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def _duration(db: sqlite3.Connection, session_id: int) -> float:
    row = db.execute("SELECT d.rate_hz, max(c.first_index + c.n) FROM devices d JOIN chunks c"
                     " ON c.session_id = d.session_id AND c.device = d.name WHERE d.session_id = ?"
                     " GROUP BY d.name ORDER BY d.name LIMIT 1", (session_id,)).fetchone()
    return float(row[1]) / float(row[0]) if row and row[0] else 0.0


def latest_by_event(corrections: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The newest correction of each detector event."""
    out: dict[int, dict[str, Any]] = {}
    for c in corrections:
        if c["event_id"] is not None:
            out[int(c["event_id"])] = c
    return out


def reviewed_labels(events: list[dict[str, Any]], corrections: list[dict[str, Any]],
                    sites: SiteTimeline) -> list[dict[str, Any]]:
    """The practitioner's labels: each event as its newest correction leaves it; rejected ones are gone."""
    by_event = latest_by_event(corrections)
    by_added: dict[int, dict[str, Any]] = {}
    for c in corrections:
        if c["added_id"] is not None:
            by_added[int(c["added_id"])] = c
    out: list[dict[str, Any]] = []
    for e in events:
        c = by_event.get(int(e["id"]))
        if c is not None and c["action"] == "reject":
            continue
        status = {None: "detector", "accept": "accepted", "relabel": "relabelled"}[None if c is None else c["action"]]
        kind = c["kind"] if c is not None and c["action"] == "relabel" else e["kind"]
        out.append({"ref": f"e{e['id']}", "kind": kind, "onset_s": e["onset_s"], "end_s": e["end_s"], "status": status,
                    "event_id": e["id"], "added_id": None, "device": e.get("device"), "site": e.get("site")})
    for a in corrections:
        if a["action"] != "add":
            continue
        c = by_added.get(int(a["id"]))
        if c is not None and c["action"] == "reject":
            continue
        kind = c["kind"] if c is not None and c["action"] == "relabel" else a["kind"]
        out.append({"ref": f"a{a['id']}", "kind": kind, "onset_s": a["onset_s"], "end_s": a["end_s"], "status": "added",
                    "event_id": None, "added_id": a["id"], "device": None, "site": sites.at(float(a["onset_s"])).to_json()})
    out.sort(key=lambda r: (float(r["onset_s"]), r["ref"]))
    return out
