"""The detector, told as a practitioner's session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.signal.scoring import f1, match
from twitchd.errors import ConfigError
from twitchd.signal.detector import Detector, detect_offline
from twitchd.signal.matching import match_onsets
from twitchd.signal.params import DetectorParams
from twitchd.sim import sensors
from twitchd.sim.session import AVR_SUMS, SessionSimulator, SimConfig

RATE = 2000


def simulated(seed: int, seconds: float, adc_bits: int = 12, **cfg: object) -> tuple[np.ndarray, np.ndarray, SessionSimulator]:
    """A session on the board with that ADC, scaled to volts and newtons as the daemon does."""
    sim = SessionSimulator(SimConfig.board(adc_bits, seed=seed, **cfg))
    counts = sim.read(int(seconds * sim.config.rate_hz))
    lsb = sim.config.volts_per_count
    emg = counts[:, 0] * lsb[0]
    force = sensors.fsr_newtons(counts[:, 2] * lsb[2], sim.config.supply_v)
    return emg, force, sim


@pytest.mark.parametrize("seed", [101, 202, 303])
def test_presses_on_unseen_sessions_flag_their_ltrs(seed: int) -> None:
    emg, force, sim = simulated(seed, 180.0)
    events = detect_offline(emg, force, RATE)
    truth = sim.truth_until(179.0)
    tp, fp, fn = match(truth, events, "ltr")
    assert tp >= 10
    assert f1(tp, fp, fn) >= 0.9, (tp, fp, fn)


@pytest.mark.parametrize("adc_bits", [12, 10])
def test_six_ltrs_at_one_trigger_point_are_all_flagged_though_each_is_smaller_than_the_last(adc_bits: int) -> None:
    """LTRs habituate: here each repeat at one site is 0.8x the last, so the sixth is
    a third of the first. A threshold that learnt from the first, large burst would
    miss the later ones; the floor learns only from quiet muscle."""
    found, true = np.zeros(6), np.zeros(6)
    for seed in (41, 42):
        emg, force, sim = simulated(seed, 240.0, adc_bits, ltrs_per_press=(6, 6))
        flagged = [e.onset_s for e in detect_offline(emg, force, RATE) if e.kind == "ltr"]
        ltrs = [t for t in sim.truth_until(239.0) if t.kind == "ltr" and t.onset_s > 0.5]
        hit = {i for i, _ in match_onsets([t.onset_s for t in ltrs], flagged, 0.1)}
        for i, t in enumerate(ltrs):
            true[int(t.detail["repeat"])] += 1
            found[int(t.detail["repeat"])] += i in hit
    assert true.min() >= 10, true
    recall = found / true
    # Issue 17 costs the Uno some of the smallest, sixth LTRs: the background that
    # lets tonic firing raise the threshold, and force bumps no longer counted as
    # LTRs (they are "felt"). Measured 0.67 on these seeds (0.94 before); the
    # 12-bit board still finds every one.
    wanted = 0.9 if adc_bits == 12 else 0.6
    assert recall[4:].min() >= wanted and recall[4:].min() >= recall[0] - 0.4, recall


def test_a_twitch_without_pressure_is_not_an_ltr() -> None:
    rng = np.random.default_rng(0)
    emg = 1.65 + rng.normal(0, 0.0005, 4 * RATE)
    t = np.arange(40) / RATE
    emg[2 * RATE:2 * RATE + 40] += 0.02 * np.sin(2 * np.pi * 150 * t) * np.hanning(40)
    kinds = [e.kind for e in detect_offline(emg, np.zeros_like(emg), RATE)]
    assert kinds == ["twitch"]


def test_the_same_burst_under_a_20_newton_press_is_an_ltr_and_the_press_counts_it() -> None:
    rng = np.random.default_rng(0)
    emg = 1.65 + rng.normal(0, 0.0005, 6 * RATE)
    t = np.arange(200) / RATE
    emg[3 * RATE:3 * RATE + 200] += 0.02 * np.sin(2 * np.pi * 150 * t) * np.hanning(200)
    force = np.zeros_like(emg)
    force[1 * RATE:5 * RATE] = 20.0
    events = detect_offline(emg, force, RATE)
    assert [e.kind for e in events] == ["ltr", "press"]
    assert events[1].extra["ltr_count"] == 1 and events[1].extra["peak_force_n"] == pytest.approx(20.0, abs=0.1)


def test_a_huge_first_ltr_does_not_blind_the_detector_to_the_five_small_ones_after_it() -> None:
    """The first LTR at a site is ten times the rest, which then shrink 0.8x each,
    0.8 s apart. A floor or quiet maximum that learnt from the first burst would
    still be high for the next two (a mutated kernel flagged them as artifacts)."""
    rng = np.random.default_rng(0)
    emg = 1.65 + rng.normal(0, 0.0005, 10 * RATE)
    t = np.arange(200) / RATE
    onsets = [3.0 + 0.8 * k for k in range(6)]
    for at, volts in zip(onsets, [0.5] + [0.05 * 0.8 ** k for k in range(5)], strict=True):
        emg[int(at * RATE):int(at * RATE) + 200] += volts * np.sin(2 * np.pi * 150 * t) * np.hanning(200)
    force = np.zeros_like(emg)
    force[1 * RATE:9 * RATE] = 15.0
    events = detect_offline(emg, force, RATE)
    assert [e.kind for e in events] == ["ltr"] * 6 + ["press"]
    assert [e.onset_s for e in events[:6]] == pytest.approx(onsets, abs=0.02)
    assert events[6].extra["ltr_count"] == 6


def test_a_twitch_a_third_of_a_second_after_a_quick_lift_is_a_twitch_not_an_ltr() -> None:
    """The lift is a fast fall of force but not a snap: only the 150 ms after it
    count as the press's reflex, not the 300 ms a snap gets."""
    rng = np.random.default_rng(0)
    emg = 1.65 + rng.normal(0, 0.0005, 6 * RATE)
    lift_start, lift = int(3.0 * RATE), int(0.3 * RATE)
    force = np.zeros_like(emg)
    force[1 * RATE:lift_start] = 12.0
    force[lift_start:lift_start + lift] = 12.0 * (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, lift)))  # ~60 N/s
    at = lift_start + lift + int(0.2 * RATE)  # the force fell below 1 N ~0.08 s before the end of the lift
    t = np.arange(40) / RATE
    emg[at:at + 40] += 0.02 * np.sin(2 * np.pi * 150 * t) * np.hanning(40)
    assert [e.kind for e in detect_offline(emg, force, RATE)] == ["press", "twitch"]


