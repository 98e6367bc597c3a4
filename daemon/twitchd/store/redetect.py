"""Re-analysis: run the detector over a recorded session with other parameters
and compare its events with the ones recorded live.

The detector sees the recorded samples back to back; its times are shifted
over the session's gaps (as the live pipeline does), so both event lists are
on the session's time axis and can be matched by onset.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twitchd.events import Event
from twitchd.signal.detector import detect_offline
from twitchd.signal.matching import match_onsets
from twitchd.signal.params import DetectorParams
from twitchd.store.sessions import SessionStore, physical
from twitchd.timeline import GapMap

#: Two events of one kind are "the same" when their onsets are this close.
MATCH_S = 0.1


@dataclass
class KindComparison:
    live: int = 0
    new: int = 0
    both: int = 0
    only_live: list[float] = field(default_factory=list)
    only_new: list[float] = field(default_factory=list)


def redetect(store: SessionStore, session_id: int, params: DetectorParams,
             device: str | None = None) -> tuple[list[Event], dict[str, KindComparison]]:
    """The new events, and per kind how they compare with the live ones."""
    dev = store.device(session_id, device)
    emg_parts, force_parts = [], []
    gaps = GapMap(dev.rate_hz, origin_s=dev.first_index / dev.rate_hz)
    pos, expected = 0, dev.first_index
    for first, counts in store.chunks(session_id, dev.name):
        if first > expected:
            gaps.add(pos, first - expected)
        values = physical(dev.cmap, counts)
        emg_parts.append(values["emg_v"])
        force_parts.append(values.get("force_n", np.full(counts.shape[0], np.nan)))
        pos += counts.shape[0]
        expected = first + counts.shape[0]
    if not emg_parts:
        return [], {}
    found = detect_offline(np.concatenate(emg_parts), np.concatenate(force_parts), dev.rate_hz, params)
    new = [dataclasses.replace(gaps.event(e), device=dev.name) for e in found if e.kind != "gap"]
    return new, compare(store.events(session_id, dev.name), new)


def compare(live: list[dict[str, Any]], new: list[Event]) -> dict[str, KindComparison]:
    """One-to-one matching by onset within MATCH_S, kind by kind."""
    out: dict[str, KindComparison] = {}
    for kind in sorted({e["kind"] for e in live} | {e.kind for e in new}):
        a = sorted(float(e["onset_s"]) for e in live if e["kind"] == kind)
        b = sorted(e.onset_s for e in new if e.kind == kind)
        pairs = match_onsets(a, b, MATCH_S)
        matched_a, matched_b = {i for i, _ in pairs}, {j for _, j in pairs}
        out[kind] = KindComparison(
            live=len(a), new=len(b), both=len(pairs),
            only_live=[round(t, 4) for i, t in enumerate(a) if i not in matched_a],
            only_new=[round(t, 4) for j, t in enumerate(b) if j not in matched_b])
    return out
