"""The MyoWare 2.0 RAW front end: gain 200, 1st-order band 20.8-498.4 Hz,
centred on Vs/2 and limited by its rail-to-rail output stage.

Numbers: MyoWare 2.0 Advanced Guide (signal-facts.md section 2).  Both poles
are first order, so the 20.8 Hz high-pass passes about a quarter of a 5 Hz
motion artifact and the 498 Hz low-pass is only a weak anti-alias filter;
both facts matter for a detector and are rendered, not idealised.
"""
from __future__ import annotations

import numpy as np
from scipy import signal

from .conditions import GAIN, SNR_BAND

HP_HZ = 20.8
LP_HZ = 498.4
RAIL_MARGIN_V = 0.02   #: output swing limit from each rail


def band_coeffs(fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Causal 1st-order HP cascaded with 1st-order LP (bilinear)."""
    bh, ah = signal.butter(1, HP_HZ, "highpass", fs=fs)
    bl, al = signal.butter(1, LP_HZ, "lowpass", fs=fs)
    return np.convolve(bh, bl), np.convolve(ah, al)


def band(x: np.ndarray, fs: float) -> np.ndarray:
    """The front end's filtering of a skin-level signal (no gain)."""
    b, a = band_coeffs(fs)
    return signal.lfilter(b, a, x)


def snr_band(x: np.ndarray, fs: float) -> np.ndarray:
    """Zero-phase 4th-order 20-450 Hz band-pass: the yardstick for all rms
    figures (conditions.SNR_BAND), not part of the hardware."""
    sos = signal.butter(4, SNR_BAND, "bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x)


def raw_pin(skin_filtered: np.ndarray, vs: float) -> np.ndarray:
    """RAW pin voltage from the (already band-filtered) skin signal."""
    v = vs / 2.0 + GAIN * skin_filtered
    return np.clip(v, RAIL_MARGIN_V, vs - RAIL_MARGIN_V)
