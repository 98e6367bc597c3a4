"""``twitchd bench detector``: the detector's speed, and NeuroKit2's on the same signal.

NeuroKit2 (an optional benchmark dependency: ``pip install 'twitchd[bench]'``)
is offline and slow, so it runs on a slice of the recording; both detectors
are timed on that same slice in the same process, and the ratio comes from it.
The streaming speed is also measured over the whole recording.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any


from twitchd.signal.detector import detect_offline, warm_up
from twitchd.sim import sensors
from twitchd.sim.session import SessionSimulator, SimConfig


def best_of(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def detector_bench(minutes: float = 60.0, neurokit_minutes: float = 2.0, block: int = 2000) -> dict[str, Any]:
    """Streaming samples/s in blocks of ``block`` samples, the same in frame-sized blocks
    (10 samples: what the live pipeline feeds, where call overhead dominates), and
    the ratio to NeuroKit2 on the same slice."""
    warm_up()
    cfg = SimConfig(seed=1)
    n = int(minutes * 60 * cfg.rate_hz)
    counts = SessionSimulator(cfg).read(n)
    lsb = cfg.supply_v / cfg.full_scale
    emg = counts[:, 0] * lsb
    force = sensors.fsr_newtons(counts[:, 2] * lsb, cfg.supply_v)
    whole = best_of(3, lambda: detect_offline(emg, force, cfg.rate_hz, block=block))
    result: dict[str, Any] = {
        "recording_s": n / cfg.rate_hz, "rate_hz": cfg.rate_hz, "block_samples": block,
        "seconds": round(whole, 4), "samples_per_s": round(n / whole),
        "x_real_time": round(n / whole / cfg.rate_hz), "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
    }
    short = min(n, 60 * cfg.rate_hz)
    per_frame = best_of(1, lambda: detect_offline(emg[:short], force[:short], cfg.rate_hz, block=10))
    result["samples_per_s_frame_blocks"] = round(short / per_frame)
    m = min(n, int(neurokit_minutes * 60 * cfg.rate_hz))
    ours = best_of(3, lambda: detect_offline(emg[:m], force[:m], cfg.rate_hz, block=block))
    try:
        import neurokit2 as nk
    except ImportError:
        result["vs_neurokit2"] = None
        result["neurokit2"] = "not installed: pip install 'twitchd[bench]'"
        return result

    def neurokit() -> None:
        signals, _ = nk.emg_process(emg[:m], sampling_rate=cfg.rate_hz)
        nk.emg_activation(signals["EMG_Amplitude"], sampling_rate=cfg.rate_hz)

    theirs = best_of(1, neurokit)
    result.update({
        "neurokit2": nk.__version__, "neurokit2_slice_s": m / cfg.rate_hz,
        "neurokit2_seconds": round(theirs, 3), "twitchd_slice_seconds": round(ours, 5),
        "vs_neurokit2": round(theirs / ours, 1),
    })
    return result
