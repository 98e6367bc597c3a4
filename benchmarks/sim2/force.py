"""Thumb force under the practitioner's thumb, the physical FSR 402 that
senses it, and the daemon's nominal conversion back to newtons.

Thumb (what the hand does):
- landing: a minimum-jerk rise (Flash & Hogan 1985, the shape of a
  deliberate reach) to 5-20 N in 0.1-0.5 s, optionally after a light
  exploratory touch (0.4-1.5 N, below the 2 N press threshold) while the
  practitioner finds the band, and with a 0-15 % overshoot that settles in
  a few hundred ms (force-control overshoot of a fast isometric step);
- hold: physiological tremor in 8-12 Hz (Elble & Koller 1990; the central
  8-12 Hz component dominates isometric force tremor), narrow-band, about
  1.2 % of the force (clamped to the brief's 0.05-0.3 N rms), amplitude
  modulated; slow drift as an Ornstein-Uhlenbeck walk (tau 8 s, 0.3-0.8 N
  stationary sd, softly limited to +-2 N) - a hand holding "constant" force
  without visual feedback wanders by ~5-10 %;
- re-grips: 0.5-3 N step or dip, 50-200 ms transitions;
- snapping palpation: 3-10 N jabs of 80-200 ms on top of the hold;
- lift: minimum-jerk fall in 0.1-0.4 s.

FSR 402 (Interlink 400-series datasheet, signal-facts.md s.3): nominal
conductance G = F^log10(6) / 6000 S (1 N -> 6 kOhm, 10 N -> 1 kOhm); the
part here deviates: +-6 % part-to-part (conductance scale) with a slightly
different exponent, +-2 % contact-to-contact repeatability, ~+10 %
hysteresis on unloading, creep of 2-5 % per decade of time under load
(datasheet: drift < 5 %/decade), an actuation force of 0.15-0.3 N below
which it is open, and soft saturation above ~15 N (the 402 is rated to 20 N).
"""
from __future__ import annotations

from dataclasses import dataclass, field
import math

import numpy as np
from scipy import signal

from .noise import slow_walk

R_M = 10_000.0                 #: divider resistor (ohm)
NOMINAL_B = math.log10(6.0)    #: nominal power-law exponent
OPEN_BELOW_N = 0.2             #: nominal actuation: below this the daemon reads 0