def test_a_three_second_burst_is_a_contraction_not_a_twitch() -> None:
    rng = np.random.default_rng(1)
    emg = 1.65 + rng.normal(0, 0.0005, 6 * RATE)
    emg[RATE:4 * RATE] += rng.normal(0, 0.02, 3 * RATE)
    assert [e.kind for e in detect_offline(emg, np.zeros_like(emg), RATE)] == ["contraction"]


def test_results_do_not_depend_on_block_size() -> None:
    emg, force, _ = simulated(7, 20.0)
    whole = detect_offline(emg, force, RATE, block=len(emg))
    det, one_by_one = Detector(RATE), []
    for i in range(len(emg)):
        found, _ = det.process(emg[i:i + 1], force[i:i + 1])
        one_by_one += [e for e in found if e.kind != "onset"]
    odd = detect_offline(emg, force, RATE, block=777)
    assert whole == one_by_one == odd
    assert any(e.kind == "ltr" for e in whole)


def test_decisions_come_soon_after_the_burst_ends() -> None:
    emg, force, _ = simulated(8, 60.0)
    ltrs = [e for e in detect_offline(emg, force, RATE) if e.kind == "ltr"]
    assert ltrs and all(0 < e.decided_s - e.end_s <= 0.1 for e in ltrs)


def test_parameters_are_validated_with_a_clear_message() -> None:
    with pytest.raises(ConfigError, match="onset_ratio"):
        DetectorParams(onset_ratio=0.5)
    with pytest.raises(ConfigError, match="unknown"):
        DetectorParams().updated(nonsense=1.0)
    assert all(p["reason"] for p in DetectorParams.describe())


