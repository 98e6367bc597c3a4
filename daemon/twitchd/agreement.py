"""How well the detector agrees with the practitioner: the figures of ``twitchd evaluate``.

Clinicians agree with each other on LTRs at Cohen's κ of about 0.12-0.57
(Hsieh 2000, *Arch Phys Med Rehabil* 81:258; Lucas 2009). So the question is
not whether the detector is "right" but whether it agrees with this
practitioner as well as two practitioners agree with each other; these are
the figures that answer it.

The rule, one for every figure:

* **A hit** pairs one detector LTR with one reference: a *felt LTR* mark made
  between ``lo`` and ``hi`` seconds after the detector's onset (the
  practitioner reacts after the twitch), or a reviewed LTR whose onset lies
  within the same window of the detector's. Pairs are one-to-one, and the
  pairing is a maximum one: references in time order each take the earliest
  unused detector onset whose window holds them. (All windows have the same
  length, so this greedy choice is optimal.)
* **Sensitivity** = hits / references; **PPV** = hits / detector LTRs; F1 their
  harmonic mean.
* **κ and PABAK** need the negatives too, which a stream of events does not
  have. The session is cut into windows of ``window_s``; the windows that
  hold no LTR of either rater are the agreeing negatives. Hits, detector-only
  and reference-only LTRs fill the other three cells, so κ, sensitivity and
  PPV agree on what a hit is. κ = (pₒ − pₑ)/(1 − pₑ); PABAK = 2pₒ − 1 (Byrt,
  Bishop & Carlin 1993), which does not sink when LTRs are rare, as they are.
* **Offset**: mark time minus detector onset for each hit (median and
  quartiles, ms): how late this practitioner marks, which tells whether the
  tolerance suits them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Marks count from 100 ms before to 600 ms after the detector's onset. After:
#: a simple reaction to touch takes some 150-300 ms, and noticing, deciding and
#: pressing a key or pedal adds to that [derived; no study of practitioners
#: marking LTRs was found]; 600 ms takes in slow marks without reaching the
#: next press (LTRs of one press are rarely closer, shared/research). Before:
#: the detector's onset may come tens of ms after the true onset, and a twitch
#: is felt as it starts. Measure your own with the offset figures.
MARK_TOLERANCE_S = (-0.1, 0.6)
#: A reviewed event is placed on the signal itself (the review shows the
#: trace zero-phase, so there is no reaction time): ±100 ms, the same
#: tolerance as matching re-detected events with live ones (store.redetect).
REVIEW_TOLERANCE_S = (-0.1, 0.1)
#: κ's windows: 2 s is about one press-and-response of compression palpation,
#: long enough that an LTR and its mark (≤ 0.7 s apart) fall in one window or
#: two neighbours, short enough that a window rarely holds two LTRs.
WINDOW_S = 2.0


@dataclass(frozen=True)
class Agreement:
    """The 2×2 of one comparison and the figures computed from it."""

    detector: int
    reference: int
    matched: int
    negatives: int
    windows: int
    offsets_s: tuple[float, ...] = ()

    @property
    def sensitivity(self) -> float | None:
        return self.matched / self.reference if self.reference else None

    @property
    def ppv(self) -> float | None:
        return self.matched / self.detector if self.detector else None

    @property
    def f1(self) -> float | None:
        total = self.detector + self.reference
        return 2 * self.matched / total if total else None

    def _cells(self) -> tuple[int, int, int, int]:
        a = self.matched
        return a, self.detector - a, self.reference - a, self.negatives

    @property
    def kappa(self) -> float | None:
        a, b, c, d = self._cells()
        n = a + b + c + d
        if n == 0:
            return None
        po = (a + d) / n
        pe = ((a + b) * (a + c) + (c + d) * (b + d)) / (n * n)
        return None if pe >= 1.0 else (po - pe) / (1.0 - pe)

    @property
    def pabak(self) -> float | None:
        a, b, c, d = self._cells()
        n = a + b + c + d
        return None if n == 0 else 2.0 * (a + d) / n - 1.0

    def offset_ms(self) -> dict[str, float] | None:
        if not self.offsets_s:
            return None
        q1, median, q3 = np.percentile(np.asarray(self.offsets_s) * 1e3, [25, 50, 75])
        return {"median": round(float(median), 1), "q1": round(float(q1), 1), "q3": round(float(q3), 1)}

    def to_json(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 4)

        return {"detector": self.detector, "reference": self.reference, "matched": self.matched,
                "sensitivity": r(self.sensitivity), "ppv": r(self.ppv), "f1": r(self.f1), "kappa": r(self.kappa),
                "pabak": r(self.pabak), "windows": self.windows, "negative_windows": self.negatives,
                "offset_ms": self.offset_ms()}


def pair_up(detector: Sequence[float], reference: Sequence[float],
            tolerance_s: tuple[float, float]) -> list[tuple[int, int]]:
    """Index pairs (i into detector, j into reference) with lo ≤ reference − detector ≤ hi, as many as can be."""
    lo, hi = tolerance_s
    d_order = sorted(range(len(detector)), key=lambda k: detector[k])
    used = [False] * len(detector)
    pairs = []
    start = 0
    for j in sorted(range(len(reference)), key=lambda k: reference[k]):
        r = reference[j]
        # detector onsets whose window has closed before r can never be used again
        while start < len(d_order) and r - detector[d_order[start]] > hi:
            start += 1
        for pos in range(start, len(d_order)):
            i = d_order[pos]
            if r - detector[i] < lo:
                break
            if not used[i]:
                used[i] = True
                pairs.append((i, j))
                break
    return pairs


def agree(detector: Sequence[float], reference: Sequence[float], spans: Sequence[tuple[float, float]],
          tolerance_s: tuple[float, float], window_s: float = WINDOW_S) -> Agreement:
    """Detector LTR onsets against reference times, over the stretches ``spans`` of session time.

    A window belongs to the span holding its start; it is a negative when no
    detector onset and no reference time of the comparison lies in it.
    """
    pairs = pair_up(detector, reference, tolerance_s)
    busy = {math.floor(t / window_s) for t in (*detector, *reference)}
    windows = negatives = 0
    for a, b in spans:
        first, last = math.ceil(a / window_s - 1e-9), math.ceil(b / window_s - 1e-9)
        for k in range(first, last):
            windows += 1
            negatives += k not in busy
    offsets = tuple(sorted(reference[j] - detector[i] for i, j in pairs))
    return Agreement(len(detector), len(reference), len(pairs), negatives, windows, offsets)
