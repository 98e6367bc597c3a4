"""Recording conditions: which board, rate, mains and SNR class, and what noise
floor that implies at the skin.

WHY a skin-referred noise floor: the brief defines the SNR classes by how a
burst compares with the noise the detector actually sees ("low" = burst rms
only 2-4x the noise rms).  What the detector sees is the analog noise plus
the converter's own noise, referred back through the MyoWare gain of 200.
On an ESP32 the converter dominates (about 2 mV rms of conversion noise is
~10 uV at the skin, more than a well-prepared electrode's 2-3 uV), so every
event amplitude in this simulator is set relative to ``floor_rms`` below,
never in absolute microvolts.  The absolute size of a surface LTR is not
published (signal-facts.md section 1: NSF), so a relative definition is the
honest one.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import math

import numpy as np

#: Internal analog rendering rate (Hz).  Both output rates divide it, and at
#: 8 kHz the 1st-order 498 Hz low-pass of the MyoWare leaves real energy above
#: the 500 / 1000 Hz Nyquist limits, so aliasing is modelled, not assumed away.
FS_INT = 8000

#: MyoWare 2.0 RAW gain (MyoWare 2.0 Advanced Guide, via signal-facts.md s.2).
GAIN = 200.0

#: Input-referred analog noise, rms in SNR_BAND (20-450 Hz), volts.
#: normal: 2.5 uV - a well prepared Ag/AgCl site; De Luca 2010 (J Biomech
#: 43:1573) reports baseline noise of a few uV rms for good surface systems.
#: low: 7 uV - poor skin preparation / thick subcutaneous fat / dry gel.
AMP_NOISE_RMS = {"normal": 2.5e-6, "low": 7.0e-6}

#: Mains hum at the skin, fundamental amplitude range (volts, peak).  Residual
#: differential hum from electrode-impedance mismatch: a few uV on a battery
#: laptop with short twisted leads ("normal"), 10-25 uV with long leads or a
#: mains-powered laptop ("low" SNR adds stronger hum, per the brief).
HUM_FUND_RANGE = {"normal": (1.5e-6, 4.0e-6), "low": (8.0e-6, 22.0e-6)}


@dataclass(frozen=True)
class Board:
    """What a board's firmware does per sample (firmware/twitch_sensor)."""

    name: str
    vs_nominal: float       #: supply the daemon assumes (V)
    emg_full: int           #: declared full-scale of the EMG value (8191 / 4095)
    fsr_full: int           #: declared full-scale of the FSR value (4095)
    emg_conv: int           #: conversions of the RAW pin per sample
    emg_mult: int           #: what their sum is multiplied by
    fsr_conv: int
    fsr_mult: int


def board_for(bits: int, rate: int) -> Board:
    """The conversion plan of the firmware for a board and rate.

    Uno (10 bit, 5 V): RAW is the sum of 8 conversions at <= 1 kHz, 2 x the
    sum of 4 at 2 kHz (13 bits declared); FSR the sum of 4, or 2 x 2 (12
    bits).  ESP32 (12 bit, 3.3 V): one calibrated conversion each.
    """
    if bits == 10:
        if rate <= 1000:
            return Board("uno", 5.0, 8191, 4095, 8, 1, 4, 1)
        return Board("uno", 5.0, 8191, 4095, 4, 2, 2, 2)
    return Board("esp32", 3.3, 4095, 4095, 1, 1, 1, 1)


@dataclass(frozen=True)
class Condition:
    rate: int = 2000
    bits: int = 12
    mains: int = 50
    snr: str = "normal"

    @property
    def board(self) -> Board:
        return board_for(self.bits, self.rate)


#: AVR per-conversion noise, 10-bit LSB rms.  The ATmega328P datasheet quotes
#: +-2 LSB absolute accuracy; with the USB 5 V as reference, readings of a
#: steady input typically flicker by +-1 code, i.e. ~0.5 LSB rms.  This noise
#: is what makes summing 8 conversions gain resolution (AVR121 oversampling).
AVR_NOISE_LSB = 0.5

#: ESP32 ADC1 noise at 11 dB, in mV rms.  Espressif recommends multisampling
#: because single readings of a steady input scatter by several raw codes
#: (~0.8-0.9 mV each); 2 mV rms is a middle-of-the-road figure.
ESP32_NOISE_MV = 2.0


def adc_noise_volts(cond: Condition) -> float:
    """Rms noise the converter adds to the EMG value, in board volts."""
    b = cond.board
    if b.name == "uno":
        lsb = 5.0 / 1024.0
        n = b.emg_conv
        # noise of the mean of n conversions, plus residual quantisation of the
        # (dithered) mean, whose step is lsb / n.
        return math.sqrt((AVR_NOISE_LSB * lsb) ** 2 / n + (lsb / n) ** 2 / 12.0)
    # ESP32: conversion noise + raw code step (~0.85 mV) + the firmware's
    # 1 mV calibrated value + the output count step (0.806 mV).
    return 1e-3 * math.sqrt(ESP32_NOISE_MV ** 2 + (0.85 ** 2 + 1.0 ** 2 + 0.806 ** 2) / 12.0)


#: The band in which every rms of this simulator is measured (SNR, floors):
#: the EMG band a detector keeps (SENIAM 10-20 Hz HP, ~450-500 Hz LP;
#: signal-facts.md s.2), as a 4th-order zero-phase Butterworth.
SNR_BAND = (20.0, 450.0)


@lru_cache(maxsize=None)
def _band_fraction(rate: int) -> float:
    """Share of white noise power that the zero-phase SNR-band filter keeps."""
    from scipy import signal
    sos = signal.butter(4, SNR_BAND, "bandpass", fs=rate, output="sos")
    _, h = signal.sosfreqz(sos, worN=8192, fs=rate)
    return float(np.mean(np.abs(h) ** 4))


def floor_rms(cond: Condition) -> float:
    """Skin-referred rms, in SNR_BAND, of everything that is always there (no
    hum, no tonic activity): the reference for every event's SNR.  The
    converter's noise is white up to the output Nyquist, so only the part of
    it inside SNR_BAND counts."""
    frac = _band_fraction(cond.rate)
    return math.sqrt(AMP_NOISE_RMS[cond.snr] ** 2 + frac * (adc_noise_volts(cond) / GAIN) ** 2)
