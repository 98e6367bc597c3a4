"""Every number the detector uses, named, with its default and the reason for it.

Times are in seconds and frequencies in hertz so that one set of parameters
means the same at 1 kHz and 2 kHz; :func:`kernel_params` turns them into the
per-sample array the numba kernel reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd.errors import ConfigError
from twitchd.signal import filters


LOWPASS_DEFAULT = 250.0
LOWPASS_REASON = ("Low-pass before the energy operator. TKEO weights high frequencies, so white ADC noise "
                  "above the EMG band buries small bursts, worst at 2 kHz with 10 bits. Most surface-EMG "
                  "power lies below 250 Hz (median frequency ~60-120 Hz). Measured on simulated seeds "
                  "600-602: LTR F1 at 2 kHz/10-bit went from 0.30 (no low-pass) to 0.71 (450 Hz) "
                  "and 0.84 (250 Hz); 200 Hz scored a little higher but would fit the simulator's "
                  "motor-unit shapes")


def _p(default: float, reason: str, lo: float, hi: float) -> Any:
    return field(default=default, metadata={"reason": reason, "min": lo, "max": hi})


@dataclass(frozen=True)
class DetectorParams:
    """The detector's settings. ``describe()`` lists them with their reasons."""

    highpass_hz: float = _p(20.0, "SENIAM and De Luca 2010: a 20 Hz high-pass removes motion and DC while keeping the surface-EMG band", 5.0, 100.0)
    lowpass_hz: float = _p(LOWPASS_DEFAULT, LOWPASS_REASON, 100.0, 1000.0)
    mains_hz: float = _p(0.0, "Mains hum is notched at its frequency and 3rd harmonic (the strongest in clinics); 0 detects 50 or 60 Hz from the signal itself, so a laptop that travels needs no setting; 50 or 60 fixes it", 0.0, 60.0)
    notch_q: float = _p(8.0, "Notch 6 Hz wide at 50 Hz: tolerates mains drift of +-1 Hz and removes little EMG", 2.0, 50.0)
    energy_tau_s: float = _p(0.008, "Smoothing of the Teager-Kaiser energy; 8 ms keeps one 2-15 ms motor-unit potential as one bump (Li & Aruin 2007 use TKEO before a threshold)", 0.001, 0.1)
    onset_ratio: float = _p(7.0, "Energy above 7x the noise floor starts a burst (or above onset_peak_ratio times the quiet maximum, if lower); chosen on simulated sessions so that noise alone crosses about once per ten minutes", 2.0, 100.0)
    offset_ratio: float = _p(3.0, "Below 3x the floor a burst may end: hysteresis against chattering (Bonato 1998 double threshold)", 1.0, 50.0)
    onset_peak_ratio: float = _p(1.9, "... or 1.9x the typical largest energy of a quiet second, if that is lower. The floor says where noise sits, not how far it reaches: energy of noise finer than one ADC step (a 10-bit AVR on a quiet muscle) is bounded, its quiet maxima reach 2.6x its mean against 4x for well-dithered 12-bit noise, so a fixed 7x floor wastes a third of a 10-bit sensor's range. Chosen on simulated seeds 21-22 (benchmarks/accuracy.py): at 10 bits LTR F1 rose from 0.88-0.91 to 0.92-0.98 and twitch F1 from 0.45-0.58 to 0.70-0.83, at 12 bits nothing moved by more than 0.03; 1.8 cost 12-bit twitches 0.06, 2.0 gave back half the 10-bit gain", 1.0, 20.0)
    quiet_block_s: float = _p(1.0, "The typical quiet maximum is learned from 1 s blocks with no burst or motion in them (and none in the 50 ms before), falling within a block and rising over about 5 blocks, like the floor", 0.2, 10.0)
    onset_backtrack_s: float = _p(0.1, "A burst's onset is moved back to where its energy last left 3x the floor (the offset threshold), at most 100 ms: a swelling LTR crosses the onset threshold late, by up to 120 ms on a 10-bit ADC (benchmarks/accuracy.py misses before this); 100 ms is half the shortest LTR", 0.0, 0.3)
    onset_hold_s: float = _p(0.003, "Energy must stay above the onset threshold 3 ms: one noise spike is shorter, a motor-unit potential is not", 0.0, 0.05)
    offset_hold_s: float = _p(0.075, "A burst ends after 75 ms below the offset threshold, so that a burst with ripple or a pause shorter than about 100 ms (75 ms plus the ~25 ms the smoothed energy takes to fall and rise again) stays one event, and the first units of a contraction are not also a twitch (issue 17). 50 ms split a quarter of the second simulator's LTRs, which carry 40-85 ms pauses; 100 ms put the first simulator's median decision over 300 ms", 0.005, 0.5)
    background_block_s: float = _p(0.25, "The background is learned from the largest energy of each 0.25 s block, busy or not: a train of LTRs (200 ms, 0.8 s apart) leaves about half of such blocks quiet, tonic firing (several units at 8-12 Hz) fills all of them", 0.05, 2.0)
    background_adapt_s: float = _p(2.0, "The background follows a tenfold rise of tonic activity in about 2 s (and falls three times as fast, a lower quartile); 1 s made it jitter and doubled false LTRs in the second simulator's holds (dev seeds 1-3)", 0.2, 30.0)
    background_onset_ratio: float = _p(4.0, "A burst must also clear 4x the background (the lower quartile of 0.25 s block maxima), so that tonic guarding, a few units firing on and on, raises the threshold instead of making each of its potentials a twitch or an LTR. On the second simulator (dev seeds 1-3) false LTRs per 10 min of hold fell from about 1200 (no background) to 7-36 at 3x and 5-13 at 4x, with 4x ltr_min_s; 6x reached 1.5-4 but cost low-SNR LTRs (F1 0.49-0.54). 0 turns it off", 0.0, 50.0)
    offset_peak_fraction: float = _p(0.002, "A burst also ends where its energy stays below 0.002 of its own peak energy (about 4.5 % in amplitude; biomechanics often ends a burst at 5-10 % of its peak amplitude), and after it a new burst must clear that level, which decays over aftermath_s. Real thumb bursts are followed by seconds of low-level firing 10-30x the noise but 1000-10000x below their peak, which had kept them running for 1-2 s (a 'contraction') or split off as extra twitches. Chosen on the simulators' dev seeds (own 21-22, sim2 1-3, all 16 conditions) as the largest of 0.001/0.002/0.003/0.01 that cost no true event there: 0.003 lost one twitch just after a contraction, 0.01 one LTR. 0 turns it off", 0.0, 0.1)
    prior_window_s: float = _p(0.375, "A twitch or LTR must not grow out of ongoing low-level firing: potentials are counted in the 375 ms before its onset (ending 50 ms before it). Tonic guarding that starts up fires each unit at 8-12 Hz, three or four potentials in that window, while the background needs 2-3 s to learn it; a true twitch or LTR starts out of quiet. Chosen with prior_potentials and prior_level on the simulators' dev seeds (own 21-22, sim2 1-3, all 16 conditions): 0.25, 0.375 and 0.5 s scored within 0.01 of each other, 0.75 s cost the first simulator's LTRs. 0 turns it off", 0.0, 2.0)
    prior_potentials: float = _p(2.0, "... and at least this many separate rises of the energy through prior_level x the onset level in that window make the burst more of the same firing: it is not reported (a longer one is still a contraction). On the simulators' dev seeds, 2 took the second simulator's false twitches from 64 to 35 and its false LTRs in steady holds from 74 to 39 (in 99 min), at a cost of 8 of its 616 true LTRs, and cost the first simulator nothing (its false flags fell from 16 to 11); 1 lost more true LTRs on both, 3 kept 50 of the 64 false twitches", 1.0, 50.0)
    prior_level: float = _p(0.7, "... where a rise counts when the energy passes 0.7x the onset level (aftermath included): below it, noise itself rises through the level; 0.3 cost half of the true LTRs; 0.5-1 scored within 0.05 of each other on the simulators' dev seeds, 0.7 best", 0.05, 1.0)
    aftermath_s: float = _p(2.0, "The level a burst leaves behind (offset_peak_fraction of its peak) decays with a 2 s time constant: the low-level firing after a real thumb burst lasts seconds; on the simulators' dev seeds 0.5, 1, 2 and 4 s cost no true event at that fraction", 0.05, 10.0)
    background_offset_ratio: float = _p(1.0, "A burst may end below the background (as well as below offset_ratio x the floor), so a burst during tonic firing ends when it does instead of running on with the tonic potentials; 2x scored the same as 1x on the second simulator's dev seeds", 0.0, 50.0)
    floor_rise_tau_s: float = _p(3.0, "The noise floor rises slowly (3 s) so that a burst cannot teach it to ignore the next one (habituating LTRs)", 0.1, 60.0)
    floor_fall_tau_s: float = _p(0.5, "The noise floor falls fast (0.5 s) when the room gets quieter", 0.05, 60.0)
    warmup_s: float = _p(0.5, "The first 0.5 s only learn the noise floor", 0.05, 10.0)
    ltr_min_s: float = _p(0.02, "An LTR is a polyphasic burst of several units lasting tens to a few hundred ms (DESIGN.md, signal-facts.md). A burst under the thumb whose core (first to last sample whose own, unsmoothed energy clears the onset level) spans under 20 ms is one motor-unit potential (tonic firing, a noise spike) and is not reported; the smoothed energy of one large potential lingers for 50 ms, its core lasts 6-10 ms. On the second simulator's dev seeds 1-3, 20 ms kept more true LTRs than 30 or 40 ms (F1 0.68-0.96 against 0.63-0.95) with the same false LTRs in holds. A spontaneous twitch may be one unit and has no such minimum", 0.0, 0.5)
    short_burst_max_s: float = _p(1.0, "DESIGN.md section 6: LTRs and twitches last tens to a few hundred ms; longer is a contraction, guarding or cramp", 0.2, 10.0)
    press_on_n: float = _p(2.0, "A press starts at 2 N: above the FSR 402's 0.2 N actuation and resting-thumb contact, well below the 5-20 N of a trigger-point press", 0.3, 50.0)
    press_off_n: float = _p(1.0, "A press ends below 1 N (hysteresis, so tremor at the threshold is one press)", 0.1, 50.0)
    force_tau_s: float = _p(0.01, "Force is smoothed over 10 ms: removes ADC noise, keeps a 50 ms snap", 0.001, 0.2)
    snap_slope_n_per_s: float = _p(30.0, "A force change faster than 30 N/s during a press is a snap (flick across the band); slower is the thumb settling", 5.0, 1000.0)
    snap_window_s: float = _p(0.3, "An LTR may follow a snap by up to 300 ms: spinal reflex latency is 20-50 ms (signal-facts.md), with margin for a slow flick", 0.05, 2.0)
    after_press_s: float = _p(0.15, "A burst starting within 150 ms after the thumb lifts is still the reflex to that press", 0.0, 1.0)
    motion_lowpass_hz: float = _p(15.0, "Electrode motion lives below ~20 Hz (De Luca 2010); 15 Hz separates it from the EMG band", 2.0, 40.0)
    motion_ratio: float = _p(0.3, "A burst whose energy below 15 Hz exceeds 0.3x its energy in the EMG band is electrode motion. At 1x, the landing and lifting of the second simulator's thumb (sharp contact-potential steps the high-pass turns into spikes) made 12 false twitches and LTRs in 32 min (dev seed 1), with LF shares of 0.4-1.0; true bursts of both simulators have LF shares under 0.14-0.22 (99th percentile). Chosen on the second simulator's dev seeds 1-3: LTRs flagged on artifacts fell from 1-4 to 0 of 90", 0.05, 100.0)
    motion_onset_ratio: float = _p(12.0, "Low-frequency energy 12x its floor is a motion transient worth reporting on its own", 2.0, 1000.0)
    bump_width_s: float = _p(0.15, "A twitching taut band pushes back on the thumb for 100-200 ms (DESIGN.md section 6; the simulator's LTR force bump); the template is a 150 ms raised-cosine bump", 0.05, 0.4)
    bump_context_s: float = _p(0.06, "Force fitted 60 ms either side of the bump, as a quadratic trend plus the bump, so slow sway and tremor of the hold (1-3 Hz) are not mistaken for bumps: with the quadratic term the largest bump fit on quiet simulated holds fell from 0.29 N to 0.10 N, below every clean LTR bump", 0.02, 0.2)
    bump_ratio: float = _p(5.0, "A force bump is evidence when its fitted height exceeds 5x the RMS of fits over quiet holds (learned like the EMG floor): with the Uno summing FSR conversions (11-12 bits), 4x let the sway of a hold through as false LTRs; 5x removed them and cost no true LTR on tuning seeds (docs/detector.md)", 1.5, 100.0)
    bump_min_n: float = _p(0.08, "... and at least 0.08 N, the resolution of a 10-bit FSR reading near 10 N averaged over 10 ms; the smallest habituated LTR bumps are about 0.1 N", 0.01, 5.0)
    bump_fit: float = _p(0.4, "The quadratic-plus-bump model must explain the window to within this fraction of the bump's height: a re-grip (a step) or a snap (a dip) fits badly and is not a twitch, and the model's own side lobes half a window from a real bump leave >= 0.48 unexplained, so 0.4 keeps one bump one event", 0.05, 5.0)
    bump_hold_slope_n_per_s: float = _p(5.0, "Bumps are judged only while the hold is steady, its force trend under 5 N/s across the window: sway and tremor of a held thumb stay under ~3 N/s, while landing, lifting and re-gripping run at 10-40 N/s and their corners fit a bump", 0.5, 100.0)
    bump_delay_s: float = _p(0.03, "The force bump lags the EMG burst by the muscle's electromechanical delay (tens of ms); an LTR seen only in force is dated this much before its bump", 0.0, 0.2)
    bump_emg_ratio: float = _p(0.0, "0 (the default): a force bump that no EMG burst explains is reported as 'felt' (felt, no EMG) and never counts as an LTR; its extra.emg_stir says how far the EMG rose around it (its largest energy over what noise reaches). A value > 0 makes a bump with at least that stir an LTR. Measured on the second simulator's steady holds with no event (dev seeds 1-3, 61.5 min): bump LTRs with a stir of 2 were 1.6 false per 10 min, with 3 1.0, against the issue's limit of 1; on the first simulator's dev seeds a stir of 3 found 9 more of 956 true LTRs than no bump LTRs at all (F1 0.820 against 0.813). The old kernel, bumps alone: 36 false per 10 min of hold. So bumps do not earn an LTR", 0.0, 20.0)
    bump_settle_s: float = _p(0.5, "No bump is judged within 0.5 s after a press starts or a snap: the thumb is still landing or recovering", 0.1, 3.0)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ConfigError(f"detector parameter {f.name} must be a number, got {value!r}")
            if not f.metadata["min"] <= value <= f.metadata["max"]:
                raise ConfigError(f"detector parameter {f.name}={value} is outside {f.metadata['min']}..{f.metadata['max']}")
        if self.mains_hz not in (0.0, 50.0, 60.0):
            raise ConfigError(f"mains_hz must be 0 (detect), 50 or 60, got {self.mains_hz}")
        if self.press_off_n > self.press_on_n:
            raise ConfigError("press_off_n must not exceed press_on_n")
        if self.offset_ratio > self.onset_ratio:
            raise ConfigError("offset_ratio must not exceed onset_ratio")
        if round((self.bump_width_s + 2 * self.bump_context_s) * BUMP_TICK_HZ) > BUMP_MAX_TICKS:
            raise ConfigError(f"bump_width_s + 2 * bump_context_s must not exceed {BUMP_MAX_TICKS / BUMP_TICK_HZ} s")

    def updated(self, **changes: float) -> DetectorParams:
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown detector parameter(s): {', '.join(sorted(unknown))}")
        return replace(self, **{k: float(v) for k, v in changes.items()})

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    @staticmethod
    def describe() -> list[dict[str, Any]]:
        return [{"name": f.name, "default": f.default, "min": f.metadata["min"],
                 "max": f.metadata["max"], "reason": f.metadata["reason"]} for f in fields(DetectorParams)]


