"""Events: what the detector tells the practitioner, in one shape for every consumer."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

#: Every kind an event can have; the dashboard ignores kinds it does not know.
#: ``felt`` is a force bump in a steady hold that the EMG does not confirm: the
#: thumb may have felt a twitch, but tremor and drift of a held thumb make such
#: bumps too (docs/detector.md, "Force evidence"), so it never counts as an LTR.
KINDS = ("ltr", "twitch", "contraction", "artifact", "press", "gap", "felt")


@dataclass(frozen=True, slots=True)
class Event:
    """One decided event; times are device-time seconds since the stream began.

    ``decided_s`` is the signal time at which the streaming detector committed,
    so ``decided_s - onset_s`` is the detector's own latency.
    """

    kind: str
    onset_s: float
    end_s: float
    decided_s: float
    peak_emg_v: float | None = None
    force_n: float | None = None
    confidence: float = 1.0
    device: str = ""
    id: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def with_ids(self, device: str, event_id: int) -> Event:
        return replace(self, device=device, id=event_id)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types; NaN becomes null so browsers can parse it."""
        out: dict[str, Any] = {
            "kind": self.kind, "id": self.id, "device": self.device,
            "onset_s": _num(self.onset_s, 4), "end_s": _num(self.end_s, 4),
            "decided_s": _num(self.decided_s, 4), "peak_emg_v": _num(self.peak_emg_v, 6),
            "force_n": _num(self.force_n, 3), "confidence": _num(self.confidence, 3),
        }
        for key, value in self.extra.items():
            counted = key.endswith(("_count", "samples")) and float(value).is_integer()
            out[key] = int(value) if counted else _num(value, 4)
        return out


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)
