"""What happens when: a practitioner's session, or long steady holds.

Session (per the brief and clinical routine, Travell & Simons): the
practitioner rests 2-9 s between presses, explores the band with a light
touch before four presses in ten, presses a trigger point for 4-25 s, now
and then snaps across the band (3-10 N jabs; 35 % of holds carry 1-3, and
15 % of visits are snapping palpation only, on a light contact) and
re-grips (one per ~12 s of hold).  The same trigger point is revisited
(55 % of visits), which is what makes its LTRs habituate.  Event totals:
4.5-7.5 LTRs, 1-3 twitches and ~1 contraction per minute; tonic guarding
during 35 % of presses (pain-related guarding) and a few rest stretches.

Holds: 15-30 s holds, rest 2-6 s, a re-grip per ~10 s, no snaps and no
twitch/LTR/contraction at all; tonic guarding during half of the holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .force import Press, Regrip, Snap


@dataclass
class Plan:
    scenario: str
    duration: float
    presses: list[Press]
    n_sites: int
    n_ltr: int
    n_twitch: int
    n_contraction: int
    tonic_spans: list[tuple[float, float]] = field(default_factory=list)


def _spaced_times(rng: np.random.Generator, a: float, b: float, n: int, gap: float,
                  taken: list[float]) -> list[float]:
    out: list[float] = []
    for _ in range(n * 20):
        if len(out) == n or b <= a:
            break
        t = rng.uniform(a, b)
        if all(abs(t - x) >= gap for x in out + taken):
            out.append(t)
    return sorted(out)


def _hold_press(rng: np.random.Generator, t: float, site: int, hold_range: tuple[float, float],
                regrip_every: float, p_snaps: float) -> Press:
    light = rng.uniform(0.4, 1.5) if rng.random() < 0.4 else 0.0
    t_land = t + (rng.uniform(1.0, 3.0) if light else 0.0)
    land_dur = rng.uniform(0.1, 0.5)
    f_hold = rng.uniform(5.0, 18.0)
    hold = rng.uniform(*hold_range)
    t_lift = t_land + land_dur + hold
    p = Press("hold", site, t, light, t_land, land_dur, f_hold, t_lift, rng.uniform(0.1, 0.4))
    a, b = p.land_end + 1.2, t_lift - 1.2
    taken: list[float] = []
    if rng.random() < p_snaps:
        for ts in _spaced_times(rng, a, b, int(rng.integers(1, 4)), 1.5, taken):
            p.snaps.append(Snap(ts, rng.uniform(0.08, 0.2), rng.uniform(3.0, 10.0)))
            taken.append(ts)
    level = f_hold
    for tr in _spaced_times(rng, a, b, int(rng.poisson(hold / regrip_every)), 1.5, taken):
        mag = rng.uniform(0.5, 3.0)
        dur = rng.uniform(0.05, 0.2)
        if rng.random() < 0.5:
            mag = min(mag, level - 3.5)
            if mag < 0.5:
                continue
            p.regrips.append(Regrip(tr, dur, -mag, rng.uniform(0.05, 0.3)))
        else:
            sign = 1.0 if (level + mag <= 19.0 and (level - mag < 4.0 or rng.random() < 0.5)) else -1.0
            p.regrips.append(Regrip(tr, dur, sign * mag))
            level += sign * mag
    p.regrips.sort(key=lambda r: r.t)
    return p


def _snap_press(rng: np.random.Generator, t: float, site: int) -> Press:
    length = rng.uniform(2.0, 5.0)
    p = Press("snaps", site, t, 0.0, t, 0.25, rng.uniform(0.5, 1.5), t + 0.25 + length, rng.uniform(0.1, 0.3))
    for ts in _spaced_times(rng, t + 0.6, t + length - 0.4, int(rng.integers(1, 4)), 0.9, []):
        p.snaps.append(Snap(ts, rng.uniform(0.08, 0.2), rng.uniform(3.0, 10.0)))
    return p


def plan(rng: np.random.Generator, duration: float, scenario: str) -> Plan:
    minutes = duration / 60.0
    presses: list[Press] = []
    n_sites = 0
    t = rng.uniform(1.0, 3.0)
    while True:
        if presses:
            t += rng.uniform(2.0, 9.0) if scenario == "session" else rng.uniform(2.0, 6.0)
        if n_sites == 0 or rng.random() < 0.45:
            site, n_sites = n_sites, n_sites + 1
        else:  # revisit, favouring recent sites
            w = 0.6 ** np.arange(n_sites)[::-1]
            site = int(rng.choice(n_sites, p=w / w.sum()))
        if scenario == "holds":
            p = _hold_press(rng, t, site, (15.0, 30.0), 10.0, 0.0)
        elif rng.random() < 0.15:
            p = _snap_press(rng, t, site)
        else:
            p = _hold_press(rng, t, site, (4.0, 25.0), 12.0, 0.35)
        if p.t_end > duration - 1.0:
            break
        presses.append(p)
        t = p.t_end
    if scenario == "holds":
        n_ltr = n_tw = n_con = 0
        p_tonic, rest_tonic = 0.5, 0.3
    else:
        n_ltr = int(round(minutes * rng.uniform(4.5, 7.5)))
        n_tw = int(round(minutes * rng.uniform(1.0, 3.0)))
        n_con = max(int(minutes >= 0.75), int(round(minutes * rng.uniform(0.7, 1.3))))
        p_tonic, rest_tonic = 0.35, 0.4
    spans = []
    for p in presses:
        if rng.random() < p_tonic:
            spans.append((max(0.0, p.t_contact - rng.uniform(0, 3)), min(duration, p.t_end + rng.uniform(0, 4))))
    for _ in range(int(rng.poisson(rest_tonic * minutes))):
        a = rng.uniform(0, max(duration - 5, 0.1))
        spans.append((a, min(duration, a + rng.uniform(5, 30))))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return Plan(scenario, duration, presses, n_sites, n_ltr, n_tw, n_con, merged)
