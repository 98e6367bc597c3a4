"""A teaching lab records 16 boards at 2 kHz at once: the writer keeps up.

Frames go straight into the recorder as 16 pipelines would hand them over,
faster than real time, so the disk and the writer thread are what is tested.
(The full 10-minute figures are in docs/recording.md.)
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from tests.store.test_recorder import CMAP, INFO
from twitchd.store.recorder import Recorder, SessionMeta
from twitchd.store.sessions import SessionStore

DEVICES, RATE, PER, SECONDS, SPEEDUP = 16, 2000, 20, 30.0, 8.0


@pytest.mark.slow
def test_16_devices_at_2_khz_lose_nothing_and_the_writer_lag_stays_bounded(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.start(SessionMeta())
    infos = [dataclasses.replace(INFO, id=f"dev-{k}") for k in range(DEVICES)]
    block = np.random.default_rng(1).integers(0, 4096, size=(PER, 3)).astype(np.uint16)
    frames = int(SECONDS * RATE / PER)
    began = time.perf_counter()
    worst_queue = 0
    for f in range(frames):
        for k in range(DEVICES):
            rec.on_data(f"dev-{k}", infos[k], CMAP, 0, f * PER, block, 0, f * PER / RATE)
        if f % 50 == 0:
            worst_queue = max(worst_queue, rec.status()["queued"])
            pause = began + f * PER / RATE / SPEEDUP - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
    status = rec.stop()
    assert status["state"] == "idle", status["error"]
    assert status["samples"] == DEVICES * frames * PER
    assert status["max_lag_s"] < 1.0 and worst_queue < 20_000
    with SessionStore(tmp_path) as store:
        (s,) = store.all()
        assert len(s["devices"]) == DEVICES and all(d["samples"] == frames * PER for d in s["devices"])
        assert s["lost_samples"] == 0
