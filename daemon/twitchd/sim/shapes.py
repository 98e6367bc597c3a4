"""Waveform pieces of the simulated session: motor-unit potentials, muscle
bursts, electrode-motion transients and force gestures.

Sizes are at the skin (volts) before the MyoWare's gain of 200. Numbers come
from research/signal-facts.md: motor-unit potentials last 2-15 ms; surface
single units measure 26-69 uV (McNeil 2005); an LTR is a polyphasic burst of
tens to a few hundred ms that shrinks with each repeat; motion artefacts sit
below ~20 Hz.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


def muap(rng: np.random.Generator, rate_hz: float, polyphasic: bool) -> Array:
    """One motor-unit action potential, peak 1, lasting 2-15 ms.

    First-order Hermite-Rodriguez functions are the usual surface-MUAP model;
    an LTR's potentials are polyphasic (Audette 2004), so those sum two or three
    shifted, sign-alternating phases.
    """
    duration = rng.uniform(0.004, 0.012)
    lam = duration / 6.0
    phases = int(rng.integers(2, 4)) if polyphasic else 1
    span = duration + (phases - 1) * 1.6 * lam
    t = np.arange(int(span * rate_hz) + 1) / rate_hz
    wave = np.zeros_like(t)
    for p in range(phases):
        c = duration / 2 + p * 1.6 * lam
        x = (t - c) / lam
        wave += (-0.7) ** p * x * np.exp(-x * x)
    return wave / np.max(np.abs(wave))


def add_at(signal: Array, start: int, piece: Array) -> None:
    """Add ``piece`` into ``signal`` at ``start``, clipped at both ends."""
    lo, hi = max(start, 0), min(start + len(piece), len(signal))
    if lo < hi:
        signal[lo:hi] += piece[lo - start:hi - start]


def unit_burst(
    signal: Array, rng: np.random.Generator, rate_hz: float, onset_s: float,
    duration_s: float, units: int, peak_v: float, polyphasic: bool,
) -> tuple[float, float]:
    """A few motor units firing at 15-35 Hz for ``duration_s``; returns true (onset, end).

    Recruitment is staggered so that the burst rises and falls like a reflex
    rather than starting as a wall of spikes.
    """
    first, last = np.inf, -np.inf
    for u in range(units):
        shape = muap(rng, rate_hz, polyphasic) * peak_v * rng.uniform(0.6, 1.4)
        rate = rng.uniform(15.0, 35.0)
        t = onset_s + (0.0 if u == 0 else rng.uniform(0.0, 0.35 * duration_s))
        stop = onset_s + duration_s * (1.0 if u == 0 else rng.uniform(0.7, 1.0))
        sign = 1.0 if rng.random() < 0.5 else -1.0
        while t < stop:
            add_at(signal, int(round(t * rate_hz)), sign * shape)
            first, last = min(first, t), max(last, t + len(shape) / rate_hz)
            t += rng.normal(1.0 / rate, 0.1 / rate)
    return first, last


@numba.njit(cache=True, nogil=True)
def one_pole(x: Array, a: float) -> Array:
    """First-order low-pass (y += a*(x-y)), used to shape noise."""
    y = np.empty_like(x)
    acc = 0.0
    for i in range(x.shape[0]):
        acc += a * (x[i] - acc)
        y[i] = acc
    return y


def interference(rng: np.random.Generator, n: int, rate_hz: float) -> Array:
    """Band-limited noise of unit RMS: many units firing together (contraction)."""
    white = rng.standard_normal(n)
    lo = one_pole(white, 1.0 - np.exp(-2 * np.pi * 30.0 / rate_hz))
    hi = one_pole(white, 1.0 - np.exp(-2 * np.pi * 180.0 / rate_hz))
    band = hi - lo
    return band / (np.std(band) + 1e-12)


def smooth_step(n: int) -> Array:
    """Raised-cosine ramp from 0 to 1 over n samples (a thumb lands smoothly)."""
    if n <= 1:
        return np.ones(max(n, 0))
    return 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n))


def bump(n: int) -> Array:
    """Raised-cosine bump of n samples, peak 1."""
    return np.sin(np.linspace(0.0, np.pi, max(n, 2))) ** 2


def motion_transient(rng: np.random.Generator, rate_hz: float, peak_v: float) -> tuple[Array, float]:
    """Electrode motion: a slow (<20 Hz) biphasic swing; returns it and its duration.

    A Gaussian derivative with sigma 25-60 ms has almost all its energy below
    10 Hz, which is what moving skin under an electrode produces (De Luca 2010).
    """
    sigma = rng.uniform(0.025, 0.06)
    t = np.arange(-4 * sigma, 4 * sigma, 1.0 / rate_hz)
    x = t / sigma
    wave = x * np.exp(-0.5 * x * x)
    wave *= peak_v / np.max(np.abs(wave)) * (1 if rng.random() < 0.5 else -1)
    return wave, 8 * sigma