def minjerk(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * x * (10 - 15 * x + 6 * x * x)


@dataclass
class Snap:
    t: float
    dur: float
    amp: float

    @property
    def peak_t(self) -> float:
        return self.t + self.dur / 2


@dataclass
class Regrip:
    t: float
    dur: float
    delta: float
    dip_hold: float | None = None      #: None: a step; else a dip held this long

    @property
    def end(self) -> float:
        return self.t + self.dur if self.dip_hold is None else self.t + 2 * self.dur + self.dip_hold


@dataclass
class Press:
    """One episode of the thumb on the patient."""

    kind: str            #: "hold" or "snaps" (light contact + jabs, no hold)
    site: int
    t_contact: float
    light: float
    t_land: float
    land_dur: float
    f_hold: float
    t_lift: float
    lift_dur: float
    snaps: list[Snap] = field(default_factory=list)
    regrips: list[Regrip] = field(default_factory=list)

    @property
    def t_end(self) -> float:
        return self.t_lift + self.lift_dur

    @property
    def land_end(self) -> float:
        return self.t_land + self.land_dur


def press_force(rng: np.random.Generator, p: Press, t: np.ndarray) -> np.ndarray:
    """True force (N) of one press on the time grid ``t`` (s)."""
    fs = 1.0 / (t[1] - t[0])
    if p.light > 0:
        e = (p.light / p.f_hold) * minjerk((t - p.t_contact) / 0.25)
        e = e + (1 - p.light / p.f_hold) * minjerk((t - p.t_land) / p.land_dur)
    else:
        e = minjerk((t - p.t_land) / p.land_dur)
    e = e * (1 - minjerk((t - p.t_lift) / p.lift_dur))
    level = np.full(len(t), p.f_hold)
    if p.kind == "hold":
        s = np.clip(t - p.land_end, 0.0, None)
        tau = rng.uniform(0.08, 0.15)
        level += p.f_hold * rng.uniform(0.0, 0.15) * (s / tau) * np.exp(1 - s / tau)
        sd = rng.uniform(0.3, 0.8)
        walk = slow_walk(rng, len(t), fs, 8.0)
        i0 = int(np.searchsorted(t, p.land_end))
        walk = walk - walk[min(i0, len(t) - 1)]
        drift = 2.0 * np.tanh(sd * walk / 2.0)
        level += np.where(t > p.land_end, drift, 0.0)
    for r in p.regrips:
        if r.dip_hold is None:
            level += r.delta * minjerk((t - r.t) / r.dur)
        else:
            level += r.delta * (minjerk((t - r.t) / r.dur)
                                - minjerk((t - r.t - r.dur - r.dip_hold) / r.dur))
    level = np.maximum(level, 0.5 * p.f_hold)
    # physiological tremor, 8-12 Hz, amplitude modulated
    f0 = rng.uniform(8.0, 12.0)
    b, a = signal.butter(2, [f0 - 1.5, f0 + 1.5], "bandpass", fs=fs)
    tr = signal.lfilter(b, a, rng.standard_normal(len(t) + int(fs)))[int(fs):]
    tr /= np.std(tr) + 1e-12
    am = np.clip(1 + 0.5 * slow_walk(rng, len(t), fs, 1.5), 0.2, None)
    rms = float(np.clip(0.012 * p.f_hold * rng.uniform(0.8, 1.25), 0.05, 0.3))
    f = e * level + e * (level / p.f_hold) * rms * am * tr
    for sn in p.snaps:
        x = (t - sn.t) / sn.dur
        f += np.where((x > 0) & (x < 1), sn.amp * np.sin(np.pi * np.clip(x, 0, 1)) ** 2, 0.0)
    return np.maximum(f, 0.0)


@dataclass
class FsrPart:
    """One physical FSR 402 and its mount."""

    k: float          #: conductance scale vs nominal (part-to-part, +-6 %)
    b: float          #: power-law exponent
    f_act: float      #: actuation force (N)
    creep: float      #: conductance gain per decade of loaded time
    hyst: float       #: full-unload hysteresis (fraction)
    r_m: float        #: actual divider resistor

    @classmethod
    def draw(cls, rng: np.random.Generator) -> "FsrPart":
        return cls(k=float(rng.lognormal(0.0, 0.06)), b=NOMINAL_B * float(rng.normal(1.0, 0.03)),
                   f_act=float(rng.uniform(0.15, 0.3)), creep=float(rng.uniform(0.02, 0.05)),
                   hyst=float(rng.uniform(0.07, 0.12)), r_m=R_M * float(rng.normal(1.0, 0.004)))

    def divider_volts(self, rng: np.random.Generator, f: np.ndarray, fs: float, vs: float) -> np.ndarray:
        """Divider output for true force ``f`` sampled at ``fs``."""
        # hysteresis: unloading reads high, in proportion to how far the force
        # has come down from its recent (leaky, tau 5 s) peak; 250 Hz is ample.
        step = max(1, int(fs // 250))
        fd = f[::step]
        a = math.exp(-step / fs / 5.0)
        peak = np.empty_like(fd)
        p = 0.0
        for i, x in enumerate(fd.tolist()):
            p = x if x > p else x + (p - x) * a
            peak[i] = p
        frac = np.clip((peak - fd) / (0.3 * np.maximum(peak, 1e-3)), 0.0, 1.0)
        frac = np.interp(np.arange(len(f)), np.arange(len(fd)) * step, frac)
        f_eff = f * (1 + self.hyst * frac)
        # soft saturation above ~12 N
        f_eff = np.where(f_eff < 12.0, f_eff, 12.0 + 12.0 * np.tanh((f_eff - 12.0) / 12.0))
        loaded = f > self.f_act
        starts = np.concatenate([[loaded[0]], loaded[1:] & ~loaded[:-1]])
        seg = np.cumsum(starts)
        idx = np.arange(len(f))
        seg_start = np.zeros(seg.max() + 1, dtype=np.int64)
        seg_start[seg[starts]] = idx[starts]
        t_load = np.where(loaded, (idx - seg_start[seg]) / fs, 0.0)
        creep = 1 + self.creep * np.log10(1 + t_load)
        repeat = rng.normal(1.0, 0.02, seg.max() + 1)[seg]
        act = np.clip((f - 0.6 * self.f_act) / (0.4 * self.f_act), 0.0, 1.0) ** 2
        g = self.k * np.power(np.maximum(f_eff, 1e-6), self.b) / 6000.0 * creep * repeat * act
        x = self.r_m * g
        return vs * x / (1 + x)


def nominal_newtons(v: np.ndarray, vs: float) -> np.ndarray:
    """The daemon's nominal curve: FSR 402 in a divider with 10 kOhm."""
    v = np.clip(v, 0.0, vs * (1 - 1e-6))
    g = v / (R_M * (vs - v))
    f = np.power(g * 6000.0, 1.0 / NOMINAL_B)
    return np.where(f < OPEN_BELOW_N, 0.0, f)
