"""Motor-unit discharge: spike trains and a Fuglevand-style recruitment pool.

Spike trains use time rescaling: a unit's instantaneous rate r(t) is
integrated into a phase Phi(t) (in cycles), and spike k falls where Phi
reaches sum of k inter-spike increments drawn as 1 + CV * N(0, 1).  That
gives a Gaussian ISI with the requested coefficient of variation at any
(time-varying) rate, the renewal model of Fuglevand, Winter & Patla 1993
(J Neurophysiol 70:2470), fully vectorised.

Pool (Fuglevand 1993): recruitment thresholds exponentially distributed with
a 30-fold range; rate = MFR + g * (E - RT) once recruited, MFR 8 Hz, peak rate
35 Hz for the first unit falling by 10 Hz to the last (PFRD); ISI CV 0.2.
Unit size (here: surface amplitude) grows exponentially with threshold
(Henneman size principle), with log-normal scatter for depth / distance.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import muaps


def spike_train(t: np.ndarray, rate: np.ndarray, rng: np.random.Generator,
                cv: float, phase0: float | None = None) -> np.ndarray:
    """Spike times for rate ``rate`` (Hz) on the uniform grid ``t`` (s).

    ``phase0`` None: a free-running unit (random phase); 0: the first spike
    at the first instant the rate is non-zero (a reflex volley).
    """
    dt = t[1] - t[0]
    phi = np.concatenate([[0.0], np.cumsum(rate[:-1] * dt)]) + np.arange(len(t)) * 1e-12
    total = phi[-1]
    if total <= 0:
        return np.zeros(0)
    n = int(total * 1.6) + 8
    inc = np.clip(1.0 + cv * rng.standard_normal(n), 0.3, None)
    start = rng.uniform(0.0, 1.0) if phase0 is None else phase0
    c = start + np.concatenate([[0.0], np.cumsum(inc[1:])])
    c = c[c < total]
    if phase0 == 0.0 and len(c):
        c[0] = 1e-9 + phi[np.argmax(rate > 0)]
        c[1:] += c[0]
        c = c[c < total]
    return np.interp(c, phi, t)


@dataclass
class Unit:
    """One motor unit: its potential and its relative amplitude."""

    wave: np.ndarray
    amp: float


def make_unit(rng: np.random.Generator, fs: float, dur_median: float = 7.0,
              p_poly: float = 0.15, amp_sigma: float = 0.6) -> Unit:
    """A unit with a fresh shape.  p_poly: 10-15 % of normal MUAPs are
    polyphasic (Aminoff); LTR units use a higher value (Audette 2004)."""
    w = muaps.muap_shape(rng, fs, muaps.unit_duration_ms(rng, dur_median),
                         polyphasic=rng.random() < p_poly)
    return Unit(w, muaps.unit_amplitude(rng, amp_sigma))


@dataclass
class Pool:
    """A Fuglevand 1993 motor-unit pool (normalised excitation 0..1)."""

    rt: np.ndarray        #: recruitment thresholds, 1/30 .. 1
    pfr: np.ndarray       #: peak firing rates (Hz)
    units: list[Unit]

    MFR = 8.0             #: minimum firing rate at recruitment (Hz)
    GAIN = 30.0           #: Hz per unit of normalised excitation above threshold

    def rates(self, e: np.ndarray) -> np.ndarray:
        """Firing rate of every unit (rows) for excitation ``e`` (columns)."""
        r = self.MFR + self.GAIN * (e[None, :] - self.rt[:, None])
        r = np.minimum(r, self.pfr[:, None])
        return np.where(e[None, :] >= self.rt[:, None], r, 0.0)


def fuglevand_pool(rng: np.random.Generator, fs: float, n: int = 100,
                   rr: float = 30.0) -> Pool:
    i = np.arange(1, n + 1)
    rt = np.exp(np.log(rr) * i / n) / rr
    pfr = 35.0 - 10.0 * (rt - rt[0]) / (rt[-1] - rt[0])
    units = []
    for k in range(n):
        size = np.exp(np.log(12.0) * k / n)          # 12-fold amplitude range
        u = make_unit(rng, fs, dur_median=7.0 + 3.0 * k / n, p_poly=0.12, amp_sigma=0.5)
        u.amp *= size
        units.append(u)
    return Pool(rt, pfr, units)


def place(out: np.ndarray, fs: float, times: np.ndarray, wave: np.ndarray,
          amp: float, t0: float = 0.0) -> None:
    """Add ``amp * wave`` starting at each of ``times`` (s, relative to t0)."""
    if len(times) == 0:
        return
    idx = np.round((times - t0) * fs).astype(np.int64)
    cols = idx[:, None] + np.arange(len(wave))[None, :]
    ok = (cols >= 0) & (cols < len(out))
    vals = np.broadcast_to(amp * wave[None, :], cols.shape)
    np.add.at(out, cols[ok], vals[ok])
