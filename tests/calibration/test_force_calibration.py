"""A practitioner calibrates the force sensor once; every later session reads true newtons."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from twitchd.api import Daemon, create_app
from twitchd.calibrate import DEFAULT_WEIGHTS_N, GRAVITY, parse_weight
from twitchd.cli import main
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline
from twitchd.settings import Settings
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.session import SimConfig
from twitchd.store.calibrations import CalibrationBook
from twitchd.transports.simulated import SimulatedTransport

RIG = "simulated:rig=1,speed=50,fsr=1.4,id=TW-CAL9"


def calibrate(data_dir: Path, capsys: pytest.CaptureFixture[str], source: str = RIG) -> dict[str, object]:
    assert main(["calibrate", "--source", source, "--data-dir", str(data_dir), "--json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def held_forces(book: CalibrationBook | None, weights: tuple[float, ...] = DEFAULT_WEIGHTS_N,
                sensitivity: float = 1.4) -> tuple[list[float], DevicePipeline]:
    """What the live pipeline reads, in N, in the middle of each weight's hold on the rig."""
    device = SimulatedDevice(SimConfig(seed=2, fsr_sensitivity=sensitivity, rig_weights_n=weights), device_id="TW-CAL9")
    pipeline = DevicePipeline("sim-1", SimulatedTransport(device), Hub(), calibrations=book)
    traces: list[dict[str, object]] = []

    async def acquire() -> None:
        sub = pipeline.hub.subscribe()
        for _ in range(int((3 + 7.2 * len(weights)) / 0.25)):
            pipeline.feed(device.advance(0.25))
            traces.extend(m for m in await sub.get() if m["kind"] == "trace")

    asyncio.run(acquire())
    t = np.concatenate([m["t0_s"] + m["dt_s"] * np.arange(len(m["force_n"])) for m in traces])  # type: ignore[operator,arg-type]
    f = np.concatenate([np.array(m["force_n"], dtype=float) for m in traces])
    starts = 3.0 + 0.4 + 7.2 * np.arange(len(weights))
    return [float(np.median(f[(t > s + 1.5) & (t < s + 3.5)])) for s in starts], pipeline


def test_a_sensor_reading_40_percent_high_reads_true_newtons_once_calibrated(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cal = calibrate(tmp_path, capsys)
    assert cal["device_id"] == "TW-CAL9" and cal["max_error_pct"] < 2.0  # type: ignore[operator]
    assert cal["saturation_n"] == pytest.approx(20.0)  # the FSR 402's rated range: no heavier weight proved more
    nominal, _ = held_forces(None)
    calibrated, pipeline = held_forces(CalibrationBook(tmp_path))
    for true, before, after in zip(DEFAULT_WEIGHTS_N, nominal, calibrated, strict=True):
        assert abs(before - true) / true > 0.30, "the uncalibrated part should read far off"
        assert after == pytest.approx(true, rel=0.03)
    assert pipeline.info.force_calibration.startswith("calibrated")
    assert "nominal" in held_forces(CalibrationBook(tmp_path / "elsewhere"))[1].info.force_calibration


def test_pressing_beyond_the_fsr_range_warns_and_the_warning_clears_after(tmp_path: Path) -> None:
    forces, pipeline = held_forces(None, weights=(9.8, 49.0, 4.9), sensitivity=1.0)
    messages: list[dict[str, object]] = []
    device = SimulatedDevice(SimConfig(seed=2, rig_weights_n=(9.8, 49.0, 4.9)))
    pipeline = DevicePipeline("sim-1", SimulatedTransport(device), Hub())

    async def acquire() -> None:
        sub = pipeline.hub.subscribe()
        for _ in range(int(24.6 / 0.25)):
            pipeline.feed(device.advance(0.25))
            messages.extend(m for m in await sub.get() if m["kind"] == "status")

    asyncio.run(acquire())
    codes = [[w["code"] for w in m["warnings"]] for m in messages]  # type: ignore[union-attr]
    raised = [i for i, c in enumerate(codes) if "force_saturated" in c]
    assert raised, "49 N on an FSR 402 must warn"
    assert "force_saturated" not in codes[-1], "the warning clears once the weight is lifted"
    assert forces[0] == pytest.approx(9.8, rel=0.05)


def test_the_calibration_is_shown_with_every_session_recorded_with_that_sensor(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    calibrate(tmp_path, capsys, "simulated:rig=1,speed=50,fsr=0.8,id=TW-SIM003")
    settings = Settings(sources=("simulated:speed=10,seed=3,fsr=0.8",))
    daemon = Daemon(settings, data_dir=tmp_path)
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        assert c.post("/api/recording/start", json={"patient": "P-4"}).status_code == 200
        end = time.monotonic() + 30
        while daemon.pipelines[0].info.samples < 4000:
            assert time.monotonic() < end
            time.sleep(0.05)
        session = c.post("/api/recording/stop").json()["session_id"]
        assert c.get("/api/devices").json()[0]["force_calibration"].startswith("calibrated")
    assert main(["sessions", "show", str(session), "--json", "--data-dir", str(tmp_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert "calibrated" in json.dumps(shown)


@pytest.mark.parametrize(("text", "newtons"), [("200g", 0.2 * GRAVITY), ("0.5kg", 0.5 * GRAVITY), ("4.9N", 4.9),
                                               ("1 lb", 0.45359237 * GRAVITY)])
def test_weights_are_written_the_way_people_write_them(text: str, newtons: float) -> None:
    assert parse_weight(text) == pytest.approx(newtons)


def test_one_weight_is_not_a_calibration_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calibrate", "--source", RIG, "--weights", "500g", "--data-dir", str(tmp_path)]) == 2
    assert "at least two" in capsys.readouterr().err
    assert not (tmp_path / "calibrations").exists()
