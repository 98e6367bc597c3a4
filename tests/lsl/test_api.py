"""The dashboard's LSL switch: on, streams appear per device; a device removed
takes its streams with it; off, all are gone; bad input is refused; without
pylsl the answer says how to install it."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.lsl.conftest import device_id
from twitchd.api import Daemon, create_app
from twitchd.settings import Settings


def wait_for(condition: Any, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


@pytest.mark.lsl
def test_switching_lsl_on_and_off_and_removing_a_device(pylsl: Any) -> None:
    ids = [device_id(21), device_id(22)]
    settings = Settings(sources=tuple(f"simulated:seed={k + 1},id={i}" for k, i in enumerate(ids)))
    daemon = Daemon(settings)
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        off = c.get("/api/lsl").json()
        assert off["enabled"] is False and off["available"] is True and off["streams"] == []
        on = c.put("/api/lsl", json={"enabled": True}).json()
        assert on["enabled"] is True and on["library"].startswith("liblsl 1.")
        wait_for(lambda: sorted(s["state"] for s in c.get("/api/lsl").json()["streams"]) == ["streaming"] * 2)
        streams = {s["device_id"]: s for s in c.get("/api/lsl").json()["streams"]}
        assert streams[ids[0]]["data_stream"] == f"twitchd {ids[0]}" and streams[ids[0]]["rate_hz"] == 2000
        assert streams[ids[0]]["channels"] == ["EMG raw", "Force", "EMG envelope"]
        for i in ids:
            assert len(pylsl.resolve_byprop("source_id", i, timeout=5.0)) == 1

        assert c.delete("/api/devices/sim-2").status_code == 200
        wait_for(lambda: [s["device_id"] for s in c.get("/api/lsl").json()["streams"]] == [ids[0]])
        assert pylsl.resolve_byprop("source_id", f"{ids[1]}/events", timeout=1.0) == []
        assert len(pylsl.resolve_byprop("source_id", ids[0], timeout=5.0)) == 1

        assert c.put("/api/lsl", json={"enabled": False}).json() == {**off, "streams": []}
        assert pylsl.resolve_byprop("source_id", ids[0], timeout=1.0) == []


@pytest.mark.parametrize("body", [{"enabled": "yes"}, {"enabled": 1}, {}, {"enabled": True, "rate": 5}, [True]])
def test_a_malformed_switch_is_refused(body: object) -> None:
    settings = Settings(sources=("simulated:speed=20",))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        assert c.put("/api/lsl", json=body).status_code == 422
        assert c.get("/api/lsl").json()["enabled"] is False


def test_without_pylsl_the_api_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pylsl", None)  # what Python does for a module that cannot be imported
    settings = Settings(sources=("simulated:speed=20",))
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as c:
        r = c.put("/api/lsl", json={"enabled": True})
        assert r.status_code == 503 and "pip install twitchd[lsl]" in r.json()["detail"]
        assert c.get("/api/lsl").json()["enabled"] is False


def test_run_with_lsl_but_without_pylsl_stops_at_once_saying_how_to_install_it() -> None:
    code = "import sys; sys.modules['pylsl'] = None; from twitchd.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", code, "run", "--lsl", "--port", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "LSL output needs pylsl" in proc.stderr and "pip install twitchd[lsl]" in proc.stderr
