"""``twitchd evaluate``: the detector against the practitioner, session by session and site by site.

The reference is either the practitioner's *felt LTR* marks, made live with
the mark key, pedal or board button (``against="marks"``), or the labels
left by reviewing the session (``against="review"``: the detector's events
as accepted, rejected and relabelled, plus the events added). The figures
and their rule are twitchd.agreement's. ``events`` may be another detector's
output over the same samples (``--redetect``), so a clinic can see what a
setting would have done on its own patients.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from twitchd.agreement import MARK_TOLERANCE_S, REVIEW_TOLERANCE_S, WINDOW_S, Agreement, agree
from twitchd.errors import ReviewError
from twitchd.marks import Site
from twitchd.store.review import reviewed_labels
from twitchd.store.sessions import SessionStore

AGAINST = ("marks", "review")


@dataclass(frozen=True)
class Reference:
    """One session's two raters on one axis: detector LTR onsets and the reference times, each with its site."""

    detector: list[tuple[float, Site]]
    reference: list[tuple[float, Site]]
    spans: list[tuple[Site, float, float]]
    note: str = ""


def default_tolerance(against: str) -> tuple[float, float]:
    return MARK_TOLERANCE_S if against == "marks" else REVIEW_TOLERANCE_S


def gather(store: SessionStore, session_id: int, against: str, events: list[dict[str, Any]] | None = None,
           strict: bool = True) -> Reference:
    """Both raters' LTRs of a session; ReviewError (when ``strict``) if there is nothing to compare with."""
    if against not in AGAINST:
        raise ReviewError(f"--against is one of {', '.join(AGAINST)}, not {against!r}")
    store.summary_exists(session_id)
    devices = store.devices(session_id)
    dev = devices[0] if devices else None
    if dev is None or dev.samples == 0:
        empty = f"session {session_id} is empty: no samples were recorded, so there is nothing to evaluate"
        if strict:
            raise ReviewError(empty)
        return Reference([], [], [], empty)
    timeline = store.site_timeline(session_id)
    live = store.events(session_id, dev.name)
    found = live if events is None else events
    detector = [(float(e["onset_s"]), timeline.at(float(e["onset_s"]))) for e in found if e["kind"] == "ltr"]
    note = ""
    if against == "marks":
        marks = [m for m in store.markers(session_id) if m["kind"] == "felt_ltr"]
        reference = [(float(m["t_s"]), Site.from_json(m["site"])) for m in marks]
        if not marks:
            note = (f"session {session_id} has no felt-LTR marks: mark each LTR you feel while recording (the mark key,"
                    " a foot pedal or the board's button), or evaluate --against review")
    else:
        corrections = store.corrections(session_id)
        labels = reviewed_labels(live, corrections, timeline)
        reference = [(float(r["onset_s"]), Site.from_json(r["site"])) for r in labels if r["kind"] == "ltr"]
        if not corrections:  # unreviewed: the labels would be the detector's own, and agree with it by definition
            reference = []
            note = (f"session {session_id} has not been reviewed: open it in the dashboard's review, accept, reject,"
                    " relabel or add events, then evaluate --against review")
    if note and strict:
        raise ReviewError(note)
    start, end = dev.first_index / dev.rate_hz, dev.end_index / dev.rate_hz
    spans = [(site, max(a, start), b) for site, a, b in timeline.spans(end) if b > start]
    return Reference(detector, reference, spans, note)


def compare(ref: Reference, tolerance_s: tuple[float, float], window_s: float = WINDOW_S,
            site: str | None = None) -> tuple[Agreement, list[tuple[Site, Agreement]]]:
    """The whole session (or only the sites whose muscle or label is ``site``) and each site on its own."""
    sites = list(dict.fromkeys([s for s, _, _ in ref.spans] + [s for _, s in ref.reference] +
                               [s for _, s in ref.detector]))
    if site is not None:
        sites = [s for s in sites if site in (s.muscle, s.label())]
    per_site = []
    for s in sites:
        per_site.append((s, agree([t for t, x in ref.detector if x == s], [t for t, x in ref.reference if x == s],
                                  [(a, b) for x, a, b in ref.spans if x == s], tolerance_s, window_s)))
    if site is None:
        overall = agree([t for t, _ in ref.detector], [t for t, _ in ref.reference],
                        [(a, b) for _, a, b in ref.spans], tolerance_s, window_s)
    else:
        overall = pooled(a for _, a in per_site)
    return overall, per_site


def pooled(parts: Iterable[Agreement]) -> Agreement:
    """Several comparisons as one 2×2 (sessions of a clinic, sites of a session)."""
    parts = list(parts)
    return Agreement(sum(p.detector for p in parts), sum(p.reference for p in parts), sum(p.matched for p in parts),
                     sum(p.negatives for p in parts), sum(p.windows for p in parts),
                     tuple(sorted(o for p in parts for o in p.offsets_s)))


@dataclass(frozen=True)
class Evaluation:
    """One session's figures: the whole, and each site."""

    session_id: int
    against: str
    tolerance_s: tuple[float, float]
    window_s: float
    overall: Agreement
    sites: list[tuple[Site, Agreement]]
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``twitchd evaluate --json`` and ``GET /api/sessions/{id}/agreement``."""
        out: dict[str, Any] = {
            "session_id": self.session_id, "against": self.against, "tolerance_s": list(self.tolerance_s),
            "window_s": self.window_s, "overall": self.overall.to_json(),
            "sites": [{"site": s.to_json(), "label": s.label(), **a.to_json()} for s, a in self.sites],
        }
        if self.note:
            out["note"] = self.note
        return out


def evaluate_session(store: SessionStore, session_id: int, against: str = "marks",
                     tolerance_s: tuple[float, float] | None = None, window_s: float = WINDOW_S,
                     site: str | None = None, events: list[dict[str, Any]] | None = None,
                     strict: bool = True) -> Evaluation:
    """One session; ``strict`` refuses a session with no reference (ReviewError) instead of noting it."""
    tol = tolerance_s or default_tolerance(against)
    ref = gather(store, session_id, against, events, strict)
    overall, per_site = compare(ref, tol, window_s, site)
    return Evaluation(session_id, against, tol, window_s, overall, per_site, ref.note)


def session_agreement(store: SessionStore, session_id: int, against: str = "marks") -> dict[str, Any]:
    """For the dashboard: figures even before the first mark (with a note saying why they are empty)."""
    return evaluate_session(store, session_id, against, strict=False).to_json()


def _f(x: float | None, digits: int = 2) -> str:
    return "–" if x is None else f"{x:.{digits}f}"


def table_rows(label: str, site: str, a: Agreement) -> list[str]:
    off = a.offset_ms()
    offset = "–" if off is None else f"{off['median']:.0f} [{off['q1']:.0f}, {off['q3']:.0f}]"
    return [label, site, str(a.detector), str(a.reference), str(a.matched), _f(a.sensitivity), _f(a.ppv), _f(a.f1),
            _f(a.kappa), _f(a.pabak), offset]


HEADER = ["session", "site", "detector", "reference", "hits", "sens", "PPV", "F1", "kappa", "PABAK", "offset ms"]


def format_table(rows: list[list[str]]) -> str:
    widths = [max(len(r[k]) for r in [HEADER, *rows]) for k in range(len(HEADER))]
    lines = []
    for r in [HEADER, *rows]:
        lines.append("  ".join(c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths, strict=True))))
    return "\n".join(lines)
