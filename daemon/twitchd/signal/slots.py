"""The detector kernel's memory and output: state slots, event kinds and rows.

One float64 array holds all a stream's state (so any block size gives the
same events and a saved state resumes exactly); the kernel and its force-bump
stage both read these names.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from twitchd.signal.params import BUMP_MAX_TICKS

# Event kinds in the output rows (index into twitchd.events.KINDS + 1).
K_LTR, K_TWITCH, K_CONTRACTION, K_ARTIFACT, K_PRESS, K_GAP, K_FELT = 1, 2, 3, 4, 5, 6, 7
# A provisional flag at burst onset (not a final kind): X1 = 1 if it looks like an LTR.
K_ONSET = 8
# Columns of an output row.
E_KIND, E_ONSET, E_END, E_DECIDED, E_PEAK, E_FORCE, E_CONF, E_X1, E_X2, E_COLS = range(10)

# State slots.
(S_HP1, S_HP2, S_NA1, S_NA2, S_NB1, S_NB2, S_Y1, S_Y2, S_E, S_FLOOR, S_N,
 S_ACTIVE, S_ABOVE, S_BELOW, S_CAND, S_ONSET, S_END_CAND, S_PEAK, S_PEAK_E, S_HF, S_LF,
 S_FORCE_ON, S_ELIGIBLE, S_FS, S_INPRESS, S_PRESS_START, S_PRESS_PEAK, S_PRESS_LTRS,
 S_LAST_LIFT, S_LAST_SNAP, S_DC, S_LF1, S_LF2, S_ELF, S_LFFLOOR, S_M_ACTIVE, S_M_ABOVE,
 S_M_BELOW, S_M_CAND, S_M_ONSET, S_M_END_CAND, S_M_PEAK, S_M_SLOPE, S_M_CLAIMED,
 S_FS_PREV, S_MA1, S_MA2, S_MB1, S_MB2, S_R50A, S_R50B, S_R60A, S_R60B, S_HUM50, S_HUM60,
 S_USE60, S_LP1, S_LP2, S_FACC, S_FCNT, S_BTICKS, S_BFLOOR, S_BACTIVE, S_BMAX, S_BMAX_N,
 S_BMAX_LEVEL, S_LAST_BURST_ON, S_LAST_MOTION_ON, S_BP_HAS, S_BP_C, S_BP_N, S_BP_LEVEL,
 S_BP_THR, S_BMAX_FIT, S_BSUPPRESS_N, S_BSUPPRESS_C, S_QUIET_AT, S_QB_MAX, S_QB_N, S_QB_BUSY, S_QPEAK,
 S_LAST_BUSY, S_EMAX, S_BG, S_BG_MAX, S_BG_N, S_CORE_FIRST, S_CORE_LAST, S_BG_LOG, S_BG_LEVEL, S_AFTER,
 S_P_ABOVE, S_P_HEAD, S_FROM_FIRING, S_BRING) = range(95)
#: Beside each tick of averaged force (S_BRING...) the largest EMG energy of
#: that tick (S_ERING...), so a bump can ask whether the muscle stirred with it.
S_ERING = S_BRING + BUMP_MAX_TICKS
#: When the energy last rose through the prior-firing level (a ring of
#: PRIOR_RING sample indices, S_PRING...), so a new burst can ask how much
#: low-level firing it grew out of.
PRIOR_RING = 16
S_PRING = S_ERING + BUMP_MAX_TICKS
N_STATE = S_PRING + PRIOR_RING

_NEVER = -1e18


def new_state() -> npt.NDArray[np.float64]:
    state = np.zeros(N_STATE)
    state[S_LAST_LIFT] = _NEVER
    state[S_LAST_SNAP] = _NEVER
    state[S_LAST_BURST_ON] = _NEVER
    state[S_LAST_MOTION_ON] = _NEVER
    state[S_BSUPPRESS_N] = _NEVER
    state[S_PRING:S_PRING + PRIOR_RING] = _NEVER
    return state


def max_events(n: int, rate_hz: float) -> int:
    """Output rows a block of n samples can need: bursts need >= 5 ms each."""
    return n // max(1, int(0.005 * rate_hz)) + 8


@numba.njit(cache=True, nogil=True)
def _emit(out: npt.NDArray[np.float64], k: int, kind: int, onset: float, end: float, decided: float,
          peak: float, force: float, conf: float, x1: float, x2: float) -> int:
    if k >= out.shape[0]:
        return k
    out[k, E_KIND] = kind
    out[k, E_ONSET] = onset
    out[k, E_END] = end
    out[k, E_DECIDED] = decided
    out[k, E_PEAK] = peak
    out[k, E_FORCE] = force
    out[k, E_CONF] = conf
    out[k, E_X1] = x1
    out[k, E_X2] = x2
    return k + 1
