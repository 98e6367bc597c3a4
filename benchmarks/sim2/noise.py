"""Always-present interference at the skin: amplifier/electrode noise and hum.

Amplifier + electrode noise: white plus a 1/f-like electrode component
(Ag/AgCl electrode noise rises at low frequency; Huigen et al. 2002, Med Biol
Eng Comput 40:332).  It is generated band-filtered by the front end and
scaled so that its in-band rms is exactly the condition's analog floor.

Mains hum: differential residue of common-mode pickup through unequal
electrode impedances.  Fundamental 50/60 Hz wandering by a few mHz as grid
frequency does, odd harmonics (nonlinear loads; the 3rd the strongest
harmonic, then the 5th), amplitude drifting slowly (+-30 % over tens of
seconds as people and leads move) and stepping up by 20-80 % while the
practitioner touches the patient (the therapist's body couples more mains
into the patient - a real nuisance that a naive simulator leaves out).
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from . import frontend


def slow_walk(rng: np.random.Generator, n: int, fs: float, tau_s: float) -> np.ndarray:
    """Zero-mean, unit-variance Ornstein-Uhlenbeck process."""
    m = max(int(n * 20 / fs) + 2, 4)            # computed at 20 Hz, interpolated
    a = np.exp(-1.0 / (20 * tau_s))
    v = rng.standard_normal(m)
    v[1:] *= np.sqrt(1 - a * a)                 # stationary from the first sample
    x = signal.lfilter([1.0], [1.0, -a], v)
    return np.interp(np.arange(n) / fs, np.arange(m) / 20.0, x)


def amplifier_noise(rng: np.random.Generator, n: int, fs: float, rms: float) -> np.ndarray:
    """Analog noise whose rms in the SNR band is ``rms`` (skin volts).
    Returned already filtered by the front end."""
    white = rng.standard_normal(n)
    pink = signal.lfilter([1.0], [1.0, -0.995], rng.standard_normal(n)) * 0.1
    y = frontend.band(white + pink, fs)
    m = min(n, int(20 * fs))
    return y * (rms / np.std(frontend.snr_band(y[:m], fs)[int(0.2 * fs):]))


def hum(rng: np.random.Generator, n: int, fs: float, mains: int, fund_amp: float,
        touch: np.ndarray) -> np.ndarray:
    """Mains interference at the skin (unfiltered).  ``touch`` in [0, 1] per
    sample: 1 while the thumb is on the patient."""
    f = mains + 0.01 * slow_walk(rng, n, fs, 30.0)
    phase = 2 * np.pi * np.cumsum(f) / fs
    rel = {1: 1.0, 2: rng.uniform(0.05, 0.15), 3: rng.uniform(0.4, 0.9),
           5: rng.uniform(0.15, 0.35), 7: rng.uniform(0.05, 0.15), 9: rng.uniform(0.03, 0.08)}
    out = np.zeros(n)
    for h, r in rel.items():
        out += r * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    gain = fund_amp * np.exp(0.3 * slow_walk(rng, n, fs, 15.0))
    gain *= 1.0 + rng.uniform(0.2, 0.8) * touch
    return out * gain
