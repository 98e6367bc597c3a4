"""Matching detected events to the simulator's truth."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from twitchd.signal.matching import match_onsets


class Timed(Protocol):
    kind: str
    onset_s: float
    end_s: float


def match(truth: Sequence[Timed], found: Sequence[Timed], kind: str, tolerance_s: float = 0.1) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) for one kind, onset within tolerance."""
    wanted = [t.onset_s for t in truth if t.kind == kind]
    got = [f.onset_s for f in found if f.kind == kind]
    tp = len(match_onsets(wanted, got, tolerance_s))
    return tp, len(got) - tp, len(wanted) - tp


def f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / max(1, 2 * tp + fp + fn)
