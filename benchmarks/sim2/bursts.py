"""EMG events at the skin: LTRs, spontaneous twitches, contractions and tonic
guarding activity.  Each is built from individual motor-unit discharges, so
onsets and ends are exact (first potential's start, last potential's end).

LTR (local twitch response), from the literature in signal-facts.md:
- a spinal reflex burst of the taut band's units (Hong & Torigoe 1994), so
  the units of one trigger point are *shared* by its LTRs (``Site``) and
  start together as a reflex volley (first spike of each unit within a few
  tens of ms of the first);
- polyphasic potentials, more complex than fasciculations (Audette 2004):
  half of band units are polyphasic, vs 10-15 % of ordinary units;
- tens to a few hundred ms: log-normal duration, median 150 ms, 40-400 ms
  before a pause (the 150-500 ms clinic figure is unverified, Hong gives no
  ms), units firing 15-35 Hz decelerating as reflex discharges do, with
  occasional initial doublets; a quarter have an internal pause of 40-85 ms
  (one event);
- habituation: sEMG peak RMS falls with each successive LTR (Baraja-Vegas
  2020), ultrasound velocity too (Cruz-Montecinos 2021): each repeat at a
  site recruits fewer band units, lasts a little less and is smaller.

Spontaneous twitch: a fasciculation-like discharge of 1-3 units (Bashford
2020; single surface units 26-69 uV, McNeil 2005) firing 2-4 times at 15-40 Hz
(fasciculations are single discharges or short multiplets): short.

Contraction (voluntary / guarding / cramp): a Fuglevand 1993 pool driven by
a ramp-plateau-ramp excitation with 0.5-2 Hz fluctuation, 1.8-6 s long.

Tonic guarding: the lowest-threshold units of that same pool firing steadily
at 8-12 Hz (De Luca's "onion skin": first-recruited units fire slowest) for
tens of seconds: it raises the floor and is not an event.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import signal

from . import frontend
from .motor_units import Pool, Unit, make_unit, place, spike_train

MAX_GAP_S = 0.095   #: no silent gap inside one event may reach 100 ms


@dataclass(eq=False)
class Burst:
    """A skin-level event waveform; sample 0 is the onset."""

    kind: str
    wave: np.ndarray
    fs: float
    meta: dict = field(default_factory=dict)
    #: relative force envelope pushed back on the thumb (same fs), or None
    push: np.ndarray | None = None

    @property
    def duration(self) -> float:
        return len(self.wave) / self.fs

    def band_rms(self) -> float:
        """Rms over its span of the event as the MyoWare passes it, measured
        in the SNR band (conditions.SNR_BAND)."""
        pad = int(0.1 * self.fs)
        x = np.concatenate([np.zeros(pad), self.wave, np.zeros(pad)])
        y = frontend.snr_band(frontend.band(x, self.fs), self.fs)[pad: pad + len(self.wave)]
        return float(np.sqrt(np.mean(y * y)))

    def scale_to(self, target_rms: float) -> None:
        r = self.band_rms()
        if r > 0:
            self.wave *= target_rms / r


@dataclass
class Site:
    """A trigger point: its taut band's units and how often it has twitched."""

    units: list[Unit]
    irritability: float
    first_ratio: float
    habituation: float
    n_ltr: int = 0
    n_visits: int = 0