def test_a_provisional_flag_comes_within_50_ms_of_the_true_onset() -> None:
    emg, force, sim = simulated(9, 120.0)
    flags = [e for e in detect_offline(emg, force, RATE, provisional=True) if e.kind == "onset"]
    delays = []
    for t in sim.truth_until(119.0):
        if t.kind == "ltr":
            near = [f for f in flags if -0.02 <= f.onset_s - t.onset_s <= 0.1]
            assert near, f"no provisional flag for the LTR at {t.onset_s:.2f} s"
            assert near[0].extra["likely_ltr"] == 1.0
            delays.append(near[0].decided_s - t.onset_s)
    assert len(delays) >= 8 and float(np.median(delays)) <= 0.05


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_the_detector_finds_the_mains_frequency_by_itself(mains: float) -> None:
    emg, force, _ = simulated(12, 10.0, mains_hz=mains)
    det = Detector(RATE)
    det.process(emg, force)
    assert det.mains_hz == mains
    with pytest.raises(ConfigError, match="mains_hz"):
        DetectorParams(mains_hz=55.0)


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_hum_near_one_adc_step_does_not_make_the_notch_flap_between_50_and_60_hz(mains: float) -> None:
    """Each switch of notch puts a step into the energy: at 1 kHz with 50 Hz hum of
    about one 12-bit step, a 0.5 s hum measurement switched and flagged twitches
    that were not there."""
    emg, force, _ = simulated(23, 240.0, rate_hz=1000, mains_hz=mains)
    det = Detector(1000)
    seen = set()
    for start in range(0, len(emg), 100):
        det.process(emg[start:start + 100], force[start:start + 100])
        if start >= 10_000:
            seen.add(det.mains_hz)
    assert seen == {mains}


