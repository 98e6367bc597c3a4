"""Sensors acquired in worker processes, and a worker that dies mid-recording.

Real processes, as in a clinic with a USB hub: four boards on ptys
(``twitchd sim-device --count 4``), ``twitchd run --workers 2`` on them, recording.
One worker is killed with SIGKILL (an out-of-memory kill, a crash in a driver):
the other worker's sensors do not notice, the dead one's come back in a new
worker, the samples nobody read meanwhile are one gap counted exactly from the
boards' own sample indices, and the recording is a valid session with that gap
in it and nothing else missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.load.test_soak_and_load import harness
from twitchd.store.sessions import SessionStore

TWITCHD = [sys.executable, "-m", "twitchd"]


def wait_for(what: str, check: Any, timeout_s: float = 60.0) -> Any:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        try:
            got = check()
        except httpx.HTTPError:
            got = None
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_a_killed_acquisition_worker_comes_back_and_its_gap_is_exact(tmp_path: Path) -> None:
    port = free_port()
    boards = subprocess.Popen([*TWITCHD, "sim-device", "--link", f"pty:{tmp_path / 'tty'}", "--count", "4",
                               "--wait-for-host", "--report"], stdout=subprocess.PIPE, text=True)
    assert boards.stdout is not None
    links = [boards.stdout.readline().strip() for _ in range(4)]
    cmd = [*TWITCHD, "run", "--port", str(port), "--data-dir", str(tmp_path / "data"), "--workers", "2",
           "--record", "--patient", "W1"]
    for link in links:
        cmd += ["--source", f"serial:{link}"]
    daemon = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "daemon.log", "w"))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
            def devices() -> dict[str, dict[str, Any]]:
                return {d["id"]: d for d in api.get("/api/devices").json()}

            wait_for("four streaming sensors", lambda: len(devices()) == 4 and all(
                d["state"] == "streaming" and d["samples"] > 4000 for d in devices().values()))
            workers = api.get("/api/health").json()["workers"]
            assert [len(w["devices"]) for w in workers] == [2, 2], workers
            victim, survivor = workers
            os.kill(victim["pid"], signal.SIGKILL)
            time.sleep(1.0)  # two seconds' worth of samples go by unread on the victim's boards

            def back() -> bool:
                now = {w["worker"]: w for w in api.get("/api/health").json()["workers"]}
                devs = devices()
                return now[victim["worker"]]["pid"] != victim["pid"] and now[victim["worker"]]["alive"] and all(
                    devs[name]["state"] == "streaming" and devs[name]["lost_samples"] > 0 for name in victim["devices"])

            wait_for("the dead worker's sensors to stream again", back)
            after = {w["worker"]: w for w in api.get("/api/health").json()["workers"]}
            assert after[victim["worker"]]["restarts"] == 1 and after[survivor["worker"]]["pid"] == survivor["pid"]
            time.sleep(2.0)
            boards.send_signal(signal.SIGTERM)
            reports = {json.loads(line)["link"]: json.loads(line) for line in boards.stdout.read().splitlines()
                       if line.startswith("{")}
            boards.wait(10)
            sent = {name: reports[d["source"].removeprefix("serial:")]["samples"] for name, d in devices().items()}
            # Every sample a board sent was either taken or counted lost, once the last are in.
            end = time.monotonic() + 20.0
            while True:
                final = devices()
                accounted = {n: final[n]["samples"] + final[n]["lost_samples"] for n in final}
                if accounted == sent or time.monotonic() > end:
                    break
                time.sleep(0.2)
            assert accounted == sent, (accounted, sent, final)
            status = api.post("/api/recording/stop").json()
    finally:
        harness().stop_processes(boards, daemon)
    log = (tmp_path / "daemon.log").read_text()
    assert "died (exit code -9); restarting it" in log, log
    # The survivor's sensors lost nothing; the victim's lost only while no worker read them.
    for name in survivor["devices"]:
        assert final[name]["lost_samples"] == 0, final[name]
    for name in victim["devices"]:
        assert 0 < final[name]["lost_samples"] < 2 * 2000 * 10, final[name]
    # The recording holds every sample the daemon took, and its gaps are exactly the lost ones.
    assert status["samples"] == sum(d["samples"] for d in final.values())
    with SessionStore(tmp_path / "data") as store:
        for name, dev in final.items():
            gaps = store.gaps(status["session_id"], name)
            assert sum(g.samples for g in gaps) == dev["lost_samples"], (name, gaps, dev)
            assert len(gaps) == (1 if name in victim["devices"] else 0), (name, gaps)


def test_a_worker_count_the_daemon_cannot_run_is_refused_before_anything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    from twitchd.errors import ConfigError
    from twitchd.settings import MAX_WORKERS, resolve

    assert resolve(None, None, None, None, workers=2).workers == 2
    monkeypatch.setenv("TWITCHD_WORKERS", "3")
    assert resolve(None, None, None, None).workers == 3
    for bad in (-1, MAX_WORKERS + 1):
        with pytest.raises(ConfigError, match="workers"):
            resolve(None, None, None, None, workers=bad)
    monkeypatch.setenv("TWITCHD_WORKERS", "two")
    with pytest.raises(ConfigError, match="TWITCHD_WORKERS"):
        resolve(None, None, None, None)