def _assemble(trains: list[tuple[np.ndarray, Unit]], fs: float,
              keep_gap: tuple[float, float] | None = None) -> tuple[np.ndarray, float]:
    """Render spike trains into one local waveform starting at the first
    potential; squeeze any silent gap >= 100 ms (except ``keep_gap``, an
    intended pause, given as (start, length)).  Returns (wave, t_onset)."""
    trains = [(np.asarray(t, float), u) for t, u in trains if len(t)]
    starts = np.concatenate([t for t, _ in trains])
    ends = np.concatenate([t + len(u.wave) / fs for t, u in trains])
    order = np.argsort(starts)
    s, e = starts[order], ends[order]
    run_end = np.maximum.accumulate(e)
    gaps = s[1:] - run_end[:-1]
    shift_at, shift_by = [], []
    for j in np.nonzero(gaps >= MAX_GAP_S)[0]:
        if keep_gap is not None and abs(s[j + 1] - (keep_gap[0] + keep_gap[1])) < 0.03:
            continue
        shift_at.append(s[j + 1])
        shift_by.append(gaps[j] - 0.06)
    if shift_at:
        new = []
        for t, u in trains:
            d = np.zeros_like(t)
            for a, b in zip(shift_at, shift_by):
                d += np.where(t >= a - 1e-9, b, 0.0)
            new.append((t - d, u))
        trains = new
        starts = np.concatenate([t for t, _ in trains])
        ends = np.concatenate([t + len(u.wave) / fs for t, u in trains])
    t0 = float(starts.min())
    n = int(np.ceil((ends.max() - t0) * fs)) + 1
    out = np.zeros(n)
    for t, u in trains:
        place(out, fs, t, u.wave, u.amp, t0=t0)
    nz = np.nonzero(out)[0]
    return out[: nz[-1] + 1], t0


def new_site(rng: np.random.Generator, fs: float, snr: str) -> Site:
    units = [make_unit(rng, fs, dur_median=8.0, p_poly=0.5, amp_sigma=0.6)
             for _ in range(int(rng.integers(10, 17)))]
    lo, hi = (6.0, 16.0) if snr == "normal" else (3.0, 4.2)
    return Site(units, irritability=rng.uniform(0.5, 1.5), first_ratio=rng.uniform(lo, hi),
                habituation=rng.uniform(0.72, 0.88))


def ltr(rng: np.random.Generator, fs: float, site: Site) -> Burst:
    """One LTR of ``site`` (its n-th: smaller, shorter, fewer units)."""
    k = site.n_ltr
    dur = float(np.clip(rng.lognormal(np.log(0.15), 0.5), 0.04, 0.40)) * 0.93 ** k
    dur = max(dur, 0.04)
    n_units = int(np.clip(round(rng.uniform(4, 12) * 0.9 ** k), 2, len(site.units)))
    chosen = rng.choice(len(site.units), n_units, replace=False)
    trains = []
    for j, ui in enumerate(chosen):
        s = 0.0 if j == 0 else min(rng.exponential(0.12 * dur), 0.6 * dur)
        e = s + rng.uniform(0.35, 1.0) * (dur - s)
        grid = np.arange(s, max(e, s + 0.002), 0.0005)
        r0 = rng.uniform(15.0, 35.0)
        rate = np.linspace(r0, r0 * rng.uniform(0.5, 0.8), len(grid))
        t = spike_train(grid, rate, rng, cv=rng.uniform(0.1, 0.25), phase0=0.0)
        if len(t) and rng.random() < 0.2:     # initial doublet
            t = np.sort(np.append(t, t[0] + rng.uniform(0.004, 0.010)))
        trains.append((t, site.units[ui]))
    pause = None
    if rng.random() < 0.25 and dur > 0.08:
        p0 = rng.uniform(0.3, 0.65) * dur
        pd = rng.uniform(0.04, 0.085)
        pd = min(pd, 0.48 - dur)
        if pd > 0.035:
            new = []
            for t, u in trains:
                t = t[(t < p0 - len(u.wave) / fs) | (t >= p0)]
                new.append((np.where(t >= p0, t + pd, t), u))
            trains = new
            pause = (p0, pd)
    if sum(len(t) for t, _ in trains) < 2 or _span(trains, fs) < 0.035:
        t, u = trains[0]
        trains[0] = (np.append(t, t.min() + rng.uniform(0.028, 0.045) if len(t) else 0.03), u)
    wave, _ = _assemble(trains, fs, keep_gap=pause)
    b = Burst("ltr", wave, fs, meta={"site_repeat": k, "units": n_units, "pause": pause is not None})
    if rng.random() < 0.5:   # the band pushes back on the thumb, sometimes
        b.meta["bump_n"] = rng.uniform(0.1, 0.8)
        b.meta["bump_delay"] = rng.uniform(0.010, 0.025)
        b.meta["bump_T"] = rng.uniform(0.025, 0.045)
    site.n_ltr += 1
    return b


