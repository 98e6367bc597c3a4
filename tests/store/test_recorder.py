"""The recorder never holds acquisition up: a disk that cannot keep up ends the
recording with a message instead of making the sensor wait."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from twitchd.events import Event
from twitchd.pipeline import DeviceInfo
from twitchd.signal.calibration import ChannelMap
from twitchd.store.recorder import Recorder, SessionMeta
from twitchd.store.sessions import SessionStore

CMAP = ChannelMap(emg=0, force=2, env=1, emg_scale=3.3 / 4095, force_supply_v=3.3, force_full_scale=4095,
                  env_scale=3.3 / 4095)
INFO = DeviceInfo(id="sim-1", source="simulated", board="b", firmware="1", device_id="D", rate_hz=2000,
                  channels=["raw", "env", "fsr"])


def frames(n: int, per: int = 20, start: int = 0) -> list[tuple[int, np.ndarray]]:
    return [(start + k * per, np.full((per, 3), k % 4096, dtype=np.uint16)) for k in range(n)]


def test_a_full_queue_stops_the_recording_at_once_and_keeps_what_was_queued(tmp_path: Path) -> None:
    rec = Recorder(tmp_path, queue_frames=50)
    rec.start(SessionMeta())
    rec._stop.set()  # the writer leaves once the queue runs dry: from then on nobody drains it, like a stalled disk
    began = time.perf_counter()
    for index, counts in frames(500):
        rec.on_data("sim-1", INFO, CMAP, 0, index, counts, 0, index / 2000)
    spent = time.perf_counter() - began
    assert spent < 0.5  # 500 frames handed over without waiting on the disk
    status = rec.stop()
    assert status["state"] == "failed" and "could not keep up" in status["error"]
    with SessionStore(tmp_path) as store:
        (s,) = store.all()
        assert s["stop_reason"].startswith("recording stopped") and 0 < s["samples"] <= 500 * 20


def test_frames_events_and_gaps_land_on_the_session_time_axis(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.start(SessionMeta(patient="P"))
    origin = 4_294_967_000  # the device's index wraps around 2**32 during the session
    for index, counts in frames(100, start=origin + 1000):
        if 40 <= (index - origin - 1000) // 20 < 50:
            continue  # 10 frames lost on the link
        rec.on_data("sim-1", INFO, CMAP, origin, index & 0xFFFFFFFF, counts, 0, (index - origin) / 2000)
    # Stream time 1.0 s is 2000 samples after the origin, i.e. 1000 after the first recorded sample.
    rec.on_event("sim-1", Event("ltr", 1.0, 1.1, 1.15, 0.01, 5.0))
    status = rec.stop()
    assert status["state"] == "idle" and status["samples"] == 90 * 20 and status["max_lag_s"] < 1.0
    with SessionStore(tmp_path) as store:
        (s,) = store.all()
        assert s["samples"] == 1800 and s["lost_samples"] == 200 and s["duration_s"] == 1.0
        (gap,) = store.gaps(s["id"], "sim-1")
        assert gap.onset_s == 800 / 2000 and gap.samples == 200
        (ltr,) = store.events(s["id"])
        assert abs(ltr["onset_s"] - 0.5) < 1e-9 and abs(ltr["end_s"] - 0.6) < 1e-9


def test_a_sensor_switched_to_another_rate_mid_session_continues_as_its_own_stream(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.start(SessionMeta(patient="P"))
    for index, counts in frames(100):  # 1 s at 2 kHz
        rec.on_data("sim-1", INFO, CMAP, 0, index, counts, 0, index / 2000)
    slower, cmap = dataclasses.replace(INFO, rate_hz=1000), dataclasses.replace(CMAP)
    for index, counts in frames(50):  # the board restarts its stream at 1 kHz: 1 s more
        rec.on_data("sim-1", slower, cmap, 0, index, counts, 0, 1.0 + index / 1000)
    rec.on_event("sim-1", Event("ltr", 0.5, 0.6, 0.65, 0.01, 5.0))
    assert rec.stop()["state"] == "idle"
    with SessionStore(tmp_path) as store:
        (s,) = store.all()
        first, second = store.devices(s["id"])
        assert (first.name, first.rate_hz, first.samples) == ("sim-1", 2000, 2000)
        assert (second.name, second.rate_hz, second.samples) == ("sim-1@1000", 1000, 1000)
        assert second.first_index >= 1000, "the second stream starts where the first ended, on the session clock"
        (ltr,) = store.events(s["id"])
        assert ltr["onset_s"] == pytest.approx(second.first_index / 1000 + 0.5, abs=0.01)
        assert ltr["device"] == "sim-1@1000"


def test_a_deleted_session_leaves_no_trace_of_the_patient_in_the_database_files(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    rec.start(SessionMeta(patient="ZQX-0417", notes="withdrew consent"))
    for index, counts in frames(200):
        rec.on_data("sim-1", INFO, CMAP, 0, index, counts + 40000, 0, index / 2000)
    rec.stop()
    rec.start(SessionMeta(patient="KEEP-0001"))
    for index, counts in frames(20):
        rec.on_data("sim-1", INFO, CMAP, 0, index, counts, 0, index / 2000)
    rec.stop()

    def files() -> bytes:
        return b"".join(f.read_bytes() for f in sorted(tmp_path.iterdir()) if f.name.startswith("twitchd.sqlite3"))

    assert b"ZQX-0417" in files()
    with SessionStore(tmp_path) as store:
        first = next(s["id"] for s in store.all() if s["patient"] == "ZQX-0417")
        store.delete(first)
        left = files()  # at once, with the daemon's connection still open (no checkpoint at close)
    assert b"ZQX-0417" not in left and b"withdrew consent" not in left
    assert b"KEEP-0001" in left
