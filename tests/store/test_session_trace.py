"""The dashboard draws a stored session from GET /api/sessions/{id}/trace:
min/max per bucket so a short burst survives decimation, gaps left empty,
and nothing but validated numbers accepted from the browser."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from twitchd.api import Daemon, create_app
from twitchd.pipeline import DeviceInfo
from twitchd.settings import Settings
from twitchd.signal.calibration import ChannelMap
from twitchd.store.recorder import Recorder, SessionMeta

RATE = 2000
CMAP = ChannelMap(emg=0, force=2, env=1, emg_scale=3.3 / 4095, force_supply_v=3.3, force_full_scale=4095,
                  env_scale=3.3 / 4095)
INFO = DeviceInfo(id="sim-1", source="simulated", board="b", firmware="1", device_id="D", rate_hz=RATE,
                  channels=["raw", "env", "fsr"])
BURST = (1.0, 1.02)   # s: a 20 ms burst of +-200 counts around mid-scale
HOLE = (2.0, 2.5)     # s: frames lost on the link
FORCE_COUNT = 3000


def record(data: Path) -> int:
    rec = Recorder(data)
    sid = rec.start(SessionMeta(patient="P-9"))
    per = 20
    for k in range(4 * RATE // per):  # 4 s
        first = k * per
        if HOLE[0] * RATE <= first < HOLE[1] * RATE:
            continue
        idx = first + np.arange(per)
        t = idx / RATE
        emg = np.full(per, 2048, dtype=np.int64)
        inside = (t >= BURST[0]) & (t < BURST[1])
        emg[inside] += np.where(idx[inside] % 2 == 0, 200, -200)
        counts = np.stack([emg, np.full(per, 1000), np.full(per, FORCE_COUNT)], axis=1).astype(np.uint16)
        rec.on_data("sim-1", INFO, CMAP, 0, first, counts, 0, first / RATE)
    assert rec.stop()["state"] == "idle"
    return sid


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    data = tmp_path_factory.mktemp("trace") / "data"
    sid = record(data)
    assert sid == 1
    with TestClient(create_app(Settings(sources=()), Daemon(Settings(sources=()), data_dir=data)), base_url="http://127.0.0.1") as c:
        yield c  # type: ignore[misc]


def test_a_window_comes_back_as_min_max_buckets_with_the_burst_and_the_gap(client: TestClient) -> None:
    r = client.get("/api/sessions/1/trace", params={"start_s": 0, "seconds": 4, "points": 400})
    assert r.status_code == 200, r.text
    tr = r.json()
    assert tr["device"] == "sim-1" and tr["rate_hz"] == RATE and tr["first_s"] == 0.0 and tr["end_s"] == 4.0
    assert tr["dt_s"] == pytest.approx(0.01) and len(tr["emg_max_v"]) == len(tr["force_n"]) == 400
    t = tr["t0_s"] + np.arange(400) * tr["dt_s"]
    hi = np.array([np.nan if v is None else v for v in tr["emg_max_v"]])
    amp = 200 * CMAP.emg_scale
    in_burst = (t >= BURST[0]) & (t < BURST[1] - 1e-9)
    assert np.all(hi[in_burst] > 0.8 * amp)                     # a 20 ms burst, 2 buckets, kept at full height
    quiet = (t < 0.9) | ((t > 1.2) & (t < HOLE[0]))
    assert np.nanmax(np.abs(hi[quiet])) < 1e-9                  # the mid-scale offset is removed
    in_hole = (t >= HOLE[0]) & (t < HOLE[1] - 1e-9)
    assert all(tr["emg_max_v"][i] is None and tr["force_n"][i] is None for i in np.flatnonzero(in_hole))
    force = CMAP.force_newtons(np.array([[0, 0, FORCE_COUNT]], dtype=np.uint16))[0]
    assert tr["force_n"][10] == pytest.approx(force, abs=1e-3)


def test_a_narrow_window_starts_where_asked_and_never_runs_past_the_end(client: TestClient) -> None:
    tr = client.get("/api/sessions/1/trace", params={"start_s": 3.5, "seconds": 10, "points": 4000}).json()
    assert tr["t0_s"] == 3.5 and tr["dt_s"] == 1 / RATE and len(tr["emg_min_v"]) == 0.5 * RATE


@pytest.mark.parametrize("query", ["seconds=0", "seconds=99999", "start_s=-1", "points=5", "points=100000",
                                   "device=../../etc", "device=sim-1;drop", "start_s=nan"])
def test_bad_windows_and_device_names_are_refused(client: TestClient, query: str) -> None:
    assert client.get(f"/api/sessions/1/trace?{query}").status_code == 422


def test_unknown_sessions_and_devices_are_404(client: TestClient) -> None:
    assert client.get("/api/sessions/7/trace").status_code == 404
    assert client.get("/api/sessions/1/trace", params={"device": "sim-2"}).status_code == 404
    assert client.get("/api/sessions/0/trace").status_code == 422