def test_the_compiled_kernel_matches_the_same_code_run_by_plain_python() -> None:
    """numba's typing (integer vs float state, NaN handling) must not change a decision."""
    from twitchd.signal import kernel
    from twitchd.signal.params import kernel_params

    emg, force, _ = simulated(13, 8.0)
    p = kernel_params(DetectorParams(), RATE)
    outs = []
    for fn in (kernel.detect_block, kernel.detect_block.py_func):
        state, filtered = kernel.new_state(), np.empty_like(emg)
        rows = np.empty((kernel.max_events(len(emg), RATE), kernel.E_COLS))
        count = fn(emg, force, p, state, filtered, rows)
        outs.append((rows[:count], filtered, state))
    (rows_c, filt_c, state_c), (rows_p, filt_p, state_p) = outs
    assert len(rows_c) >= 3 and np.array_equal(rows_c[:, :4], rows_p[:, :4], equal_nan=True)
    np.testing.assert_allclose(rows_c, rows_p, rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(filt_c, filt_p, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(state_c, state_p, rtol=1e-9, atol=1e-300)


def test_an_electrode_sitting_on_one_adc_code_raises_no_flags_when_a_code_flips() -> None:
    """A quiet channel on a 10-bit ADC: without a floor bound, every flip is a 'burst'."""
    lsb, rate = 5.0 / 1023, 1000
    counts = np.full(60 * rate, 511.0)
    counts[np.random.default_rng(1).choice(len(counts), 40, replace=False)] += 1
    emg = counts * lsb
    assert detect_offline(emg, np.zeros_like(emg), rate) == []
    unbounded, _ = Detector(rate).process(emg, np.zeros_like(emg))
    assert len([e for e in unbounded if e.kind != "onset"]) >= 10  # what the bound prevents


def hold(seconds: float = 6.0, target: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """A 10 N press with 2 Hz sway, and an EMG channel that shows nothing (10-bit, below one LSB)."""
    rng = np.random.default_rng(3)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    envelope = np.clip(np.minimum(t / 0.5, (seconds - 0.3 - t) / 0.5), 0.0, 1.0)  # lands, holds, lifts
    force = target * envelope + 0.15 * np.sin(2 * np.pi * 2.0 * t) * (envelope == 1.0)
    force += rng.normal(0, 0.02, n)
    emg = np.round((2.5 + rng.normal(0, 0.0015, n)) / 0.0049) * 0.0049
    return emg, force


def test_a_bump_the_thumb_feels_with_no_emg_is_reported_as_felt_never_as_an_ltr() -> None:
    """Tremor and drift of a held thumb fit bumps too (the second simulator: 345
    in 96 minutes of holds with no event), so force alone is shown apart."""
    emg, force = hold()
    start, width = int(3.0 * RATE), int(0.15 * RATE)
    force[start:start + width] += 0.3 * np.sin(np.linspace(0, np.pi, width)) ** 2
    events = detect_offline(emg, force, RATE)
    assert [e.kind for e in events] == ["felt", "press"], events
    felt = events[0]
    assert felt.extra["force_bump_n"] == pytest.approx(0.3, rel=0.25) and felt.extra["emg_stir"] < 1.5
    assert felt.onset_s == pytest.approx(3.0 - 0.03, abs=0.05) and felt.peak_emg_v is None
    assert events[1].extra["ltr_count"] == 0


def test_a_bump_with_a_faint_emg_stir_is_felt_and_says_how_far_the_emg_stirred() -> None:
    """The band may push back on the thumb while the EMG stirs too little for a
    burst. That is still felt, not an LTR (bumps do not earn one: docs/detector.md),
    but the stir is reported, and a clinic that wants such bumps counted can set
    bump_emg_ratio."""
    rng = np.random.default_rng(5)
    n = 6 * RATE
    t = np.arange(n) / RATE
    envelope = np.clip(np.minimum(t / 0.5, (6.0 - 0.3 - t) / 0.5), 0.0, 1.0)
    force = 10.0 * envelope + rng.normal(0, 0.02, n)
    emg = 1.65 + rng.normal(0, 0.0005, n)
    start, width = int(3.0 * RATE), int(0.15 * RATE)
    force[start:start + width] += 0.3 * np.sin(np.linspace(0, np.pi, width)) ** 2
    k = np.arange(30) / RATE
    emg[start - 40:start - 10] += 0.002 * np.sin(2 * np.pi * 150 * k) * np.hanning(30)  # 15 ms: no burst of its own
    events = detect_offline(emg, force, RATE)
    assert [e.kind for e in events] == ["felt", "press"], events
    assert events[0].peak_emg_v is None and events[0].extra["emg_stir"] >= 2
    counted = detect_offline(emg, force, RATE, DetectorParams(bump_emg_ratio=2.0))
    assert [e.kind for e in counted] == ["ltr", "press"] and counted[1].extra["ltr_count"] == 1, counted


def test_a_steady_hold_with_sway_flags_nothing_and_a_regrip_step_is_not_a_twitch() -> None:
    emg, force = hold()
    assert [e.kind for e in detect_offline(emg, force, RATE)] == ["press"]
    start, n = int(3.0 * RATE), int(0.15 * RATE)
    force[start:start + n] += 2.0 * (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, n)))
    force[start + n:int(5.0 * RATE)] += 2.0
    assert [e.kind for e in detect_offline(emg, force, RATE)] == ["press"]


def _uno_totals(sums: tuple[int, int, int], rate_hz: int = RATE, **cfg: object) -> dict[str, list[int]]:
    totals = {"ltr": [0, 0, 0], "twitch": [0, 0, 0]}
    for seed in (404, 505, 606):
        emg, force, sim = simulated(seed, 240.0, adc_bits=10, sums=sums, rate_hz=rate_hz, **cfg)
        truth = sim.truth_until(239.0)
        events = detect_offline(emg, force, rate_hz)
        for kind, total in totals.items():
            for i, n in enumerate(match(truth, events, kind)):
                total[i] += n
    return totals


def test_a_10_bit_uno_summing_four_conversions_finds_the_twitches_one_conversion_misses() -> None:
    """At 5 V one 10-bit code is 24 uV at the skin, more than the EMG noise: the
    quantization is the noise. Four conversions, dithered by the ADC's own noise,
    halve it (the firmware sends their sum); the sessions are otherwise the same."""
    one, four = _uno_totals((1, 1, 1)), _uno_totals((4, 1, 1))
    assert f1(*four["ltr"]) >= 0.97, four
    assert f1(*four["twitch"]) >= 0.85, four
    # Measured: 12 of 21 twitches with one conversion, 17 with four (14 and 19
    # before issue 17's background and 75 ms offset hold).
    assert four["twitch"][0] >= one["twitch"][0] + 3, (one, four)
    assert f1(*four["ltr"]) >= f1(*one["ltr"]), (one, four)


def test_a_1_khz_uno_summing_eight_raw_and_four_fsr_conversions_finds_quiet_ltrs_four_raw_miss() -> None:
    """At low SNR many LTRs stay near the EMG threshold. At 1 kHz there is time
    for 13 conversions a sample: raw x8 and FSR x4 (the firmware's tier) against
    raw x4 alone, on the same scenes."""
    raw_only, tiered = _uno_totals((4, 1, 1), 1000, snr="low"), _uno_totals(AVR_SUMS, 1000, snr="low")
    # Measured: 35 of 116 LTRs found with raw x4 (F1 0.44), 45 with the tier (F1 0.54).
    # (Before issue 17 a bump in force alone counted, 77 and 99; now it is "felt".)
    assert tiered["ltr"][0] >= raw_only["ltr"][0] + 7, (raw_only, tiered)
    assert f1(*tiered["ltr"]) >= 0.5, tiered


def test_every_detector_parameter_is_in_the_table_of_docs_detector_md() -> None:
    """A practitioner tuning a setting from the API must find its reason in the docs."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "detector.md").read_text()
    missing = [d["name"] for d in DetectorParams.describe() if f"| `{d['name']}` |" not in doc]
    assert not missing, f"document these in docs/detector.md: {missing}"
