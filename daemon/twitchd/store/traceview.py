"""A stored session's traces as the dashboard draws them: min/max per column.

A browser never needs every sample of a 20-minute session: it draws one column
per pixel. This reads only the chunks that overlap the asked-for window and
reduces them to at most ``points`` buckets, each with the EMG's minimum and
maximum (so a 5 ms burst survives any zoom) and the mean force, in the same
shape as the live ``trace`` message. Missing samples (gaps) stay ``null``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd.store.sessions import SessionStore, physical

#: The live view high-passes RAW at 20 Hz; a stored view removes the sensor's
#: Vs/2 offset and slow drift with a centred moving average whose first null is
#: at 20 Hz (50 ms). Zero-phase, cheap, and close enough for looking at bursts.
DETREND_S = 0.05


def session_trace(store: SessionStore, session_id: int, device: str | None, start_s: float, seconds: float,
                  points: int) -> dict[str, Any]:
    """Buckets of ``[start_s, start_s + seconds)`` in session time; raises SessionNotFoundError."""
    dev = store.device(session_id, device)
    rate = dev.rate_hz
    a = max(dev.first_index, math.floor(start_s * rate))
    b = max(a, min(dev.end_index, a + math.ceil(seconds * rate)))
    step = max(1, math.ceil((b - a) / points))
    n = math.ceil((b - a) / step)
    emg_lo = np.full(n, np.inf)
    emg_hi = np.full(n, -np.inf)
    f_sum = np.zeros(n)
    f_cnt = np.zeros(n)
    pad = math.ceil(DETREND_S * rate / 2)
    for first, emg, force in sample_runs(store, session_id, dev.name, dev.cmap, a - pad, b + pad):
        emg = emg - _moving_mean(emg, 2 * pad + 1)
        idx = first + np.arange(len(emg))
        keep = (idx >= a) & (idx < b)
        if not keep.any():
            continue
        bucket = (idx[keep] - a) // step
        starts = np.flatnonzero(np.diff(bucket, prepend=-1))
        at = bucket[starts]
        emg_lo[at] = np.fmin(emg_lo[at], np.minimum.reduceat(emg[keep], starts))
        emg_hi[at] = np.fmax(emg_hi[at], np.maximum.reduceat(emg[keep], starts))
        if force is not None:
            np.add.at(f_sum, at, np.add.reduceat(force[keep], starts))
            np.add.at(f_cnt, at, np.diff(np.append(starts, keep.sum())))
    return {
        "session_id": session_id, "device": dev.name, "rate_hz": rate,
        "first_s": dev.first_index / rate, "end_s": dev.end_index / rate,
        "t0_s": a / rate, "dt_s": step / rate,
        "emg_min_v": _json(emg_lo, 6), "emg_max_v": _json(emg_hi, 6),
        "force_n": _json(np.divide(f_sum, f_cnt, out=np.full(n, np.nan), where=f_cnt > 0), 3),
    }


def sample_runs(store: SessionStore, session_id: int, device: str, cmap: Any, a: int,
          b: int) -> list[tuple[int, npt.NDArray[np.float64], npt.NDArray[np.float64] | None]]:
    """Contiguous stretches of samples overlapping ``[a, b)``: ``(first_index, emg_v, force_n)``."""
    rows = store.db.execute(
        "SELECT first_index, n, channels, counts FROM chunks WHERE session_id = ? AND device = ?"
        " AND first_index < ? AND first_index + n > ? ORDER BY first_index", (session_id, device, b, a))
    runs: list[tuple[int, list[npt.NDArray[np.uint16]]]] = []
    end = None
    for first, count, channels, blob in rows:
        counts = np.frombuffer(blob, dtype="<u2").reshape(int(count), int(channels))
        if end is not None and first == end:
            runs[-1][1].append(counts)
        else:
            runs.append((int(first), [counts]))
        end = int(first) + int(count)
    out = []
    for first, parts in runs:
        values = physical(cmap, np.concatenate(parts))
        out.append((first, values["emg_v"], values.get("force_n")))
    return out


def _moving_mean(x: npt.NDArray[np.float64], width: int) -> npt.NDArray[np.float64]:
    """Centred mean over ``width`` samples, over fewer at the edges (no zero padding)."""
    if len(x) == 0:
        return x
    c = np.concatenate([[0.0], np.cumsum(x)])
    half = width // 2
    i = np.arange(len(x))
    lo, hi = np.maximum(0, i - half), np.minimum(len(x), i + half + 1)
    return (c[hi] - c[lo]) / (hi - lo)  # type: ignore[no-any-return]


def _json(v: npt.NDArray[np.float64], digits: int) -> list[float | None]:
    return [round(float(x), digits) if math.isfinite(x) else None for x in v]
