"""The fitted FSR curve and the channel warnings, on counts with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from twitchd.errors import ConfigError
from twitchd.protocol.frames import ChannelInfo, Hello
from twitchd.signal.calibration import ChannelMap
from twitchd.signal.force_curve import ForceCurve, fit_curve
from twitchd.signal.health import ChannelHealth

FULL = 4095


def test_a_preloaded_sensor_with_its_own_slope_is_recovered_from_three_weights() -> None:
    true = ForceCurve(k=2.2, exponent=0.9, zero_ratio=0.05)
    points = [(f, true.counts_for(f, FULL)) for f in (1.0, 5.0, 15.0)]
    fit = fit_curve(true.counts_for(0.0, FULL), points, FULL)
    assert fit.curve.k == pytest.approx(2.2, rel=1e-3) and fit.curve.exponent == pytest.approx(0.9, rel=1e-3)
    assert fit.max_error_pct < 0.1
    assert fit.curve.newtons([true.counts_for(8.0, FULL)], FULL)[0] == pytest.approx(8.0, rel=1e-3)


def test_readings_that_fall_as_weight_rises_are_refused_with_a_reason() -> None:
    with pytest.raises(ConfigError, match="order"):
        fit_curve(0.0, [(1.0, 3000.0), (5.0, 2900.0)], FULL)
    with pytest.raises(ConfigError, match="active area"):
        fit_curve(500.0, [(1.0, 400.0), (5.0, 2900.0)], FULL)


def test_saturation_is_the_rated_range_unless_heavier_weights_prove_the_curve() -> None:
    nominal = ForceCurve.nominal()
    light = fit_curve(0.0, [(f, nominal.counts_for(f, FULL)) for f in (1.0, 10.0)], FULL)
    heavy = fit_curve(0.0, [(f, nominal.counts_for(f, FULL)) for f in (1.0, 10.0, 40.0)], FULL)
    assert light.saturation_n == pytest.approx(20.0) and heavy.saturation_n == pytest.approx(40.0)
    ten_bit = fit_curve(0.0, [(f, nominal.counts_for(f, 1023)) for f in (1.0, 10.0, 100.0)], 1023)
    assert ten_bit.saturation_n < 60.0, "a 10-bit divider near its rail cannot resolve 100 N"


def cmap() -> ChannelMap:
    hello = Hello(0, "1.0.0", "test", "TW-1", 1000, 10,
                  tuple(ChannelInfo(n, 12, 3300) for n in ("raw", "env", "fsr")))
    return ChannelMap.from_hello(hello)


def run(health: ChannelHealth, raw: np.ndarray, fsr: np.ndarray) -> list[str]:
    counts = np.stack([raw, np.zeros_like(raw), fsr], axis=1).astype(np.uint16)
    for block in np.array_split(counts, len(counts) // 10):
        health.update(block)
    return sorted(w["code"] for w in health.to_json())


def test_an_unplugged_emg_cable_reads_flat_and_a_loose_electrode_clips() -> None:
    rng = np.random.default_rng(1)
    healthy = 2048 + rng.normal(0, 6, 2000).round()
    health = ChannelHealth(1000, cmap(), FULL)
    assert run(health, healthy, np.zeros(2000)) == []
    assert run(health, np.full(2000, 2048), np.zeros(2000)) == ["emg_flat"]
    railing = np.where(rng.random(2000) < 0.05, FULL, healthy)
    assert run(health, railing, np.zeros(2000)) == ["emg_clipping"]
    assert run(health, healthy, np.zeros(2000)) == []
    # An Uno sends RAW as the sum of eight 10-bit conversions, declared 13 bits:
    # its rail is 8 x 1023 of 8191 (and 4 x 1023 of 4095 for a four-conversion build).
    assert run(health, np.where(rng.random(2000) < 0.05, 4 * 1023, healthy), np.zeros(2000)) == ["emg_clipping"]
    uno = ChannelHealth(1000, cmap(), 8191)
    uno_healthy = 2 * healthy
    assert run(uno, uno_healthy, np.zeros(2000)) == []
    assert run(uno, np.where(rng.random(2000) < 0.05, 8 * 1023, uno_healthy), np.zeros(2000)) == ["emg_clipping"]


def test_a_channel_reads_the_same_newtons_from_its_table_as_from_its_curve() -> None:
    """The live path looks each count up in a table made once per curve; every
    count of a 10-bit, a summed 12-bit and a 16-bit channel must read as the curve says."""
    fitted = ForceCurve(k=0.9, exponent=0.8, zero_ratio=0.02)
    for curve in (ForceCurve.nominal(), fitted):
        for bits in (10, 12, 16):
            full = (1 << bits) - 1
            cmap = ChannelMap(emg=0, force=1, env=None, emg_scale=1.0, force_supply_v=3.3,
                              force_full_scale=full, env_scale=1.0, force_curve=curve)
            counts = np.zeros((1 << 16, 2), dtype=np.uint16)
            counts[:, 1] = np.arange(1 << 16)
            assert np.array_equal(cmap.force_newtons(counts), curve.newtons(counts[:, 1], full))
