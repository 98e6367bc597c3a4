"""Electrode-motion artifacts locked to pressure changes.

Pressing near the electrodes shears the skin under them and changes the
electrode-electrolyte half-cell potential: a low-frequency (< 20 Hz) swing
(De Luca et al. 2010, J Biomech 43:1573: motion artifact lives in 0-20 Hz,
which is why they recommend a 20 Hz high-pass).  A sudden shift of the
contact adds a step of potential that the MyoWare's 1st-order 20.8 Hz
high-pass turns into a sharp spike decaying with tau = 7.7 ms - the "sharp
edge" of the brief.  Both are rendered at the skin and passed through the
real front end, so their in-band residue (what a detector sees) is what the
physics gives, not a hand-drawn shape.

Sizes are set relative to the noise floor, after the front end: median
~10x the floor rms at peak, log-normal, larger for bigger / faster force
changes (sqrt of the change), because a poorer electrode site (low SNR) also
gives bigger motion artifacts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import frontend

#: Probability that a pressure change of each kind moves the electrodes enough.
P_ARTIFACT = {"contact": 0.4, "landing": 0.85, "lift": 0.75, "regrip": 0.6, "snap": 0.8}

#: Extent threshold: the artifact "lasts" while its filtered |value| exceeds
#: this fraction of its peak.
EXTENT_REL = 0.1


@dataclass
class Artifact:
    start: float          #: absolute time of the waveform's sample 0, s
    wave: np.ndarray      #: front-end-filtered skin-level waveform
    onset: float          #: truth onset: |wave| first reaches 10 % of its peak
    end: float            #: truth end: |wave| last at 10 % of its peak
    cause: str


def make_artifact(rng: np.random.Generator, fs: float, t_change: float, cause: str,
                  delta_n: float, floor: float) -> Artifact | None:
    """An artifact for a pressure change at ``t_change`` of ``delta_n`` newtons,
    or None if this change does not disturb the electrodes."""
    if rng.random() >= P_ARTIFACT[cause]:
        return None
    length = rng.uniform(0.15, 0.7)
    n = int(length * fs)
    s = np.arange(n) / fs
    x = np.zeros(n)
    for _ in range(int(rng.integers(1, 3))):
        f = rng.uniform(2.0, 15.0)
        tau = rng.uniform(0.05, 0.25)
        rise = 1 - np.exp(-s / rng.uniform(0.005, 0.03))
        x += rng.uniform(0.5, 1.0) * np.exp(-s / tau) * rise * np.sin(2 * np.pi * f * s + rng.uniform(0, 6.3))
    if rng.random() < 0.35:   # sharp edge: the contact potential jumps
        se = int(rng.uniform(0.0, 0.03) * fs)
        x[se:] += rng.choice([-1, 1]) * rng.uniform(0.5, 2.0) * np.exp(-s[: n - se] / rng.uniform(0.2, 1.0))
    taper = np.ones(n)
    k = int(0.05 * fs)
    taper[-k:] = np.linspace(1, 0, k) ** 2
    x *= taper
    pad = int(0.05 * fs)
    y = frontend.band(np.concatenate([x, np.zeros(pad)]), fs)
    peak = np.max(np.abs(y))
    if peak <= 0:
        return None
    size = rng.lognormal(np.log(10.0), 0.6) * np.sqrt(np.clip(abs(delta_n), 0.5, 15.0) / 8.0)
    y *= size * floor / peak
    idx = np.nonzero(np.abs(y) >= EXTENT_REL * size * floor)[0]
    lag = rng.uniform(0.0, 0.03)      # skin moves a little after the force changes
    start = t_change + lag
    return Artifact(start, y, start + idx[0] / fs, start + (idx[-1] + 1) / fs, cause)
