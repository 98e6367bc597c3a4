"""A practitioner records a session from the dashboard, marks a moment, and
hands the EDF+ file to a colleague who opens it in MNE or EDFbrowser.

The daemon runs in-process on the simulated patient (20x real time); the
simulator's own truth says where the LTRs really were.
"""

from __future__ import annotations

import datetime as dt

import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyedflib
import pytest
from fastapi.testclient import TestClient

from tests.conftest import require
from twitchd.api import Daemon, create_app
from twitchd.settings import Settings
from twitchd.store.recorder import SessionMeta

RATE = 2000


def wait_for(c: TestClient, condition: Any, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One session of ~40 s of device time with a marker, exported through the API."""
    out = tmp_path_factory.mktemp("edf")
    settings = Settings(sources=("simulated:speed=20,seed=3",))
    daemon = Daemon(settings, data_dir=out / "data")
    # Recording from before the first sample: session time is device time, as in the truth.
    daemon.recorder.start(SessionMeta(patient="P-1", muscle="upper trapezius", side="right", technique="dry-needling"))
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        pipeline = daemon.pipelines[0]
        wait_for(c, lambda: pipeline.info.samples >= 20 * RATE)
        marker = c.post("/api/recording/marker", json={"label": "needle in"})
        assert marker.status_code == 200
        assert c.post("/api/recording/notes", json={"notes": "tender at 20 s"}).status_code == 200
        wait_for(c, lambda: pipeline.info.samples >= 40 * RATE)
        status = c.post("/api/recording/stop").json()
        assert status["state"] == "idle" and status["error"] == "" and status["samples"] >= 40 * RATE
        # LTRs that ended a second before the stop: one ending at the last sample
        # is decided after it (offset hold, force-bump lobes) and is not recorded.
        truth = pipeline.transport.device.session.truth_until(status["samples"] / RATE - 1.0)  # type: ignore[attr-defined]
        sessions = c.get("/api/sessions").json()
        detail = c.get(f"/api/sessions/{status['session_id']}").json()
        exports = {}
        for fmt in ("edf", "csv", "events"):
            r = c.get(f"/api/sessions/{status['session_id']}/export", params={"format": fmt})
            assert r.status_code == 200, r.text
            assert "attachment" in r.headers["content-disposition"]
            exports[fmt] = out / f"s.{fmt}"
            exports[fmt].write_bytes(r.content)
    return {"data": out / "data", "status": status, "truth": truth, "sessions": sessions, "detail": detail, "files": exports,
            "marker": marker.json()}


def test_the_session_lists_with_its_details_and_events(recorded: dict[str, Any]) -> None:
    (s,) = recorded["sessions"]
    assert s["patient"] == "P-1" and s["technique"] == "dry-needling" and s["complete"]
    assert s["sample_rate"] == RATE and s["samples"] == recorded["status"]["samples"] and s["lost_samples"] == 0
    assert s["ltrs"] >= 3 and s["markers"] == 1 and s["notes"] == "tender at 20 s"
    (marker,) = recorded["detail"]["marker_list"]
    assert marker["label"] == "needle in" and marker["t_s"] == pytest.approx(recorded["marker"]["t_s"], abs=1e-3)
    assert 20.0 <= marker["t_s"] < 30.0  # placed at the newest sample when it was asked for (20x real time)


def test_edf_reads_back_with_rate_units_and_ltrs_where_the_simulator_put_them(recorded: dict[str, Any]) -> None:
    with pyedflib.EdfReader(str(recorded["files"]["edf"])) as edf:
        assert list(edf.getSignalLabels()) == ["EMG raw", "Force", "EMG envelope"]
        assert list(edf.getSampleFrequencies()) == [RATE] * 3
        assert [edf.getPhysicalDimension(i) for i in range(3)] == ["mV", "N", "mV"]
        assert edf.getPatientCode() == "P-1"
        onsets, _, texts = edf.readAnnotations()
        emg_mv = edf.readSignal(0)
        samples = recorded["status"]["samples"]
        assert samples <= len(emg_mv) < samples + RATE  # whole 1 s records
    ltrs = [o for o, t in zip(onsets, texts, strict=True) if t == "ltr"]
    true_ltrs = [t.onset_s for t in recorded["truth"] if t.kind == "ltr"]
    assert len(true_ltrs) >= 3
    for true in true_ltrs:
        assert min(abs(true - o) for o in ltrs) < 0.1, f"no LTR annotation near {true:.2f} s"
    assert "mark: note: needle in" in list(texts)
    # The EMG in the EDF is the EMG in the CSV export (volts there, millivolts here).
    csv = np.loadtxt(recorded["files"]["csv"], delimiter=",", skiprows=1)
    lsb_mv = 3300 / 4095
    assert np.max(np.abs(emg_mv[: len(csv)] - csv[:, 1] * 1e3)) < lsb_mv / 2


def test_the_csv_says_when_each_sample_was_taken_by_the_host_clock(recorded: dict[str, Any]) -> None:
    """The simulated board runs 20x faster than real time: its 40 s of samples
    were taken within 2 s of wall time, and unix_time says so, sample by sample."""
    header = recorded["files"]["csv"].read_text().split("\n", 1)[0].split(",")
    assert header == ["time_s", "emg_v", "force_n", "env_v", "unix_time"]
    csv = np.loadtxt(recorded["files"]["csv"], delimiter=",", skiprows=1)
    unix = csv[:, 4]
    assert np.all(np.diff(unix) > 0)
    span = unix[-1] - unix[0]
    # (The simulator keeps 20x only while the loop keeps up: a read held up past its 50 ms
    # catch-up cap makes the board slower, never faster, so a busy machine stretches the span.)
    assert (csv[-1, 0] - csv[0, 0]) / 20 * 0.95 < span < (csv[-1, 0] - csv[0, 0]) / 20 * 1.15
    started = dt.datetime.fromisoformat(recorded["sessions"][0]["started_at"]).timestamp()
    assert started - 1.0 < unix[0] < started + 5.0


def test_mne_opens_the_edf(recorded: dict[str, Any]) -> None:
    require(importlib.util.find_spec("mne") is not None, "MNE is not installed (pip install -e '.[test]')")
    import mne  # type: ignore[import-untyped]
    raw = mne.io.read_raw_edf(recorded["files"]["edf"], preload=True, verbose="error")
    assert raw.info["sfreq"] == RATE and raw.ch_names == ["EMG raw", "Force", "EMG envelope"]
    emg_v = raw.get_data(picks=["EMG raw"])[0]  # MNE converts mV to V
    assert 1.0 < float(np.median(emg_v)) < 2.3  # MyoWare RAW centred near Vs/2
    ltr_onsets = [a["onset"] for a in raw.annotations if a["description"] == "ltr"]
    stored = [e["onset_s"] for e in recorded["detail"]["event_list"] if e["kind"] == "ltr"]
    assert np.allclose(sorted(ltr_onsets), sorted(stored), atol=1e-3)


def test_the_events_export_lists_events_and_markers(recorded: dict[str, Any]) -> None:
    lines = recorded["files"]["events"].read_text().splitlines()
    assert lines[0].startswith("kind,onset_s,end_s,decided_s")
    assert sum(line.startswith("ltr,") for line in lines) == recorded["sessions"][0]["ltrs"]
    assert any(line.startswith("mark,") and "needle in" in line for line in lines)


def test_the_api_refuses_paths_bad_details_and_unknown_sessions(tmp_path: Path) -> None:
    settings = Settings(sources=("simulated:speed=5",))
    with TestClient(create_app(settings, Daemon(settings, data_dir=tmp_path)), base_url="http://127.0.0.1") as c:
        assert c.post("/api/recording/start", json={"path": "/etc/passwd"}).status_code == 422
        assert c.post("/api/recording/start", json={"side": "up"}).status_code == 422
        assert c.post("/api/recording/start", json={"patient": "a\nb"}).status_code == 422
        assert c.post("/api/recording/marker", json={"label": "x"}).status_code == 409  # not recording
        assert c.post("/api/recording/notes", json={"notes": "x"}).status_code == 409
        assert c.get("/api/recording").json()["state"] == "idle"
        assert c.get("/api/sessions").json() == []
        assert c.get("/api/sessions/7").status_code == 404
        assert c.get("/api/sessions/0").status_code == 422
        assert c.get("/api/sessions/../../etc/export").status_code == 404
        started = c.post("/api/recording/start", json={"patient": "P-2"})
        assert started.status_code == 200 and started.json()["state"] == "recording"
        assert c.post("/api/recording/start", json={}).status_code == 409
        sid = started.json()["session_id"]
        assert c.delete(f"/api/sessions/{sid}").status_code == 409  # not while recording it
        assert c.get(f"/api/sessions/{sid}/export", params={"format": "pdf"}).status_code == 422
        assert c.post("/api/recording/stop").json()["state"] == "idle"
        assert c.delete(f"/api/sessions/{sid}").json() == {"deleted": sid}
        assert c.get(f"/api/sessions/{sid}").status_code == 404


def test_redetecting_with_the_same_settings_finds_what_the_live_detector_found(recorded: dict[str, Any]) -> None:
    from twitchd.signal.params import DetectorParams
    from twitchd.store.redetect import redetect
    from twitchd.store.sessions import SessionStore

    with SessionStore(recorded["data"]) as store:
        _, comparison = redetect(store, recorded["status"]["session_id"], DetectorParams())
    ltr = comparison["ltr"]
    assert ltr.live >= 3 and ltr.both == ltr.live == ltr.new, ltr
