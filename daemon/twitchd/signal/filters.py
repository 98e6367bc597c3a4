"""Biquad designs (RBJ audio-EQ cookbook) for the detector's causal filters.

Coefficients are (b0, b1, b2, a1, a2) with a0 normalised to 1: the layout the
kernel's direct-form-II-transposed sections expect.
"""

from __future__ import annotations

import math

IDENTITY = (1.0, 0.0, 0.0, 0.0, 0.0)


def highpass(cutoff_hz: float, rate_hz: float, q: float = 1 / math.sqrt(2)) -> tuple[float, ...]:
    """Second-order Butterworth high-pass (q = 1/sqrt 2)."""
    w0 = 2 * math.pi * cutoff_hz / rate_hz
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    a0 = 1 + alpha
    return ((1 + cos) / 2 / a0, -(1 + cos) / a0, (1 + cos) / 2 / a0, -2 * cos / a0, (1 - alpha) / a0)


def notch(f0_hz: float, q: float, rate_hz: float) -> tuple[float, ...]:
    """Second-order notch at f0 with bandwidth f0/q."""
    w0 = 2 * math.pi * f0_hz / rate_hz
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    a0 = 1 + alpha
    return (1 / a0, -2 * cos / a0, 1 / a0, -2 * cos / a0, (1 - alpha) / a0)


def bandpass(f0_hz: float, q: float, rate_hz: float) -> tuple[float, ...]:
    """Second-order band-pass with 0 dB at f0: a resonator that measures one tone."""
    w0 = 2 * math.pi * f0_hz / rate_hz
    alpha = math.sin(w0) / (2 * q)
    a0 = 1 + alpha
    return (alpha / a0, 0.0, -alpha / a0, -2 * math.cos(w0) / a0, (1 - alpha) / a0)


def lowpass(cutoff_hz: float, rate_hz: float, q: float = 1 / math.sqrt(2)) -> tuple[float, ...]:
    """Second-order Butterworth low-pass (q = 1/sqrt 2)."""
    w0 = 2 * math.pi * cutoff_hz / rate_hz
    alpha = math.sin(w0) / (2 * q)
    cos = math.cos(w0)
    a0 = 1 + alpha
    return ((1 - cos) / 2 / a0, (1 - cos) / a0, (1 - cos) / 2 / a0, -2 * cos / a0, (1 - alpha) / a0)
