"""The practitioner's marks and sites: what they say, in one shape for every consumer.

A mark is the practitioner's (or the patient's) own word about a moment: "I
felt a twitch", "the patient reports referred pain", or a typed note. It is
the ground truth the detector is judged against (twitchd.evaluate), so it
keeps where it came from (a key, a foot pedal, the screen, the board's
button) and, from the board, the board's own clock.

A site is where the practitioner is working: a muscle, a side and a point
label. Every event and mark carries the site that was current at its time.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from twitchd.errors import ConfigError

#: ``felt_ltr``: the practitioner felt a local twitch under the finger (the
#: reference for ``twitchd evaluate``); ``referred_pain``: the patient reports
#: pain spreading away from the point; ``note``: free text.
MARK_KINDS = ("felt_ltr", "referred_pain", "note")
#: ``key`` / ``pedal`` / ``screen``: the dashboard (a foot pedal types a key,
#: and the page says which key it is set to); ``board``: the sensor board's
#: push button, timed by the board's sample clock; ``api``: another program;
#: ``review``: added afterwards, while reviewing the session.
MARK_SOURCES = ("key", "pedal", "screen", "board", "api", "review")
SIDES = ("left", "right", "bilateral", "")
MAX_TEXT = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: Muscles where trigger points are most often treated (the regions of Simons,
#: Travell & Simons, *Myofascial Pain and Dysfunction: The Trigger Point
#: Manual*, 2nd ed., 1999). Point labels are the practitioner's own numbering;
#: these are only suggestions.
SITE_CATALOG: tuple[str, ...] = (
    "upper trapezius", "middle trapezius", "lower trapezius", "levator scapulae", "sternocleidomastoid",
    "scalenes", "splenius capitis", "suboccipitals", "masseter", "temporalis", "supraspinatus", "infraspinatus",
    "teres minor", "subscapularis", "rhomboids", "pectoralis major", "pectoralis minor", "deltoid",
    "latissimus dorsi", "serratus anterior", "extensor carpi radialis", "forearm flexors", "thoracic paraspinals",
    "lumbar paraspinals", "quadratus lumborum", "iliopsoas", "gluteus maximus", "gluteus medius", "gluteus minimus",
    "piriformis", "tensor fasciae latae", "vastus lateralis", "vastus medialis", "rectus femoris", "hamstrings",
    "adductors", "gastrocnemius", "soleus", "tibialis anterior", "peroneals",
)
POINT_SUGGESTIONS = ("TrP1", "TrP2", "TrP3", "central", "attachment")


def clean_text(text: str, what: str, limit: int = MAX_TEXT) -> str:
    """One line of text as the store keeps it (ConfigError if it cannot be)."""
    text = text.strip()
    if len(text) > limit:
        raise ConfigError(f"{what} is longer than {limit} characters")
    if _CONTROL.search(text):
        raise ConfigError(f"{what} must be one line without control characters")
    return text


@dataclass(frozen=True, slots=True)
class Site:
    """Where the practitioner is working; an empty muscle means "no site"."""

    muscle: str
    side: str = ""
    point: str = ""

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise ConfigError(f"side must be one of left, right, bilateral or empty, not {self.side!r}")

    @classmethod
    def make(cls, muscle: str, side: str = "", point: str = "") -> Site:
        return cls(clean_text(muscle, "the muscle", 120), side, clean_text(point, "the point label", 60))

    @property
    def empty(self) -> bool:
        return not self.muscle

    def to_json(self) -> dict[str, str] | None:
        return None if self.empty else {"muscle": self.muscle, "side": self.side, "point": self.point}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Site:
        if not data:
            return NO_SITE
        return cls(str(data.get("muscle", "")), str(data.get("side", "")), str(data.get("point", "")))

    def label(self) -> str:
        """``upper trapezius left TrP1``: how reports and tables name it."""
        return " ".join(p for p in (self.muscle, self.side, self.point) if p) or "no site"


NO_SITE = Site("")


def catalog() -> list[dict[str, Any]]:
    return [{"muscle": m, "points": list(POINT_SUGGESTIONS)} for m in SITE_CATALOG]


@dataclass(frozen=True)
class SiteTimeline:
    """The sites of a session in time order: which one was current at a time."""

    times: Sequence[float] = ()
    sites: Sequence[Site] = ()

    def at(self, t_s: float) -> Site:
        k = bisect.bisect_right(self.times, t_s) - 1
        return self.sites[k] if k >= 0 else NO_SITE

    def spans(self, end_s: float) -> list[tuple[Site, float, float]]:
        """``(site, from, to)`` for each stretch of the session, the first from 0 (no site until one is set)."""
        out: list[tuple[Site, float, float]] = []
        edges = [0.0, *[max(0.0, t) for t in self.times], end_s]
        current = [NO_SITE, *self.sites]
        for site, a, b in zip(current, edges[:-1], edges[1:], strict=True):
            if b > a:
                out.append((site, a, b))
        return out


@dataclass(frozen=True)
class Mark:
    """One mark; ``t_s`` is session time (None when no recording holds it).

    ``at`` gives the same moment on each device's stream time (the live
    trace's axis), so the dashboard can draw the mark at once.
    """

    kind: str
    text: str
    source: str
    t_s: float | None
    session_id: int | None = None
    id: int = 0
    site: Site = NO_SITE
    device: str | None = None
    device_time_us: int | None = None
    at: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The live message (``kind: "mark"``); the mark's own kind is under ``mark``."""
        return {"kind": "mark", "id": self.id, "session_id": self.session_id,
                "t_s": None if self.t_s is None else round(self.t_s, 4), "mark": self.kind, "text": self.text,
                "source": self.source, "site": self.site.to_json(), "device": self.device,
                "device_time_us": self.device_time_us, "at": {k: round(v, 4) for k, v in self.at.items()}}

    def answer(self) -> dict[str, Any]:
        """What ``POST /api/recording/marks`` answers."""
        return {"id": self.id, "session_id": self.session_id, "t_s": None if self.t_s is None else round(self.t_s, 4),
                "kind": self.kind, "text": self.text, "source": self.source, "site": self.site.to_json()}


def check_mark(kind: str, text: str, source: str) -> str:
    """The mark's text, cleaned (ConfigError for an unknown kind or source, or a note without text)."""
    if kind not in MARK_KINDS:
        raise ConfigError(f"a mark's kind is one of {', '.join(MARK_KINDS)}, not {kind!r}")
    if source not in MARK_SOURCES:
        raise ConfigError(f"a mark's source is one of {', '.join(MARK_SOURCES)}, not {source!r}")
    text = clean_text(text, "the mark's text")
    if kind == "note" and not text:
        raise ConfigError("a note needs its text")
    return text
