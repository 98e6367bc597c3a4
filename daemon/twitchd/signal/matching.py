"""Pairing two event lists by onset: detected vs true, or re-detected vs live.

One rule everywhere (scoring, benchmarks, re-analysis) so that their figures
mean the same thing: events in time order each take the nearest unused
partner whose onset is within the tolerance.
"""

from __future__ import annotations

from collections.abc import Sequence


def match_onsets(a: Sequence[float], b: Sequence[float], tolerance_s: float) -> list[tuple[int, int]]:
    """Index pairs (i into a, j into b), one-to-one, greedy by a's time order."""
    unused = set(range(len(b)))
    pairs = []
    for i in sorted(range(len(a)), key=lambda k: a[k]):
        best = min(unused, key=lambda j: abs(b[j] - a[i]), default=None)
        if best is not None and abs(b[best] - a[i]) <= tolerance_s:
            unused.discard(best)
            pairs.append((i, best))
    return pairs