# Slots of the kernel's parameter array.
(P_HP_B0, P_HP_B1, P_HP_B2, P_HP_A1, P_HP_A2,
 P_N1_B0, P_N1_B1, P_N1_B2, P_N1_A1, P_N1_A2,
 P_N3_B0, P_N3_B1, P_N3_B2, P_N3_A1, P_N3_A2,
 P_A_ENERGY, P_ON_RATIO, P_OFF_RATIO, P_ON_HOLD, P_OFF_HOLD,
 P_A_RISE, P_A_FALL, P_WARMUP, P_SHORT_MAX, P_PRESS_ON, P_PRESS_OFF,
 P_A_FORCE, P_SNAP_SLOPE, P_SNAP_WINDOW, P_AFTER_PRESS, P_A_MOTION,
 P_MOTION_RATIO, P_MOTION_ON, P_RATE, P_A_DC,
 P_M1_B0, P_M1_B1, P_M1_B2, P_M1_A1, P_M1_A2,
 P_M3_B0, P_M3_B1, P_M3_B2, P_M3_A1, P_M3_A2,
 P_R50_B0, P_R50_B1, P_R50_B2, P_R50_A1, P_R50_A2,
 P_R60_B0, P_R60_B1, P_R60_B2, P_R60_A1, P_R60_A2,
 P_MAINS_MODE, P_LP_B0, P_LP_B1, P_LP_B2, P_LP_A1, P_LP_A2, P_FLOOR_MIN, P_LF_FLOOR_MIN,
 P_BACKTRACK, P_PEAK_RATIO, P_QBLOCK, P_PEAK_MIN, P_A_HUM,
 P_BG_BLOCK, P_BG_UP, P_BG_DOWN, P_BG_ON, P_BG_OFF, P_LTR_MIN, P_REL_OFF, P_AFTER_DECAY,
 P_PRIOR_WIN, P_PRIOR_N, P_PRIOR_LEVEL, P_PRIOR_GAP,
 N_PARAMS) = range(81)

