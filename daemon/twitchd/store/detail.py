"""A stored session's facts and whole timeline in one JSON shape.

``sessions show --json``, ``GET /api/sessions/{id}``, the JSON export and the
dashboard's review all read this: the summary, the detector's events (each
with its id, its site and its newest correction), the marks, the sites, the
corrections and the reviewed labels they leave, and the gaps.
"""

from __future__ import annotations

from typing import Any

from twitchd.store.review import latest_by_event, reviewed_labels
from twitchd.store.sessions import SessionStore


def session_detail(s: SessionStore, session_id: int) -> dict[str, Any]:
    """A session's summary plus its timeline (the JSON of ``sessions show``)."""
    out = s.summary(session_id)
    main = out["devices"][0]["name"] if out["devices"] else None
    events = s.events(session_id)
    corrections = s.corrections(session_id)
    latest = latest_by_event(corrections)
    for e in events:
        c = latest.get(e["id"])
        e["review"] = None if c is None else {"correction_id": c["id"], "action": c["action"], "kind": c["kind"],
                                              "author": c["author"], "created_at": c["created_at"]}
    out["event_list"] = events
    out["marker_list"] = s.markers(session_id)
    out["sites"] = s.sites(session_id)
    out["corrections"] = corrections
    out["reviewed"] = reviewed_labels(events, corrections, s.site_timeline(session_id))
    out["gaps"] = [g.__dict__ for g in s.gaps(session_id, main)] if main else []
    return out
