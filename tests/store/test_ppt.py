"""Pressure pain threshold: the practitioner ramps at 1 kg/s, the patient presses the
board's button when pressure turns to pain, and the force at that moment is the PPT,
three trials per site; a ramp off the standard is warned about, and without a force
calibration there is no PPT at all."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from twitchd.api import Daemon, create_app
from twitchd.cli import main
from twitchd.ppt import STANDARD_RATE_N_PER_S, read_trial
from twitchd.settings import Settings

RATE = 2000


def ramp(rate_n_per_s: float, to_n: float, rest_s: float = 2.0) -> np.ndarray:
    up = np.arange(int(to_n / rate_n_per_s * RATE)) / RATE * rate_n_per_s
    return np.concatenate([np.zeros(int(rest_s * RATE)), up])


def test_a_standard_ramp_gives_its_threshold_and_rate_without_a_warning() -> None:
    force = ramp(STANDARD_RATE_N_PER_S, 30.0)
    trial = read_trial(force, RATE, len(force))
    assert trial.force_n == pytest.approx(30.0, abs=0.15)
    assert trial.rate_n_per_s == pytest.approx(STANDARD_RATE_N_PER_S, rel=0.01)
    assert trial.ramp_start_s == pytest.approx(2.0, abs=0.01) and trial.warnings == ()


@pytest.mark.parametrize(("rate", "warned"), [(6.5, True), (7.5, False), (12.5, False), (13.5, True)])
def test_a_ramp_more_than_30_percent_off_1_kg_per_s_is_warned_about(rate: float, warned: bool) -> None:
    force = ramp(rate, 25.0)
    trial = read_trial(force, RATE, len(force))
    assert trial.rate_n_per_s == pytest.approx(rate, rel=0.01)
    assert bool(trial.warnings) == warned, trial.warnings


def calibrate(data: Path, capsys: pytest.CaptureFixture[str], device: str) -> None:
    assert main(["calibrate", "--source", f"simulated:rig=1,speed=50,id={device}", "--data-dir", str(data),
                 "--json"]) == 0
    capsys.readouterr()


def wait(cond: object, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_three_trials_at_a_site_give_the_thresholds_the_simulated_patient_had(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calibrate(tmp_path, capsys, "TW-PPT01")
    settings = Settings(sources=("simulated:ppt=25,speed=8,id=TW-PPT01",))
    daemon = Daemon(settings, data_dir=tmp_path)
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        assert c.post("/api/recording/ppt", json={}).status_code == 409  # not recording
        assert c.post("/api/recording/start", json={"patient": "P-9"}).status_code == 200
        refused = c.post("/api/recording/ppt", json={})
        assert refused.status_code == 409 and "site" in refused.json()["detail"]
        assert c.put("/api/site", json={"muscle": "upper trapezius", "side": "right"}).status_code == 200
        wait(lambda: daemon.pipelines[0].info.force_calibration != "nominal")
        started = c.post("/api/recording/ppt", json={"trials": 3})
        assert started.status_code == 200 and started.json()["calibration"].startswith("current")
        wait(lambda: daemon.marks.ppt is None and daemon.pipelines[0].info.marks >= 3)
        time.sleep(0.6)
        c.post("/api/recording/stop")
        sid = c.get("/api/recording").json()["session_id"]
        sites = c.get(f"/api/sessions/{sid}/sites").json()
    truth = [e for e in daemon.pipelines[0].transport.device.session.truth if e.kind == "ppt"]  # type: ignore[attr-defined]
    (site,) = sites
    assert site["label"] == "upper trapezius right"
    trials = site["ppt"]["trials"]
    assert len(trials) == 3 and len(truth) >= 3
    assert [t["source"] for t in trials] == ["board"] * 3 and all(t["calibration"].startswith("current") for t in trials)
    for got, true in zip(trials, truth, strict=False):
        # The sensor was calibrated on the rig: newtons within the fit's error and the FSR's noise.
        assert got["force_n"] == pytest.approx(true.force_n, rel=0.08), (got, true)
        assert got["rate_n_per_s"] == pytest.approx(true.detail["rate_n_per_s"], rel=0.12)
        assert got["warnings"] == []
        # the ramp began threshold / rate before the press, on the session's clock
        assert got["ramp_start_s"] == pytest.approx(got["t_s"] - got["force_n"] / got["rate_n_per_s"], abs=0.1)
    summary = site["ppt"]["summary"]
    assert summary["n"] == 3 and summary["mean_n"] == pytest.approx(np.mean([t["force_n"] for t in trials]), abs=0.01)
    assert summary["sd_n"] == pytest.approx(np.std([t["force_n"] for t in trials], ddof=1), abs=0.01)


def test_without_a_force_calibration_ppt_is_refused_and_says_how(tmp_path: Path) -> None:
    settings = Settings(sources=("simulated:ppt=25,speed=4,id=TW-NOCAL",))
    daemon = Daemon(settings, data_dir=tmp_path)
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        c.put("/api/site", json={"muscle": "infraspinatus"})
        c.post("/api/recording/start", json={})
        wait(lambda: daemon.pipelines[0].info.device_id != "")
        refused = c.post("/api/recording/ppt", json={})
        assert refused.status_code == 409 and "twitchd calibrate" in refused.json()["detail"]
        assert c.post("/api/recording/ppt/pain", json={}).status_code == 409  # no series
        c.post("/api/recording/stop")


def test_an_old_calibration_still_measures_and_every_trial_says_it_is_not_current(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calibrate(tmp_path, capsys, "TW-OLD01")
    path = tmp_path / "calibrations" / "TW-OLD01.json"
    cal = json.loads(path.read_text())
    cal["created_at"] = "2026-01-02T10:00:00+00:00"
    path.write_text(json.dumps(cal))
    settings = Settings(sources=("simulated:ppt=25,speed=8,id=TW-OLD01",))
    daemon = Daemon(settings, data_dir=tmp_path)
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        c.put("/api/site", json={"muscle": "gastrocnemius", "side": "left"})
        c.post("/api/recording/start", json={})
        wait(lambda: daemon.pipelines[0].info.device_id != "")
        series = c.post("/api/recording/ppt", json={"trials": 1}).json()
        assert series["calibration"].startswith("not current") and "days ago" in series["calibration"]
        pain = c.post("/api/recording/ppt/pain", json={"source": "key"}).json()  # the patient's key, any time
        assert pain["trial"] == 1 and pain["calibration"].startswith("not current")
        assert c.post("/api/recording/ppt", json={"trials": 3}).status_code == 200
        c.post("/api/recording/stop")
        # a series belongs to its recording: stopping ends it, and the next recording starts without one
        assert c.get("/api/recording").json()["ppt"] is None
        c.post("/api/recording/start", json={})
        assert c.post("/api/recording/ppt/pain", json={}).status_code == 409
        c.post("/api/recording/stop")