# Force-bump model (kernel stage 3b): force averaged to BUMP_TICK_HZ, a window
# of up to BUMP_MAX_TICKS ticks fitted as a + b t + q t^2 + c * bump.
BUMP_TICK_HZ = 100.0
BUMP_MAX_TICKS = 64
BUMP_TERMS = 4
(P_BUMP_TICK, P_BUMP_W, P_BUMP_CENTER, P_BUMP_HALF, P_BUMP_RATIO, P_BUMP_MIN, P_BUMP_FIT, P_BUMP_DELAY,
 P_BUMP_SETTLE, P_BUMP_A_RISE, P_BUMP_A_FALL, P_BUMP_SLOPE, P_BUMP_EMG, P_BUMP_PINV) = range(N_PARAMS, N_PARAMS + 14)
P_BUMP_X = P_BUMP_PINV + BUMP_TERMS * BUMP_MAX_TICKS
N_KERNEL_PARAMS = P_BUMP_X + BUMP_MAX_TICKS * BUMP_TERMS


def bump_design(width_ticks: int, context_ticks: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The design matrix (W x 4: 1, t, t^2, bump) and its pseudo-inverse (4 x W)."""
    w = width_ticks + 2 * context_ticks
    t = (np.arange(w) - (w - 1) / 2) / w
    bump = np.zeros(w)
    bump[context_ticks:context_ticks + width_ticks] = np.sin(np.linspace(0.0, np.pi, width_ticks + 2)[1:-1]) ** 2
    x = np.stack([np.ones(w), t, t * t, bump], axis=1)
    return x, np.linalg.pinv(x)


#: Q of the resonators that measure hum at 50 and at 60 Hz (2.5 Hz wide at 50 Hz).
HUM_RESONATOR_Q = 20.0
#: Time constant of the hum measurement. The mains frequency does not change
#: within a session, so it can be slow; at 0.5 s the 2x hysteresis was crossed
#: by chance where hum sat near one ADC step (12-bit, 1 kHz, 50 Hz: four false
#: flags in 12 simulated minutes, none with the frequency fixed), and every
#: switch of notch pair puts a step into the energy.
HUM_TAU_S = 5.0
#: The background is the lower quartile of the energy's block maxima: a train of
#: LTRs leaves most 0.25 s blocks quiet (six LTRs of 200 ms at 0.8 s occupy
#: about half), so it stays where the noise is; tonic firing fills every block.
BACKGROUND_QUANTILE = 0.25
#: The window in which a burst's prior firing is counted ends this long before
#: its onset: the onset is moved back to where the energy left the noise, but
#: the first potentials of a swelling burst may still sit just before it.
PRIOR_GAP_S = 0.05


def _alpha(tau_s: float, rate_hz: float) -> float:
    return 1.0 - math.exp(-1.0 / (tau_s * rate_hz))


def kernel_params(p: DetectorParams, rate_hz: float) -> npt.NDArray[np.float64]:
    """The per-sample parameter array for a stream at ``rate_hz``."""
    if not 250.0 <= rate_hz <= 20_000.0:
        raise ConfigError(f"sample rate {rate_hz} Hz is outside 250..20000 Hz")
    k = np.zeros(N_KERNEL_PARAMS)
    k[P_HP_B0:P_HP_A2 + 1] = filters.highpass(p.highpass_hz, rate_hz)
    # Notch pair "A" at 50/150 Hz and pair "B" at 60/180 Hz both always run; the
    # kernel uses one, fixed by mains_hz or chosen by the hum it measures.
    for base, f0 in ((P_N1_B0, 50.0), (P_N3_B0, 150.0), (P_M1_B0, 60.0), (P_M3_B0, 180.0)):
        k[base:base + 5] = filters.notch(f0, p.notch_q, rate_hz) if f0 < 0.45 * rate_hz else filters.IDENTITY
    k[P_R50_B0:P_R50_A2 + 1] = filters.bandpass(50.0, HUM_RESONATOR_Q, rate_hz)
    k[P_R60_B0:P_R60_A2 + 1] = filters.bandpass(60.0, HUM_RESONATOR_Q, rate_hz)
    k[P_MAINS_MODE] = p.mains_hz
    k[P_A_HUM] = _alpha(HUM_TAU_S, rate_hz)
    lp = p.lowpass_hz
    k[P_LP_B0:P_LP_A2 + 1] = filters.lowpass(lp, rate_hz) if lp < 0.45 * rate_hz else filters.IDENTITY
    k[P_A_ENERGY] = _alpha(p.energy_tau_s, rate_hz)
    k[P_ON_RATIO], k[P_OFF_RATIO] = p.onset_ratio, p.offset_ratio
    k[P_ON_HOLD] = max(1, round(p.onset_hold_s * rate_hz))
    k[P_BACKTRACK] = round(p.onset_backtrack_s * rate_hz)
    k[P_PEAK_RATIO] = p.onset_peak_ratio
    k[P_QBLOCK] = round(p.quiet_block_s * rate_hz)
    k[P_OFF_HOLD] = max(1, round(p.offset_hold_s * rate_hz))
    # The background: a stochastic p-quantile (log domain) of block maxima of
    # the energy, over every block, busy or not (kernel stage 1b).
    k[P_BG_BLOCK] = max(1, round(p.background_block_s * rate_hz))
    step = math.log(10.0) / (BACKGROUND_QUANTILE * p.background_adapt_s / p.background_block_s)
    k[P_BG_UP], k[P_BG_DOWN] = step * BACKGROUND_QUANTILE, step * (1.0 - BACKGROUND_QUANTILE)
    k[P_BG_ON], k[P_BG_OFF] = p.background_onset_ratio, p.background_offset_ratio
    k[P_REL_OFF] = p.offset_peak_fraction
    k[P_AFTER_DECAY] = 1.0 - _alpha(p.aftermath_s, rate_hz)
    k[P_PRIOR_WIN] = round((p.prior_window_s + PRIOR_GAP_S) * rate_hz)
    k[P_PRIOR_GAP] = round(PRIOR_GAP_S * rate_hz)
    k[P_PRIOR_N] = p.prior_potentials  # a window of 0 s counts nothing
    k[P_PRIOR_LEVEL] = p.prior_level
    k[P_A_RISE], k[P_A_FALL] = _alpha(p.floor_rise_tau_s, rate_hz), _alpha(p.floor_fall_tau_s, rate_hz)
    k[P_WARMUP] = round(p.warmup_s * rate_hz)
    k[P_SHORT_MAX] = round(p.short_burst_max_s * rate_hz)
    k[P_LTR_MIN] = round(p.ltr_min_s * rate_hz)
    k[P_PRESS_ON], k[P_PRESS_OFF] = p.press_on_n, p.press_off_n
    k[P_A_FORCE] = _alpha(p.force_tau_s, rate_hz)
    k[P_SNAP_SLOPE] = p.snap_slope_n_per_s
    k[P_SNAP_WINDOW] = round(p.snap_window_s * rate_hz)
    k[P_AFTER_PRESS] = round(p.after_press_s * rate_hz)
    k[P_A_MOTION] = 1.0 - math.exp(-2 * math.pi * p.motion_lowpass_hz / rate_hz)
    k[P_MOTION_RATIO], k[P_MOTION_ON] = p.motion_ratio, p.motion_onset_ratio
    k[P_RATE] = rate_hz
    k[P_A_DC] = 1.0 - math.exp(-2 * math.pi * 0.5 / rate_hz)
    tick = max(1, round(rate_hz / BUMP_TICK_HZ))
    width, context = max(3, round(p.bump_width_s * BUMP_TICK_HZ)), max(1, round(p.bump_context_s * BUMP_TICK_HZ))
    x, pinv = bump_design(width, context)
    w = x.shape[0]
    k[P_BUMP_TICK], k[P_BUMP_W] = tick, w
    k[P_BUMP_CENTER], k[P_BUMP_HALF] = context + (width - 1) / 2, width / 2
    k[P_BUMP_RATIO], k[P_BUMP_MIN], k[P_BUMP_FIT] = p.bump_ratio, p.bump_min_n, p.bump_fit
    k[P_BUMP_DELAY] = round(p.bump_delay_s * rate_hz)
    k[P_BUMP_SETTLE] = round(p.bump_settle_s * rate_hz)
    k[P_BUMP_EMG] = p.bump_emg_ratio
    k[P_BUMP_SLOPE] = p.bump_hold_slope_n_per_s * w / BUMP_TICK_HZ  # as the fit's linear coefficient
    k[P_BUMP_A_RISE] = _alpha(p.floor_rise_tau_s, BUMP_TICK_HZ)
    k[P_BUMP_A_FALL] = _alpha(p.floor_fall_tau_s, BUMP_TICK_HZ)
    k[P_BUMP_PINV:P_BUMP_PINV + BUMP_TERMS * w] = pinv.reshape(-1)
    k[P_BUMP_X:P_BUMP_X + w * BUMP_TERMS] = x.reshape(-1)
    return k


def parse_overrides(pairs: Iterable[str], option: str) -> dict[str, float]:
    """``name=value`` pairs from the command line (``--detector``, ``--redetect``); names and
    ranges are checked by ``DetectorParams.updated``."""
    out: dict[str, float] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"{option} wants name=value with a number, got {pair!r}")
    return out
