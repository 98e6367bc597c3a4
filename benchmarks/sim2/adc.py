"""The boards' converters, as the firmware drives them.

AVR (Uno / Nano, 10 bit, reference = the 5 V USB supply, which also powers
the MyoWare and the FSR divider, so both channels are ratiometric): each
conversion has its own noise (``AVR_NOISE_LSB``), a smooth integral
non-linearity of up to ~1 LSB and a fixed per-code differential
non-linearity of +-0.2 LSB (datasheet: +-2 LSB absolute accuracy at a 200 kHz
ADC clock; the firmware runs 250 kHz).  Conversions are ~55 us apart (13 ADC
clocks at 250 kHz plus the ISR, firmware/twitch_sensor/board_avr.h), so the
8 RAW conversions of a 1 kHz sample span ~0.4 ms of signal: the sum is
also a short moving average, which the simulator renders by sampling the
analog signal at each conversion's instant.

ESP32 (ADC1 at 11 dB, eFuse-calibrated to mV, then scaled by the firmware
to 0..4095 counts of 3.3 V): noise ``ESP32_NOISE_MV`` rms, the calibrated
transfer accurate only in 0.15-2.45 V (ESP-IDF), compressing above (the
calibration under-reads by ~45 mV at 3.0 V) and saturating near 3.1 V,
collapsing below ~0.1 V; a residual gain error of ~1 % and offset of ~8 mV;
the calibrated value is whole mV and the firmware's counts = mV*4095/3300
truncates, so some output codes never occur.  Rare single-sample outliers
(radio activity; widely reported on ESP32 ADC1) at ~3 per minute.
Sample instants jitter by |N(0, 15 us)| because sampling runs in the
esp_timer task, not an ISR.
"""
from __future__ import annotations

import numpy as np

from .conditions import AVR_NOISE_LSB, ESP32_NOISE_MV


class AvrAdc:
    """One ATmega328P ADC with its fixed non-linearity."""

    def __init__(self, rng: np.random.Generator) -> None:
        k = np.arange(1, 1024, dtype=float)
        inl = rng.uniform(-0.8, 0.8) * np.sin(np.pi * k / 1024) + rng.uniform(-0.4, 0.4) * (k / 1024 - 0.5)
        dnl = rng.uniform(-0.2, 0.2, len(k))
        thr = k + inl + dnl
        self.thr = np.maximum.accumulate(thr)

    def convert(self, rng: np.random.Generator, ratio: np.ndarray) -> np.ndarray:
        """Codes for inputs given as V / Vref."""
        x = ratio * 1024.0 + AVR_NOISE_LSB * rng.standard_normal(ratio.shape)
        return np.searchsorted(self.thr, x, side="right").astype(np.int64)


class Esp32Adc:
    """ADC1 at 11 dB behind esp_adc_cal, as the firmware scales it."""

    SPIKES_PER_S = 0.05

    def __init__(self, rng: np.random.Generator) -> None:
        self.gain = float(rng.normal(1.0, 0.01))
        self.offset = float(rng.normal(0.0, 0.008))
        self.bow = float(rng.uniform(-0.012, 0.012))

    def convert(self, rng: np.random.Generator, v: np.ndarray, rate: float) -> np.ndarray:
        """Firmware counts (0..4095 of 3.3 V) for pin voltages ``v``."""
        r = self.offset + self.gain * v + self.bow * np.sin(np.pi * np.clip(v / 3.1, 0, 1))
        hi = np.clip(v - 2.45, 0.0, None)
        r = r - 0.10 * hi * hi / 0.65
        low = np.clip((v - 0.06) / 0.09, 0.0, 1.0)
        r = np.where(v < 0.15, 0.15 * low ** 1.5 + (r - 0.15) * (v >= 0.15), r)
        r = r + 1e-3 * ESP32_NOISE_MV * rng.standard_normal(v.shape)
        n_sp = rng.poisson(self.SPIKES_PER_S * v.size / rate)
        if n_sp:
            i = rng.integers(0, v.size, n_sp)
            r[i] += rng.choice([-1.0, 1.0], n_sp) * rng.uniform(0.005, 0.030, n_sp)
        raw_step = 0.00085
        r = np.round(r / raw_step) * raw_step             # raw 12-bit code
        r = np.clip(r, 0.0, 3.11)                         # raw 4095 at ~3.1 V
        mv = np.round(r * 1000.0).astype(np.int64)        # esp_adc_cal: whole mV
        counts = mv * 4095 // 3300
        return np.clip(counts, 0, 4095)
