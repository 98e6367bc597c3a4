"""The recorder under 16 devices at 2 kHz x 3 channels, fed 4x faster than real time.

Prints whether every sample reached the database, the writer's worst lag
behind the sensors, the deepest queue, and the slowest hand-over call on the
data path (which must stay short: acquisition never waits for the disk).

Usage: .venv/bin/python benchmarks/recording_load.py [SECONDS_OF_SIGNAL]   (default 600)
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.store.test_recorder import CMAP, INFO  # noqa: E402  (a device description shared with the tests)
from twitchd.store.recorder import Recorder, SessionMeta  # noqa: E402

DEVICES, RATE, PER_FRAME, SPEED = 16, 2000, 20, 4.0


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 600.0
    folder = Path(tempfile.mkdtemp())
    rec = Recorder(folder)
    rec.start(SessionMeta())
    infos = [replace(INFO, id=f"sim-{k}") for k in range(DEVICES)]
    block = np.random.default_rng(1).integers(0, 4096, size=(PER_FRAME, 3)).astype(np.uint16)
    frames = int(seconds * RATE / PER_FRAME)
    start, deepest, slowest = time.perf_counter(), 0, 0.0
    for f in range(frames):
        for k in range(DEVICES):
            t = time.perf_counter()
            rec.on_data(f"sim-{k}", infos[k], CMAP, 0, f * PER_FRAME, block, 0, f * PER_FRAME / RATE)
            slowest = max(slowest, time.perf_counter() - t)
        if f % 100 == 0:
            deepest = max(deepest, rec.status()["queued"])
            target = start + f * PER_FRAME / RATE / SPEED
            while time.perf_counter() < target:
                time.sleep(0.001)
    fed = time.perf_counter() - start
    status = rec.stop()
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1e6
    print(f"{DEVICES} devices x {RATE} Hz x {seconds:.0f} s fed in {fed:.1f} s ({SPEED:g}x real time): "
          f"state {status['state']}, samples {status['samples']} of {DEVICES * frames * PER_FRAME}, "
          f"writer lag max {status['max_lag_s'] * 1000:.0f} ms, queue max {deepest}, "
          f"slowest hand-over {slowest * 1000:.1f} ms, database {size:.0f} MB")


if __name__ == "__main__":
    main()
