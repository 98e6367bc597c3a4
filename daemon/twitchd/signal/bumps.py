"""Kernel stage 3b: force bumps, the taut band pushing back on the thumb.

Force averaged to 100 Hz is fitted, window by window, as a quadratic trend
plus a raised-cosine bump. A bump in a steady hold that no EMG burst or
electrode motion explains is reported as "felt", never as an LTR: a held
thumb's tremor and drift fit bumps too (docs/detector.md, "Force evidence").
``bump_emg_ratio`` > 0 makes a bump the EMG stirred with an LTR again.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from twitchd.signal.params import (
    BUMP_MAX_TICKS, BUMP_TERMS, P_BUMP_A_FALL, P_BUMP_A_RISE, P_BUMP_CENTER, P_BUMP_DELAY, P_BUMP_EMG, P_BUMP_FIT,
    P_BUMP_HALF, P_BUMP_MIN, P_BUMP_PINV, P_BUMP_RATIO, P_BUMP_SETTLE, P_BUMP_SLOPE, P_BUMP_TICK, P_BUMP_W,
    P_BUMP_X, P_PEAK_MIN,
)
from twitchd.signal.slots import *  # noqa: F403 (the state's slot names)
from twitchd.signal.slots import _emit

#: A bump fitted this well (residual / height) is a main lobe, never a side lobe
#: (side lobes of the bump model leave >= 0.48 unexplained, see bump_fit).
CLEAR_BUMP_FIT = 0.3


@numba.njit(cache=True, nogil=True)
def _bump_tick(p: npt.NDArray[np.float64], s: npt.NDArray[np.float64], n: float,
               out: npt.NDArray[np.float64], k: int) -> int:
    """One 100 Hz step of the force-bump stage; may emit a bump felt in force alone.

    The newest window of averaged force is fitted as a + b t + q t^2 + c bump
    (least squares through a precomputed pseudo-inverse). A bump counts when c
    clears both a learned floor and an absolute minimum and the model explains
    the window (a step or a dip does not fit). It is held until no larger fit
    nearby can make it a side lobe, then reported unless EMG explains it.
    """
    w = int(p[P_BUMP_W])
    ticks = s[S_BTICKS]
    tick = p[P_BUMP_TICK]
    half = p[P_BUMP_HALF] * tick
    lobe = (0.75 * w + 1.0) * tick
    if s[S_BFLOOR] == 0.0:
        s[S_BFLOOR] = (p[P_BUMP_MIN] / p[P_BUMP_RATIO]) ** 2
    start_n = n - w * tick  # the window's first sample
    centre_n = start_n + p[P_BUMP_CENTER] * tick
    # A pending bump is final once no larger one can be its centre lobe: the fit
    # of a single bump has side lobes (~25 %) about half a window either side.
    if s[S_BP_HAS] == 1.0 and centre_n - s[S_BP_N] > lobe:
        k = _bump_final(p, s, n, half, out, k)
    steady = s[S_INPRESS] == 1.0 and start_n - s[S_PRESS_START] >= p[P_BUMP_SETTLE] \
        and start_n - s[S_LAST_SNAP] >= p[P_BUMP_SETTLE] and ticks >= w
    if not steady:
        s[S_BACTIVE] = 0.0
        s[S_BP_HAS] = 0.0
        return k
    coef = np.zeros(BUMP_TERMS)
    first = int(ticks) - w
    for j in range(w):
        v = s[S_BRING + (first + j) % BUMP_MAX_TICKS]
        for t in range(BUMP_TERMS):
            coef[t] += p[P_BUMP_PINV + t * w + j] * v
    sq = 0.0
    for j in range(w):
        fit = 0.0
        for t in range(BUMP_TERMS):
            fit += p[P_BUMP_X + j * BUMP_TERMS + t] * coef[t]
        d = s[S_BRING + (first + j) % BUMP_MAX_TICKS] - fit
        sq += d * d
    resid = np.sqrt(sq / w)
    c = coef[BUMP_TERMS - 1]
    threshold = max(p[P_BUMP_RATIO] * np.sqrt(s[S_BFLOOR]), p[P_BUMP_MIN])
    if s[S_BACTIVE] == 0.0 and s[S_BP_HAS] == 0.0 and abs(c) < threshold:
        a = p[P_BUMP_A_RISE] if c * c > s[S_BFLOOR] else p[P_BUMP_A_FALL]
        s[S_BFLOOR] += a * (c * c - s[S_BFLOOR])
    if c > threshold and resid < p[P_BUMP_FIT] * c and abs(coef[1]) < p[P_BUMP_SLOPE]:
        if s[S_BACTIVE] == 0.0 or c > s[S_BMAX]:
            s[S_BMAX] = c
            s[S_BMAX_N] = centre_n
            s[S_BMAX_LEVEL] = coef[0]
            s[S_BMAX_FIT] = resid / c
        s[S_BACTIVE] = 1.0
        return k
    if s[S_BACTIVE] == 1.0:
        s[S_BACTIVE] = 0.0
        if s[S_BMAX_N] <= s[S_BSUPPRESS_N] and s[S_BMAX] <= s[S_BSUPPRESS_C]:
            return k  # the trailing side lobe of a bump already reported
        if s[S_BP_HAS] == 1.0 and s[S_BMAX_N] - s[S_BP_N] <= lobe:
            if s[S_BMAX] <= s[S_BP_C]:
                return k  # a side lobe of the pending bump
        elif s[S_BP_HAS] == 1.0:
            k = _bump_final(p, s, n, half, out, k)
        s[S_BP_HAS] = 1.0
        s[S_BP_C] = s[S_BMAX]
        s[S_BP_N] = s[S_BMAX_N]
        s[S_BP_LEVEL] = s[S_BMAX_LEVEL]
        s[S_BP_THR] = threshold
        if s[S_BMAX_FIT] < CLEAR_BUMP_FIT:
            # A main lobe fits far better than any side lobe can (a side lobe
            # leaves >= 0.48 of its height unexplained): report it now, and let
            # its trailing lobe be recognised by size.
            s[S_BSUPPRESS_N] = s[S_BMAX_N] + lobe
            s[S_BSUPPRESS_C] = s[S_BMAX]
            k = _bump_final(p, s, n, half, out, k)
    return k


@numba.njit(cache=True, nogil=True)
def _bump_final(p: npt.NDArray[np.float64], s: npt.NDArray[np.float64], n: float, half: float,
                out: npt.NDArray[np.float64], k: int) -> int:
    """Report the pending bump as felt unless EMG already did, or electrode motion says re-grip."""
    s[S_BP_HAS] = 0.0
    bump_end = s[S_BP_N] + half
    onset = s[S_BP_N] - half - p[P_BUMP_DELAY]
    # An EMG burst around it is the same twitch (the EMG path reports it);
    # electrode motion with it means the thumb shifted (a re-grip), not a twitch.
    explained = s[S_ACTIVE] == 1.0 or s[S_ABOVE] > 0.0 or \
        (s[S_LAST_BURST_ON] >= onset - 4.0 * half and s[S_LAST_BURST_ON] <= bump_end)
    regrip = s[S_M_ACTIVE] == 1.0 or s[S_M_ABOVE] > 0.0 or \
        (s[S_LAST_MOTION_ON] >= onset - 4.0 * half and s[S_LAST_MOTION_ON] <= bump_end + 2.0 * half)
    if explained or regrip:
        return k
    conf = min(1.0, max(0.3, s[S_BP_C] / (4.0 * s[S_BP_THR])))
    # A held thumb trembles and drifts, and some of that fits a bump, so a bump
    # is "felt", shown apart. How far the EMG stirred with it (its energy around
    # the bump over what the EMG reaches anyway: quiet noise, or the background
    # of tonic firing) goes with it; bump_emg_ratio > 0 makes a stirred bump an LTR.
    support = _emg_support(p, s, n, onset - p[P_BUMP_DELAY], s[S_BP_N])
    reach = max(s[S_QPEAK], p[P_PEAK_MIN], s[S_BG_LEVEL])
    stir = support / reach if s[S_QPEAK] > 0.0 else 0.0
    if p[P_BUMP_EMG] > 0.0 and stir >= p[P_BUMP_EMG]:
        k = _emit(out, k, K_LTR, onset, bump_end, n, np.nan, s[S_BP_LEVEL], conf, stir, s[S_BP_C])
        s[S_PRESS_LTRS] += 1.0
    else:
        k = _emit(out, k, K_FELT, onset, bump_end, n, np.nan, s[S_BP_LEVEL], conf, stir, s[S_BP_C])
    return k


@numba.njit(cache=True, nogil=True)
def _emg_support(p: npt.NDArray[np.float64], s: npt.NDArray[np.float64], n: float, lo: float, hi: float) -> float:
    """The largest EMG energy of the force ticks that cover samples lo..hi (n is now)."""
    tick = p[P_BUMP_TICK]
    last = s[S_BTICKS] - 1.0  # the tick that ended at sample n
    j_lo = max(last - np.ceil((n - lo) / tick), s[S_BTICKS] - BUMP_MAX_TICKS, 0.0)
    j_hi = min(last - np.floor((n - hi) / tick), last)
    best = 0.0
    j = j_lo
    while j <= j_hi:
        best = max(best, s[S_ERING + int(j) % BUMP_MAX_TICKS])
        j += 1.0
    return best
