"""The FSR's force curve: ADC counts to newtons, nominal or fitted to known weights.

An FSR in a divider reads ``x = c / (full - c)`` = conductance x divider
resistance, whatever the supply voltage. Interlink's integration guide gives
conductance as close to a power law in force over the sensor's range, so the
curve is ``x - x0 = k * F**b``: ``k`` absorbs the part-to-part spread (+-6 %),
the divider resistor's tolerance and the mounting; ``x0`` is the reading with
nothing on the sensor (preload from a tight mount, or leakage); ``b`` is the
slope in log-log. Two weights fix ``k`` and ``b``; more give residuals that
show how far the power law holds on this sensor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twitchd.errors import ConfigError
from twitchd.sim import sensors

#: One ADC count may change the force by at most this fraction; beyond that the
#: divider is so close to its rail that readings are too coarse to trust
#: (10-bit: ~55 N with the nominal curve). The sensor is then saturated.
RESOLUTION_LIMIT = 0.05
#: Without heavier weights as evidence, the curve is trusted only up to the
#: FSR 402's rated range (datasheet 0.2-20 N); above it the sensor flattens out.
RATED_RANGE_N = sensors.FSR_RANGE_N
#: A weight is "explained" by the fit when it reads within this fraction.
FIT_TOLERANCE = 0.10
#: A fitted exponent outside this range is not an FSR's curve (the datasheet's
#: log-log slope is 0.7-1.1): wrong weights, wrong order, or a loose sensor.
EXPONENT_RANGE = (0.3, 2.0)


@dataclass(frozen=True, slots=True)
class ForceCurve:
    """``F = ((x - x0) / k) ** (1 / b)`` with ``x = c / (full - c)``; zero below the actuation force."""

    k: float
    exponent: float
    zero_ratio: float = 0.0
    actuation_n: float = sensors.FSR_ACTUATION_N

    @classmethod
    def nominal(cls) -> ForceCurve:
        """The FSR 402 datasheet curve with a 10 kOhm divider (see twitchd.sim.sensors)."""
        return cls(sensors.FSR_G_AT_1N * sensors.FSR_DIVIDER_OHM, sensors.FSR_EXPONENT)

    def newtons(self, counts: npt.ArrayLike, full_scale: int) -> npt.NDArray[np.float64]:
        net = np.maximum(divider_ratio(counts, full_scale) - self.zero_ratio, 0.0)
        f = np.power(net / self.k, 1.0 / self.exponent)
        return np.where(f >= self.actuation_n, f, 0.0)

    def counts_for(self, force_n: float, full_scale: int) -> float:
        """The (fractional) count this curve reads at ``force_n``."""
        x = self.zero_ratio + self.k * max(force_n, 0.0) ** self.exponent
        return full_scale * x / (1.0 + x)

    def resolution_limit(self, full_scale: int) -> tuple[int, float]:
        """The first count (and its force) from which one count is worth more than RESOLUTION_LIMIT."""
        counts = np.arange(1, full_scale)
        force = self.newtons(counts, full_scale)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.diff(force) / force[:-1]
        coarse = np.flatnonzero((force[:-1] > 1.0) & (step > RESOLUTION_LIMIT))
        at = int(coarse[0]) if coarse.size else len(counts) - 1
        return int(counts[at]), float(force[at])


def divider_ratio(counts: npt.ArrayLike, full_scale: int) -> npt.NDArray[np.float64]:
    """``c / (full - c)``: the FSR's conductance times the divider resistance, whatever the supply."""
    c = np.clip(np.asarray(counts, dtype=np.float64), 0.0, full_scale - 0.5)
    return c / (full_scale - c)


@dataclass(frozen=True, slots=True)
class CalibrationFit:
    """A fitted curve and how well it explains the weights it came from."""

    curve: ForceCurve
    forces_n: tuple[float, ...]
    fitted_n: tuple[float, ...]
    saturation_n: float

    @property
    def errors_pct(self) -> tuple[float, ...]:
        return tuple(100.0 * (f - t) / t for t, f in zip(self.forces_n, self.fitted_n, strict=True))

    @property
    def max_error_pct(self) -> float:
        return max(abs(e) for e in self.errors_pct)


def fit_curve(zero_counts: float, points: Sequence[tuple[float, float]], full_scale: int) -> CalibrationFit:
    """Fit ``x - x0 = k F**b`` in log-log to (force N, mean counts) pairs; ConfigError if they cannot be an FSR."""
    if len(points) < 2:
        raise ConfigError("calibration needs at least two known weights")
    forces = np.array([f for f, _ in points], dtype=np.float64)
    if np.any(forces <= sensors.FSR_ACTUATION_N) or len(set(forces.tolist())) < 2:
        raise ConfigError(f"calibration weights must differ and each be above {sensors.FSR_ACTUATION_N} N")
    x0 = float(divider_ratio(zero_counts, full_scale))
    net = divider_ratio([c for _, c in points], full_scale) - x0
    if np.any(net <= 0):
        raise ConfigError("a weight read no more than the empty sensor: is it resting on the FSR's active area?")
    slope, intercept = np.polyfit(np.log(forces), np.log(net), 1)
    lo, hi = EXPONENT_RANGE
    if not lo <= slope <= hi:
        raise ConfigError(f"readings rise with weight as force**{slope:.2f}, not like an FSR (**{lo}-{hi}): "
                          "check the weights were entered in the order they were placed, and the sensor's mount")
    curve = ForceCurve(math.exp(intercept), float(slope), x0)
    fitted = curve.newtons([c for _, c in points], full_scale)
    good = [f for f, got in zip(forces, fitted, strict=True) if abs(got - f) <= FIT_TOLERANCE * f]
    _, sat_n = saturation(curve, full_scale, max(good, default=0.0))
    return CalibrationFit(curve, tuple(forces.tolist()), tuple(float(f) for f in fitted), sat_n)


def saturation(curve: ForceCurve, full_scale: int, proven_n: float = 0.0) -> tuple[int, float]:
    """Where readings stop being forces: the ADC's resolution limit, or the rated
    range unless heavier weights (``proven_n``) showed the curve still holds."""
    res_count, res_n = curve.resolution_limit(full_scale)
    trusted = max(RATED_RANGE_N, proven_n)
    if trusted >= res_n:
        return res_count, res_n
    return int(math.ceil(curve.counts_for(trusted, full_scale))), trusted
