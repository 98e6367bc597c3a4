"""Models of the two sensors' analogue front ends, shared by the simulator and
the daemon's nominal calibration so both sides agree on one set of numbers.

MyoWare 2.0 (Advanced Guide): RAW = 200 x EMG, first-order band 20.8-498.4 Hz,
centred on Vs/2; ENV = rectified RAW through a passive 3.6 Hz low-pass.
FSR 402 in a divider with a 10 kOhm resistor to ground (Interlink integration
guide): Vout = Vs * Rm / (Rm + R_fsr); conductance ~ a * F**b, with a and b fitted
to Adafruit's table (1 N -> 6 kOhm, 10 N -> 1 kOhm): b = log10(6).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import numpy.typing as npt

MYOWARE_GAIN = 200.0
MYOWARE_HP_HZ = 20.8
MYOWARE_LP_HZ = 498.4
MYOWARE_ENV_LP_HZ = 3.6

FSR_DIVIDER_OHM = 10_000.0
#: Conductance at 1 N (siemens) and the exponent of the power law G = a * F**b.
FSR_G_AT_1N = 1.0 / 6000.0
FSR_EXPONENT = math.log10(6.0)
#: Below this the FSR 402 is an open circuit (datasheet actuation force).
FSR_ACTUATION_N = 0.2
#: Upper end of the FSR 402's specified range; above it readings are not trusted.
FSR_RANGE_N = 20.0


def fsr_volts(force_n: npt.NDArray[np.float64], supply_v: float, sensitivity: float = 1.0,
              exponent: float = FSR_EXPONENT) -> npt.NDArray[np.float64]:
    """Divider output for a force; ``sensitivity`` scales the conductance (part-to-part
    spread and mounting: the reason each sensor is calibrated), 1.0 is the nominal part."""
    f = np.maximum(force_n, 0.0)
    g = np.where(f >= FSR_ACTUATION_N, sensitivity * FSR_G_AT_1N * np.power(f, exponent), 0.0)
    return supply_v * g * FSR_DIVIDER_OHM / (1.0 + g * FSR_DIVIDER_OHM)


def fsr_newtons(volts: npt.NDArray[np.float64], supply_v: float) -> npt.NDArray[np.float64]:
    """Inverse of :func:`fsr_volts`: the nominal calibration of an uncalibrated sensor."""
    v = np.clip(volts, 0.0, supply_v * 0.9999)
    g = v / (FSR_DIVIDER_OHM * (supply_v - v))
    f = np.power(g / FSR_G_AT_1N, 1.0 / FSR_EXPONENT)
    return np.where(f >= FSR_ACTUATION_N, f, 0.0)


def one_pole_coeff(cutoff_hz: float, rate_hz: float) -> float:
    """Smoothing factor of a first-order low-pass (impulse-invariant)."""
    return 1.0 - math.exp(-2.0 * math.pi * cutoff_hz / rate_hz)


@numba.njit(cache=True, nogil=True)
def myoware_stage(
    emg_skin_v: npt.NDArray[np.float64],
    state: npt.NDArray[np.float64],
    a_hp: float,
    a_lp: float,
    a_env: float,
    raw_out: npt.NDArray[np.float64],
    env_out: npt.NDArray[np.float64],
) -> None:
    """RAW (centred on 0 here) and ENV for a block; state = [hp_lp, lp, env]."""
    hp_lp, lp, env = state[0], state[1], state[2]
    for i in range(emg_skin_v.shape[0]):
        x = emg_skin_v[i] * 200.0
        hp_lp += a_hp * (x - hp_lp)
        lp += a_lp * ((x - hp_lp) - lp)
        raw_out[i] = lp
        env += a_env * (abs(lp) - env)
        env_out[i] = env
    state[0], state[1], state[2] = hp_lp, lp, env
