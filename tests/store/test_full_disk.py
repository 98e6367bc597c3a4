"""The clinic laptop's disk fills up (or the data folder turns read-only) mid-session.

Recording must stop with a clear message, acquisition and the live view go
on, and the database keeps everything committed before, intact. A real tiny
filesystem (tmpfs of 2 MiB) is filled by a real recording.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import small_filesystem
from twitchd.api import Daemon, create_app
from twitchd.hub import frame_messages
from twitchd.settings import Settings
from twitchd.store.export import export_csv
from twitchd.store.sessions import SessionStore

@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path / "tiny", "2m") as where:
        yield where


def wait_for(condition: object, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def check_intact(data: Path, out: Path) -> int:
    """The database passes SQLite's integrity check, and the session exports without a hole."""
    if os.access(data, os.W_OK):  # (on a read-only mount, the export below is the check)
        db = sqlite3.connect(data / "twitchd.sqlite3")
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    with SessionStore(data) as store:
        (s,) = store.all()
        assert s["lost_samples"] == 0 and s["samples"] > 0
        with (out / "after.csv").open("w") as fh:
            rows = export_csv(store, s["id"], fh)
    t = np.loadtxt(out / "after.csv", delimiter=",", skiprows=1, usecols=0)
    assert rows == s["samples"] == len(t) and np.allclose(np.diff(t), 1 / 2000, atol=2e-6)
    return rows


@pytest.mark.slow
def test_a_full_disk_stops_the_recording_not_the_acquisition(tiny_fs: Path, tmp_path: Path) -> None:
    settings = Settings(sources=("simulated:speed=40,seed=4",))
    daemon = Daemon(settings, data_dir=tiny_fs)
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        assert c.post("/api/recording/start", json={"patient": "P-9"}).status_code == 200
        wait_for(lambda: c.get("/api/recording").json()["state"] != "recording", timeout=120)
        status = c.get("/api/recording").json()
        assert status["state"] == "failed"
        assert "disk" in status["error"] and "full" in status["error"], status["error"]
        # Acquisition and the live view go on.
        before = c.get("/api/devices").json()[0]["samples"]
        wait_for(lambda: c.get("/api/devices").json()[0]["samples"] > before + 20_000)
        assert c.get("/api/devices").json()[0]["state"] == "streaming"
        with c.websocket_connect("ws://127.0.0.1/ws/live") as ws:
            seen: dict[str, dict[str, object]] = {}
            while not {"trace", "recording"} <= set(seen):
                seen.update((msg["kind"], msg) for msg in frame_messages(ws.receive_text()))
        assert seen["recording"]["state"] == "failed" and seen["recording"]["error"] == status["error"]
        assert c.post("/api/recording/marker", json={"label": "x"}).status_code == 409
    samples = check_intact(tiny_fs, tmp_path)
    assert samples > 100_000  # most of 2 MiB holds samples, not overhead
    assert samples == status["samples"]  # what the status said was written, exactly


def test_a_read_only_data_folder_is_reported_and_acquisition_goes_on(tiny_fs: Path, tmp_path: Path) -> None:
    settings = Settings(sources=("simulated:speed=10,seed=4",))
    daemon = Daemon(settings, data_dir=tiny_fs)
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        assert c.post("/api/recording/start", json={}).status_code == 200
        wait_for(lambda: c.get("/api/recording").json()["samples"] > 20_000)
        assert c.post("/api/recording/stop").json()["state"] == "idle"
        # Linux turns a failing disk read-only; a busy mount cannot be, so this happens between sessions.
        subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], check=True)
        again = c.post("/api/recording/start", json={"patient": "P-3"})
        assert again.status_code == 503, again.text
        error = again.json()["detail"]
        assert error.startswith("cannot record") and "read" in error.lower(), error
        assert c.get("/api/recording").json() | {"state": "failed", "error": error} == c.get("/api/recording").json()
        before = c.get("/api/devices").json()[0]["samples"]
        wait_for(lambda: c.get("/api/devices").json()[0]["samples"] > before + 10_000)
        assert c.get("/api/sessions").json()[0]["samples"] > 20_000  # what was recorded still reads
    check_intact(tiny_fs, tmp_path)
