"""Motor-unit action-potential (MUAP) shapes as seen by a surface electrode.

WHY Hermite-Rodriguez functions: Lo Conte, Merletti & Sandri 1994 (IEEE TBME
41:1232) showed that the first few Hermite-Rodriguez (HR) functions describe
surface MUAPs compactly: HR1 is the classic biphasic potential, HR2 a
triphasic one.  Mixing them with a random weight gives a continuum of
bi/triphasic shapes, and adding a delayed, narrower copy gives the polyphasic
(complex) potentials that Audette 2004 reports for LTR units.  A smooth time
warp makes the shapes asymmetric (the slow terminal phase of a propagating
potential), so no two units share a template - a naive simulator reuses one.

Durations 3-15 ms: needle MUAPs last 2-15 ms (Aminoff, signal-facts.md);
surface potentials are low-pass filtered by the tissue, so the shortest
surface ones are a little longer than the shortest needle ones.
Amplitudes are log-normal (skewed: a few large units, many small ones), as
in Fuglevand 1993 where unit sizes are exponentially distributed.
"""
from __future__ import annotations

import numpy as np

#: Relative threshold that defines where a MUAP starts and ends.
SUPPORT_REL = 0.02


def muap_shape(rng: np.random.Generator, fs: float, dur_ms: float,
               polyphasic: bool = False) -> np.ndarray:
    """One unit's potential, peak |amplitude| 1, trimmed to its support.

    Sample 0 is where the potential first exceeds 2 % of its peak, so a spike
    placed at time t contributes exactly on [t, t + len/fs): this is what the
    truth onsets and ends are computed from.
    """
    lam = dur_ms * 1e-3 / 4.4
    t = np.arange(-4.5 * lam, 4.5 * lam + 4e-3, 1.0 / fs)
    a = rng.uniform(-0.3, 0.4)                       # asymmetry of the warp
    u = t / lam
    u = u * np.exp(a * np.tanh(u))
    g = np.exp(-u * u)
    theta = rng.uniform(0.0, np.pi)
    w = np.cos(theta) * u * g * 1.6 + np.sin(theta) * (1 - 2 * u * u) * g
    if polyphasic:
        for _ in range(int(rng.integers(1, 3))):
            d = rng.uniform(1.0, 3.5) * 1e-3
            k = rng.uniform(0.45, 0.9)
            v = (t - d) / (lam * k)
            gv = np.exp(-v * v)
            comp = v * gv * 1.6 if rng.random() < 0.5 else (1 - 2 * v * v) * gv
            w = w + rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.8) * comp
    w = w / np.max(np.abs(w))
    if rng.random() < 0.5:
        w = -w
    idx = np.nonzero(np.abs(w) >= SUPPORT_REL)[0]
    w = w[idx[0]: idx[-1] + 1].copy()
    # taper the 2 % edges to zero so the truncation adds no step
    n = min(4, len(w) // 4)
    if n > 0:
        ramp = np.linspace(0.0, 1.0, n + 1)[1:]
        w[:n] *= ramp
        w[-n:] *= ramp[::-1]
    return w


def unit_duration_ms(rng: np.random.Generator, median: float = 7.0) -> float:
    """Surface MUAP duration: log-normal around ``median`` ms, 3-15 ms."""
    return float(np.clip(rng.lognormal(np.log(median), 0.35), 3.0, 15.0))


def unit_amplitude(rng: np.random.Generator, sigma: float = 0.6) -> float:
    """Skewed (log-normal) relative amplitude, median 1."""
    return float(rng.lognormal(0.0, sigma))
