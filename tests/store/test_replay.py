"""A teacher replays a recorded session through the live dashboard, faster than real time."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.store.test_redetect import RATE, record_simulated
from twitchd.api import Daemon, create_app
from twitchd.errors import SourceSpecError
from twitchd.settings import Settings
from twitchd.store.recorder import SessionMeta
from twitchd.store.sessions import SessionStore


def test_a_replay_streams_the_session_with_its_gap_and_its_ltrs_and_can_be_recorded(tmp_path: Path) -> None:
    truth = record_simulated(tmp_path, 40.0, hole=(20.0, 20.5))
    settings = Settings(sources=("replay:1,speed=50",))
    daemon = Daemon(settings, data_dir=tmp_path)
    daemon.recorder.start(SessionMeta(notes="replay of session 1"))
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        end = time.monotonic() + 60
        while c.get("/api/devices").json()[0]["state"] != "lost":
            assert time.monotonic() < end, "the replay did not finish"
            time.sleep(0.05)
        device = c.get("/api/devices").json()[0]
        assert "finished" in device["last_error"] and device["rate_hz"] == RATE
        assert device["samples"] == 39.5 * RATE and device["lost_samples"] == 0.5 * RATE
        events = c.get("/api/events", params={"kind": "ltr"}).json()["events"]
        status = c.post("/api/recording/stop").json()
    ltrs = [e["onset_s"] for e in events]
    for t in truth:
        if not 19.5 < t < 21.5:
            assert min(abs(t - o) for o in ltrs) < 0.1, f"no LTR near {t:.2f} s in the replay"
    with SessionStore(tmp_path) as store:
        original, copy = store.all()
        assert copy["samples"] == original["samples"] == status["samples"]
        assert copy["lost_samples"] == original["lost_samples"] == 0.5 * RATE
        a = np.concatenate([c for _, c in store.chunks(1, "sim-1")])
        b = np.concatenate([c for _, c in store.chunks(2, "rep-1")])
        assert np.array_equal(a, b)  # the replay is the recording, count for count


@pytest.mark.parametrize("spec", ["replay:7", "replay:abc", "replay:1,speed=0", "replay:1,fast=2"])
def test_a_bad_replay_source_fails_before_the_daemon_starts(tmp_path: Path, spec: str) -> None:
    record_simulated(tmp_path, 2.0, hole=(0.0, 0.0))
    with pytest.raises(SourceSpecError):
        Daemon(Settings(sources=(spec,)), data_dir=tmp_path)
