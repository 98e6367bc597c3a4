"""The streaming detector kernel: one numba function over a block of samples.

Everything it remembers lives in ``state`` (a float64 array), so feeding the
same signal in blocks of 1 or 100 000 samples gives the same events, and a
saved state resumes a stream exactly. Stages, per sample:

1. EMG: 20 Hz high-pass, mains notches (f0, 3 f0; 50 or 60 Hz, measured
   unless set), Teager-Kaiser energy,
   smoothed; an adaptive noise floor that learns only while nothing happens,
   the largest energy of a quiet second (how far the noise reaches), and a
   background (lower quartile of every block's largest energy) that tonic
   firing lifts and a series of LTRs does not.
2. Double threshold (onset: the lower of a multiple of the floor and of the
   quiet maximum, held for a few ms; offset ratio held for ~50 ms) marks
   bursts; each burst keeps its peak and its energy in and below the EMG band.
3. Force: smoothed; press episodes with hysteresis; snaps (fast force change
   during a press). 3b. Force bumps: averaged to 100 Hz, a sliding window fitted
   as a quadratic trend plus a bump; a bump during a steady hold that no EMG
   burst explains is reported as "felt", never as an LTR (the thumb's own
   tremor and drift make bumps too).
4. A low-frequency (<15 Hz) channel finds electrode motion on its own.
5. At a burst's end it is classified against force: artifact (mostly
   low-frequency energy), contraction (long), LTR (under pressure, just after
   a lift or a snap, with a core of several units), else twitch.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from twitchd.signal.params import (
    BUMP_MAX_TICKS, P_BUMP_TICK,
    P_A_DC, P_A_ENERGY, P_A_FALL, P_A_FORCE, P_A_MOTION, P_A_RISE, P_AFTER_PRESS,
    P_FLOOR_MIN, P_HP_B0, P_LF_FLOOR_MIN, P_LP_B0, P_M1_B0, P_M3_B0, P_MAINS_MODE, P_MOTION_ON, P_MOTION_RATIO, P_N1_B0, P_N3_B0,
    P_OFF_HOLD, P_OFF_RATIO, P_R50_B0, P_R60_B0,
    P_A_HUM, P_ON_HOLD, P_ON_RATIO, P_PRESS_OFF, P_PRESS_ON, P_RATE, P_SHORT_MAX, P_SNAP_SLOPE,
    P_SNAP_WINDOW, P_WARMUP, P_BACKTRACK, P_PEAK_MIN, P_PEAK_RATIO, P_QBLOCK,
    P_BG_BLOCK, P_BG_UP, P_BG_DOWN, P_BG_ON, P_BG_OFF, P_LTR_MIN, P_REL_OFF, P_AFTER_DECAY,
    P_PRIOR_WIN, P_PRIOR_N, P_PRIOR_LEVEL, P_PRIOR_GAP,
)
from twitchd.signal.bumps import _bump_tick
from twitchd.signal.slots import *  # noqa: F403 (the state's slot names, kinds and row columns)
from twitchd.signal.slots import _NEVER, _emit, max_events, new_state  # noqa: F401


#: Per quiet block, the learned quiet maximum moves this far towards a larger
#: block maximum (about 5 blocks to follow louder noise); a smaller one is taken at once.
QPEAK_RISE = 0.2
#: A block whose largest energy is this many times the background holds an event
#: (an LTR of a series at one site), and does not teach the background: tonic
#: potentials sit 2-6x above it, a habituating LTR series far more.
BG_EVENT = 10.0
#: Per block, the smoothed log background moves this far towards the quantile
#: (about four 0.25 s blocks).
BG_SMOOTH = 0.25


@numba.njit(cache=True, nogil=True, inline="always")
def _biquad(x: float, p: npt.NDArray[np.float64], at: int, s: npt.NDArray[np.float64], z: int) -> float:
    y = p[at] * x + s[z]
    s[z] = p[at + 1] * x - p[at + 3] * y + s[z + 1]
    s[z + 1] = p[at + 2] * x - p[at + 4] * y
    return y


@numba.njit(cache=True, nogil=True)
def detect_block(
    emg_v: npt.NDArray[np.float64],
    force_n: npt.NDArray[np.float64],
    p: npt.NDArray[np.float64],
    s: npt.NDArray[np.float64],
    filtered: npt.NDArray[np.float64],
    out: npt.NDArray[np.float64],
) -> int:
    """Process one block; writes band-passed EMG to ``filtered``, events to ``out``.

    Returns the number of event rows written. Sample indices in the rows are
    absolute (counted since the stream began).
    """
    k = 0
    rate = p[P_RATE]
    for i in range(emg_v.shape[0]):
        n = s[S_N]
        x = emg_v[i]
        # -- EMG band and energy -------------------------------------------
        if n == 0:
            # Start the high-pass in its steady state for this DC level (the
            # MyoWare's RAW sits at Vs/2), so the first second is not a step.
            s[S_DC] = x
            s[S_HP1] = -p[P_HP_B0] * x
            s[S_HP2] = p[P_HP_B0 + 2] * x
        hp = _biquad(x, p, P_HP_B0, s, S_HP1)
        y50 = _biquad(_biquad(hp, p, P_N1_B0, s, S_NA1), p, P_N3_B0, s, S_NB1)
        y60 = _biquad(_biquad(hp, p, P_M1_B0, s, S_MA1), p, P_M3_B0, s, S_MB1)
        mode = p[P_MAINS_MODE]
        if mode == 0.0:
            # Which hum is there? Compare resonators at 50 and 60 Hz, slowly and
            # only while no burst or motion is on (both are broadband), with a 2x
            # hysteresis so that what is left cannot make it flap.
            r50 = _biquad(hp, p, P_R50_B0, s, S_R50A)
            r60 = _biquad(hp, p, P_R60_B0, s, S_R60A)
            if s[S_ACTIVE] == 0.0 and s[S_M_ACTIVE] == 0.0:
                s[S_HUM50] += p[P_A_HUM] * (r50 * r50 - s[S_HUM50])
                s[S_HUM60] += p[P_A_HUM] * (r60 * r60 - s[S_HUM60])
            if s[S_USE60] == 0.0 and s[S_HUM60] > 2.0 * s[S_HUM50]:
                s[S_USE60] = 1.0
            elif s[S_USE60] == 1.0 and s[S_HUM50] > 2.0 * s[S_HUM60]:
                s[S_USE60] = 0.0
        else:
            s[S_USE60] = 1.0 if mode == 60.0 else 0.0
        y = _biquad(y60 if s[S_USE60] == 1.0 else y50, p, P_LP_B0, s, S_LP1)
        filtered[i] = y
        psi = abs(s[S_Y1] * s[S_Y1] - y * s[S_Y2])
        s[S_Y2] = s[S_Y1]
        s[S_Y1] = y
        s[S_E] += p[P_A_ENERGY] * (psi - s[S_E])
        e = s[S_E]
        # -- low-frequency (motion) channel --------------------------------
        s[S_DC] += p[P_A_DC] * (x - s[S_DC])
        s[S_LF1] += p[P_A_MOTION] * ((x - s[S_DC]) - s[S_LF1])
        s[S_LF2] += p[P_A_MOTION] * (s[S_LF1] - s[S_LF2])
        lf = s[S_LF2]
        s[S_ELF] += 0.25 * p[P_A_MOTION] * (lf * lf - s[S_ELF])
        elf = s[S_ELF]
        # -- force -----------------------------------------------------------
        f = force_n[i]
        if f == f:  # NaN means the force is unknown: hold the last value
            s[S_FS] += p[P_A_FORCE] * (f - s[S_FS])
        fs = s[S_FS]
        slope = (fs - s[S_FS_PREV]) * rate
        s[S_FS_PREV] = fs
        if s[S_INPRESS] == 0.0:
            if fs >= p[P_PRESS_ON] and n >= p[P_WARMUP]:
                s[S_INPRESS] = 1.0
                s[S_PRESS_START] = n
                s[S_PRESS_PEAK] = fs
                s[S_PRESS_LTRS] = 0.0
        else:
            if fs > s[S_PRESS_PEAK]:
                s[S_PRESS_PEAK] = fs
            if abs(slope) > p[P_SNAP_SLOPE]:
                s[S_LAST_SNAP] = n
            if fs < p[P_PRESS_OFF]:
                s[S_INPRESS] = 0.0
                s[S_LAST_LIFT] = n
                # The lift itself is a fast fall, not a snap: what follows it is judged
                # by the shorter after-press window, or a twitch just after the thumb
                # leaves would count as an LTR.
                s[S_LAST_SNAP] = _NEVER
                k = _emit(out, k, K_PRESS, s[S_PRESS_START], n, n, np.nan, s[S_PRESS_PEAK],
                          1.0, s[S_PRESS_PEAK], s[S_PRESS_LTRS])
        # -- force bumps (an LTR the thumb feels) -----------------------------
        if f == f:
            s[S_FACC] += f
            s[S_FCNT] += 1.0
        s[S_EMAX] = max(s[S_EMAX], e)
        if s[S_FCNT] >= p[P_BUMP_TICK]:
            s[S_BRING + int(s[S_BTICKS]) % BUMP_MAX_TICKS] = s[S_FACC] / s[S_FCNT]
            s[S_ERING + int(s[S_BTICKS]) % BUMP_MAX_TICKS] = s[S_EMAX]
            s[S_BTICKS] += 1.0
            s[S_FACC] = 0.0
            s[S_FCNT] = 0.0
            s[S_EMAX] = 0.0
            k = _bump_tick(p, s, n, out, k)
        # -- learning the floors --------------------------------------------
        if n < p[P_WARMUP]:
            a = 1.0 / (n + 1.0)
            s[S_FLOOR] += a * (e - s[S_FLOOR])
            s[S_LFFLOOR] += a * (elf - s[S_LFFLOOR])
            s[S_N] = n + 1.0
            continue
        quiet = s[S_ACTIVE] == 0.0 and s[S_ABOVE] == 0.0 and s[S_M_ACTIVE] == 0.0 and s[S_M_ABOVE] == 0.0
        if quiet:
            if e < s[S_FLOOR]:
                s[S_FLOOR] += p[P_A_FALL] * (e - s[S_FLOOR])
            elif e < p[P_ON_RATIO] * s[S_FLOOR]:
                s[S_FLOOR] += p[P_A_RISE] * (e - s[S_FLOOR])
            if elf < s[S_LFFLOOR]:
                s[S_LFFLOOR] += p[P_A_FALL] * (elf - s[S_LFFLOOR])
            elif elf < p[P_MOTION_ON] * s[S_LFFLOOR]:
                s[S_LFFLOOR] += p[P_A_RISE] * (elf - s[S_LFFLOOR])
        floor = max(s[S_FLOOR], p[P_FLOOR_MIN], 1e-30)
        # The largest energy of a quiet second, learned per block: it says how far
        # noise reaches, which the floor (where noise sits) cannot.
        if not quiet:
            s[S_LAST_BUSY] = n
        s[S_QB_N] += 1.0
        if n - s[S_LAST_BUSY] > p[P_OFF_HOLD]:
            s[S_QB_MAX] = max(s[S_QB_MAX], e)
        else:
            s[S_QB_BUSY] = 1.0  # this block saw a burst or motion: it says nothing of noise
        if s[S_QB_N] >= p[P_QBLOCK]:
            if s[S_QB_BUSY] == 0.0:
                m = s[S_QB_MAX]
                if s[S_QPEAK] == 0.0 or m < s[S_QPEAK]:
                    s[S_QPEAK] = m
                else:
                    s[S_QPEAK] += QPEAK_RISE * (m - s[S_QPEAK])
            s[S_QB_N] = 0.0
            s[S_QB_MAX] = 0.0
            s[S_QB_BUSY] = 0.0
        # The background: the lower quartile of every block's largest energy,
        # busy or not. Pure noise keeps it under the thresholds below; tonic
        # guarding (a few units firing on and on) fills every block with
        # motor-unit potentials and lifts it, so they stop being "twitches".
        s[S_BG_MAX] = max(s[S_BG_MAX], e)
        s[S_BG_N] += 1.0
        if s[S_BG_N] >= p[P_BG_BLOCK]:
            m = s[S_BG_MAX]
            if s[S_BG] == 0.0:
                s[S_BG] = m
            elif m > BG_EVENT * s[S_BG]:
                pass  # a block this far above the background holds an event, not background
            elif m > s[S_BG]:
                s[S_BG] *= np.exp(p[P_BG_UP])
            else:
                s[S_BG] *= np.exp(-p[P_BG_DOWN])
            # The quantile steps in a sawtooth (x1.3 up, x0.4 down); what the
            # thresholds use is its log smoothed over a few blocks.
            if s[S_BG_LOG] == 0.0:
                s[S_BG_LOG] = np.log(max(s[S_BG], 1e-300))
            else:
                s[S_BG_LOG] += BG_SMOOTH * (np.log(max(s[S_BG], 1e-300)) - s[S_BG_LOG])
            s[S_BG_LEVEL] = np.exp(s[S_BG_LOG]) if s[S_BG_LOG] != 0.0 else 0.0
            s[S_BG_N] = 0.0
            s[S_BG_MAX] = 0.0
        on_level = p[P_ON_RATIO] * floor
        if s[S_QPEAK] > 0.0:
            on_level = min(on_level, p[P_PEAK_RATIO] * max(s[S_QPEAK], p[P_PEAK_MIN]))
        on_level = max(on_level, p[P_BG_ON] * s[S_BG_LEVEL])
        s[S_AFTER] *= p[P_AFTER_DECAY]
        on_level = max(on_level, s[S_AFTER])
        off_level = max(p[P_OFF_RATIO] * floor, p[P_BG_OFF] * s[S_BG_LEVEL])
        # Low-level firing: each rise of the energy through a fraction of the
        # onset level is remembered, so that a burst can ask what it grew out of.
        if e > p[P_PRIOR_LEVEL] * on_level:
            if s[S_P_ABOVE] == 0.0:
                head = int(s[S_P_HEAD])
                s[S_PRING + head] = n
                s[S_P_HEAD] = (head + 1) % PRIOR_RING
                s[S_P_ABOVE] = 1.0
        else:
            s[S_P_ABOVE] = 0.0
        # -- muscle bursts: double threshold ------------------------------
        if s[S_ACTIVE] == 0.0:
            if e <= off_level:
                s[S_QUIET_AT] = n
            if e > on_level:
                if s[S_ABOVE] == 0.0:
                    # The burst began where the energy last left the noise, not where it
                    # cleared the onset threshold: a burst that swells (or one a 10-bit
                    # ADC renders in a few codes) crosses 7x the floor well after it began.
                    s[S_CAND] = max(s[S_QUIET_AT] + 1.0, n - p[P_BACKTRACK])
                    s[S_PEAK] = 0.0
                    s[S_PEAK_E] = 0.0
                    s[S_CORE_FIRST] = -1.0
                    s[S_HF] = 0.0
                    s[S_LF] = 0.0
                    s[S_FORCE_ON] = fs
                    eligible = s[S_INPRESS] == 1.0 or n - s[S_LAST_LIFT] <= p[P_AFTER_PRESS] \
                        or n - s[S_LAST_SNAP] <= p[P_SNAP_WINDOW]
                    s[S_ELIGIBLE] = 1.0 if eligible else 0.0
                s[S_ABOVE] += 1.0
                if s[S_ABOVE] >= p[P_ON_HOLD]:
                    s[S_ACTIVE] = 1.0
                    s[S_ONSET] = s[S_CAND]
                    s[S_LAST_BURST_ON] = s[S_CAND]
                    s[S_BELOW] = 0.0
                    # How many separate potentials of low-level firing came just
                    # before: a burst that grows out of ongoing firing is more of
                    # it (tonic guarding starting up), not a twitch of its own.
                    prior = 0.0
                    for j in range(PRIOR_RING):
                        at = s[S_PRING + j]
                        if s[S_CAND] - p[P_PRIOR_WIN] <= at < s[S_CAND] - p[P_PRIOR_GAP]:
                            prior += 1.0
                    s[S_FROM_FIRING] = 1.0 if prior >= p[P_PRIOR_N] else 0.0
                    # Flag at once; the burst's length and spectrum decide the kind later.
                    if s[S_FROM_FIRING] == 0.0:
                        k = _emit(out, k, K_ONSET, s[S_CAND], np.nan, n, max(s[S_PEAK], abs(y)),
                                  s[S_FORCE_ON], 0.5, s[S_ELIGIBLE], 0.0)
            else:
                s[S_ABOVE] = 0.0
        if s[S_ACTIVE] == 1.0 or s[S_ABOVE] > 0.0:
            # The burst's core: from the first to the last sample whose own
            # (unsmoothed) energy clears the onset level. The smoothed energy of
            # one large potential lingers for tens of ms; its core does not.
            if psi > on_level:
                if s[S_CORE_FIRST] < 0.0:
                    s[S_CORE_FIRST] = n
                s[S_CORE_LAST] = n
            s[S_PEAK] = max(s[S_PEAK], abs(y))
            s[S_PEAK_E] = max(s[S_PEAK_E], e)
            s[S_HF] += y * y
            s[S_LF] += lf * lf
        if s[S_ACTIVE] == 1.0:
            if s[S_M_ACTIVE] == 1.0:
                s[S_M_CLAIMED] = 1.0
            if e < max(off_level, p[P_REL_OFF] * s[S_PEAK_E]):
                if s[S_BELOW] == 0.0:
                    s[S_END_CAND] = n
                s[S_BELOW] += 1.0
                if s[S_BELOW] >= p[P_OFF_HOLD]:
                    onset, end = s[S_ONSET], s[S_END_CAND]
                    ratio = s[S_PEAK_E] / floor
                    conf = min(1.0, max(0.3, ratio / (4.0 * p[P_ON_RATIO])))
                    if s[S_LF] > p[P_MOTION_RATIO] * s[S_HF]:
                        kind = K_ARTIFACT
                    elif end - onset > p[P_SHORT_MAX]:
                        kind = K_CONTRACTION
                    elif s[S_FROM_FIRING] == 1.0:
                        kind = 0  # low-level firing the background has not learned yet
                    elif s[S_ELIGIBLE] == 1.0:
                        # An LTR is a polyphasic burst of several units; one
                        # motor-unit potential under the thumb (tonic firing,
                        # a noise spike) is not one, and is not reported.
                        kind = K_LTR if s[S_CORE_LAST] - s[S_CORE_FIRST] >= p[P_LTR_MIN] else 0
                        if kind == K_LTR and s[S_INPRESS] == 1.0:
                            s[S_PRESS_LTRS] += 1.0
                    else:
                        kind = K_TWITCH
                    if kind == 0:
                        s[S_LAST_BURST_ON] = _NEVER  # an unreported burst does not explain a force bump away
                    else:
                        k = _emit(out, k, kind, onset, end, n, s[S_PEAK], s[S_FORCE_ON], conf,
                                  s[S_LF] / max(s[S_HF], 1e-30), 0.0)
                    s[S_AFTER] = max(s[S_AFTER], p[P_REL_OFF] * s[S_PEAK_E])
                    s[S_ACTIVE] = 0.0
                    s[S_ABOVE] = 0.0
                    s[S_BELOW] = 0.0
            else:
                s[S_BELOW] = 0.0
        # -- electrode motion on its own ------------------------------------
        lffloor = max(s[S_LFFLOOR], p[P_LF_FLOOR_MIN], 1e-30)
        if s[S_M_ACTIVE] == 0.0:
            if elf > p[P_MOTION_ON] * lffloor:
                if s[S_M_ABOVE] == 0.0:
                    s[S_M_CAND] = n
                    s[S_M_PEAK] = 0.0
                    s[S_M_SLOPE] = 0.0
                    s[S_M_CLAIMED] = s[S_ACTIVE]
                s[S_M_ABOVE] += 1.0
                if s[S_M_ABOVE] >= 4.0 * p[P_ON_HOLD]:
                    s[S_M_ACTIVE] = 1.0
                    s[S_M_ONSET] = s[S_M_CAND]
                    s[S_LAST_MOTION_ON] = s[S_M_CAND]
                    s[S_M_BELOW] = 0.0
            else:
                s[S_M_ABOVE] = 0.0
        if s[S_M_ACTIVE] == 1.0 or s[S_M_ABOVE] > 0.0:
            s[S_M_PEAK] = max(s[S_M_PEAK], abs(lf))
            s[S_M_SLOPE] = max(s[S_M_SLOPE], abs(slope))
        if s[S_M_ACTIVE] == 1.0:
            if elf < 0.25 * p[P_MOTION_ON] * lffloor:
                if s[S_M_BELOW] == 0.0:
                    s[S_M_END_CAND] = n
                s[S_M_BELOW] += 1.0
                if s[S_M_BELOW] >= p[P_OFF_HOLD]:
                    if s[S_M_CLAIMED] == 0.0 and s[S_ACTIVE] == 0.0:
                        k = _emit(out, k, K_ARTIFACT, s[S_M_ONSET], s[S_M_END_CAND], n, s[S_M_PEAK],
                                  s[S_FS], 0.8, 0.0, s[S_M_SLOPE])
                    s[S_M_ACTIVE] = 0.0
                    s[S_M_ABOVE] = 0.0
                    s[S_M_BELOW] = 0.0
            else:
                s[S_M_BELOW] = 0.0
        s[S_N] = n + 1.0
    return k
