"""One burst, one event; a raised background is background (issue 17), told as
what the practitioner sees under the thumb."""

from __future__ import annotations

import numpy as np

from twitchd.signal.detector import detect_offline
from twitchd.signal.params import DetectorParams

RATE = 2000


def quiet(seconds: float, seed: int = 0) -> np.ndarray:
    """A quiet MyoWare RAW on a 12-bit board: 0.5 mV of noise around Vs/2."""
    return 1.65 + np.random.default_rng(seed).normal(0, 0.0005, int(seconds * RATE))


def burst(emg: np.ndarray, at_s: float, length_s: float, volts: float = 0.02, seed: int = 1) -> None:
    """Several units discharging: band-limited noise under a smooth window."""
    n = int(length_s * RATE)
    rng = np.random.default_rng(seed)
    wave = np.convolve(rng.normal(0, 1, n + 20), np.hanning(9), "same")[10:10 + n]
    start = int(at_s * RATE)
    emg[start:start + n] += volts * wave / wave.std() * np.hanning(n) ** 0.3


def muap(emg: np.ndarray, at: int, volts: float) -> None:
    """One motor-unit potential, biphasic, about 6 ms."""
    t = np.arange(-6, 7) / 6.0
    emg[at - 6:at + 7] += volts * -t * np.exp(-t * t * 2)


def test_a_burst_with_an_80_ms_pause_is_one_twitch_not_two() -> None:
    emg = quiet(5.0)
    burst(emg, 2.0, 0.12)
    burst(emg, 2.2, 0.12, seed=2)  # 80 ms of silence between the two halves
    events = detect_offline(emg, np.zeros_like(emg), RATE)
    assert [e.kind for e in events] == ["twitch"], events
    assert abs(events[0].onset_s - 2.0) < 0.02 and events[0].end_s > 2.28


def test_two_twitches_300_ms_apart_stay_two() -> None:
    emg = quiet(5.0)
    burst(emg, 2.0, 0.1)
    burst(emg, 2.4, 0.1, seed=2)
    assert [e.kind for e in detect_offline(emg, np.zeros_like(emg), RATE)] == ["twitch", "twitch"]


def test_the_first_units_of_a_contraction_are_not_also_a_twitch() -> None:
    """A contraction often starts with a few units, a short lull, then recruitment."""
    emg = quiet(8.0)
    burst(emg, 2.0, 0.08, volts=0.01)
    burst(emg, 2.15, 2.5, seed=3)
    events = detect_offline(emg, np.zeros_like(emg), RATE)
    assert [e.kind for e in events] == ["contraction"], events
    assert abs(events[0].onset_s - 2.0) < 0.03


def tonic(emg: np.ndarray, start_s: float, end_s: float, units: int = 4, volts: float = 0.004) -> None:
    """Guarding: a few low-threshold units firing on and on at 8-12 Hz."""
    rng = np.random.default_rng(7)
    for u in range(units):
        rate, size = rng.uniform(8, 12), volts * rng.uniform(0.6, 1.4)
        at = start_s + rng.uniform(0, 0.1)
        while at < end_s:
            muap(emg, int(at * RATE), size)
            at += rng.normal(1 / rate, 0.15 / rate)


def test_tonic_guarding_under_a_steady_press_raises_no_ltr_and_a_real_ltr_in_it_still_flags() -> None:
    """Each tonic potential stands 8x above the quiet noise, and four units at
    8-12 Hz leave no pause of 75 ms: without a background the whole guarding is
    one burst. Now the start of the guarding is
    at most one contraction (guarding is one; DESIGN.md section 6), and an LTR
    during it still flags."""
    emg = quiet(24.0)
    force = np.zeros_like(emg)
    force[int(1.0 * RATE):int(23.0 * RATE)] = 12.0
    tonic(emg, 3.0, 21.0)
    burst(emg, 16.0, 0.2, volts=0.03, seed=4)
    events = [e for e in detect_offline(emg, force, RATE) if e.kind != "press"]
    assert [(e.kind, round(e.onset_s, 1)) for e in events if e.kind != "contraction"] == [("ltr", 16.0)], events
    assert [round(e.onset_s, 1) for e in events if e.kind == "contraction"] in ([], [3.1]), events
    without = detect_offline(emg, force, RATE, DetectorParams(background_onset_ratio=0.0, background_offset_ratio=0.0))
    # What the background prevents: a 13 s "contraction" that swallows the LTR (the
    # LTR's own peak ends it, and the guarding after it is a second contraction).
    assert [e.kind for e in without if e.kind != "press"] == ["contraction", "contraction"], without
    assert without[0].onset_s < 16.0 < without[0].end_s, without


def test_one_motor_unit_potential_under_the_thumb_is_not_an_ltr() -> None:
    emg = quiet(6.0)
    force = np.zeros_like(emg)
    force[RATE:5 * RATE] = 10.0
    muap(emg, 3 * RATE, 0.01)  # 50 uV at the skin: a typical surface unit
    assert [e.kind for e in detect_offline(emg, force, RATE)] == ["press"]


def test_the_low_firing_after_a_strong_twitch_is_neither_its_tail_nor_a_second_twitch() -> None:
    """Real thumbs keep a few units firing for seconds after a burst, 10-30x the
    noise but thousands of times below the burst: the twitch ends where the
    burst does, and the firing after it raises nothing."""
    emg = quiet(8.0)
    burst(emg, 2.0, 0.2, volts=0.2)
    tonic(emg, 2.25, 4.5, units=4, volts=0.003)
    events = detect_offline(emg, np.zeros_like(emg), RATE)
    assert [e.kind for e in events] == ["twitch"], events
    assert abs(events[0].onset_s - 2.0) < 0.02 and events[0].end_s < 2.35, events
    # Without the burst's own level as a second offset, the firing kept it running
    # into a "contraction".
    longer = detect_offline(emg, np.zeros_like(emg), RATE, DetectorParams(offset_peak_fraction=0.0))
    assert [e.kind for e in longer] == ["contraction"], longer


def guarding_starts(emg: np.ndarray, starts_s: list[float], end_s: float, volts: float, seed: int) -> None:
    """Guarding starting up: low-threshold units join one by one, each at 8-12 Hz."""
    rng = np.random.default_rng(seed)
    for start_s in starts_s:
        rate, size = rng.uniform(8, 12), volts * rng.uniform(0.7, 1.3)
        at = start_s
        while at < end_s:
            muap(emg, int(at * RATE), size)
            at += rng.normal(1 / rate, 0.15 / rate)


def test_guarding_that_starts_up_is_not_a_twitch_for_each_of_its_first_potentials() -> None:
    """The background needs 2-3 s to learn tonic firing; until then its
    potentials clear the onset level. A potential that grows out of firing
    already going on (two or more in the 375 ms before it) is more of that
    firing: at most the first ones of the guarding are flagged."""
    for seed in (1, 2):
        emg = quiet(12.0, seed)
        guarding_starts(emg, [3.0, 3.6, 4.5, 5.1], 11.0, 0.006, seed)
        flagged = detect_offline(emg, np.zeros_like(emg), RATE)
        assert [e.kind for e in flagged] in (["twitch"], ["twitch", "twitch"]), flagged
        without = detect_offline(emg, np.zeros_like(emg), RATE, DetectorParams(prior_window_s=0.0))
        assert len(without) >= 5, without  # what the rule prevents: a twitch per potential