def _span(trains: list[tuple[np.ndarray, Unit]], fs: float) -> float:
    ts = [t for t, _ in trains if len(t)]
    if not ts:
        return 0.0
    s = min(t.min() for t in ts)
    e = max(t.max() + len(u.wave) / fs for t, u in trains if len(t))
    return e - s


def twitch(rng: np.random.Generator, fs: float) -> Burst:
    """A spontaneous fasciculation-like twitch: 1-3 units, 2-4 discharges."""
    n_units = int(rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15]))
    trains = []
    for j in range(n_units):
        u = make_unit(rng, fs, dur_median=8.0, p_poly=0.3, amp_sigma=0.5)
        r = rng.uniform(15.0, 40.0)
        ns = int(rng.integers(2, 5))
        isi = (1.0 / r) * np.clip(1 + 0.15 * rng.standard_normal(ns - 1), 0.5, 1.5)
        t = (0.0 if j == 0 else rng.uniform(0.0, 0.03)) + np.concatenate([[0.0], np.cumsum(isi)])
        trains.append((t, u))
    wave, _ = _assemble(trains, fs)
    if len(wave) / fs < 0.032:   # keep the classes unambiguous (>= 30 ms)
        t, u = trains[0]
        trains[0] = (np.append(t, t[0] + 0.035), u)
        wave, _ = _assemble(trains, fs)
    return Burst("twitch", wave, fs, meta={"units": n_units})


def contraction(rng: np.random.Generator, fs: float, pool: Pool) -> Burst:
    """A voluntary / guarding contraction: ramp up, fluctuating plateau, ramp down."""
    while True:
        total = rng.uniform(1.8, 6.0)
        up, down = rng.uniform(0.2, 1.0), rng.uniform(0.2, 0.8)
        peak = rng.uniform(0.10, 0.40)
        dt = 0.001
        t = np.arange(0.0, total, dt)
        env = np.clip(np.minimum(t / up, (total - t) / down), 0.0, 1.0)
        env = env * env * (3 - 2 * env)                   # smooth ramps
        b, a = signal.butter(2, rng.uniform(0.5, 2.0), fs=1 / dt)
        fl = signal.lfilter(b, a, rng.standard_normal(len(t) + 2000))[2000:]
        fl = fl / (np.std(fl) + 1e-12)
        e = peak * env * (1 + rng.uniform(0.08, 0.2) * fl)
        e = np.clip(e, 0.0, 1.0)
        rates = pool.rates(e)
        trains = []
        for i, u in enumerate(pool.units):
            if rates[i].max() <= 0:
                break
            trains.append((spike_train(t, rates[i], rng, cv=0.2), u))
        if len(trains) == 0 or sum(len(x) for x, _ in trains) < 10:
            continue
        wave, t0 = _assemble(trains, fs)
        if len(wave) / fs >= 1.6:
            break
    push_t = np.arange(len(wave)) / fs + t0
    push = np.interp(push_t, t, e / peak)
    return Burst("contraction", wave, fs, meta={"peak_excitation": peak}, push=push)


def tonic(rng: np.random.Generator, fs: float, pool: Pool, length: float) -> np.ndarray:
    """Tonic guarding of ``length`` s: 2-6 of the lowest-threshold units firing
    8-12 Hz, each starting and stopping at its own time (no clean edges)."""
    n = int(rng.integers(2, 7))
    out = np.zeros(int(length * fs) + 1)
    dt = 0.001
    t = np.arange(0.0, length, dt)
    for i in range(n):
        a = rng.uniform(0.0, 0.25) * length
        b = length - rng.uniform(0.0, 0.25) * length
        base = rng.uniform(8.0, 12.0)
        mod = 1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * t + rng.uniform(0, 6.3))
        rate = np.where((t >= a) & (t < b), base * mod, 0.0)
        sp = spike_train(t, rate, rng, cv=rng.uniform(0.12, 0.25))
        u = pool.units[i]
        place(out, fs, sp, u.wave, u.amp)
    return out
