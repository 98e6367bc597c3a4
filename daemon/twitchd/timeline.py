"""Mapping detector time (which skips lost samples) back onto stream time (which does not).

The detector is fed only the samples that arrived, so after a gap its clock
runs behind the device's. Both the live pipeline and the re-analysis of a
recorded session need the same correction, so it lives here once.
"""

from __future__ import annotations

import bisect
import dataclasses
import math

from twitchd.events import Event


class GapMap:
    """Where, in detector samples, each gap happened, and how much was lost by then."""

    def __init__(self, rate_hz: float, origin_s: float = 0.0) -> None:
        self.rate_hz = rate_hz
        self.origin_s = origin_s  # stream time of the detector's first sample
        self._at: list[int] = []
        self._lost: list[int] = []

    @property
    def lost(self) -> int:
        """Samples lost so far."""
        return self._lost[-1] if self._lost else 0

    def add(self, at: int, lost: int) -> float:
        """Record ``lost`` samples missing before detector sample ``at``; returns the gap's stream onset."""
        onset = self.origin_s + (at + self.lost) / self.rate_hz
        self._at.append(at)
        self._lost.append(self.lost + lost)
        return onset

    def stream_time(self, t: float) -> float:
        if not math.isfinite(t):
            return t
        k = bisect.bisect_right(self._at, round(t * self.rate_hz)) - 1
        return t + self.origin_s + (self._lost[k] / self.rate_hz if k >= 0 else 0.0)

    def event(self, event: Event) -> Event:
        """The same event with its times on the stream's axis."""
        if not self._at and self.origin_s == 0.0:
            return event
        return dataclasses.replace(event, onset_s=self.stream_time(event.onset_s),
                                   end_s=self.stream_time(event.end_s), decided_s=self.stream_time(event.decided_s))
