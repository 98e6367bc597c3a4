"""A practitioner's laptop crashes mid-session: what was recorded is still there.

The daemon is a real subprocess recording the simulated sensor in real time;
it is killed with SIGKILL (no cleanup at all), then the session is listed,
exported and re-analysed with the command line, as the practitioner would.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import free_port
from twitchd.cli import main
from twitchd.store.sessions import SessionStore

pytestmark = pytest.mark.slow


def mark(port: int, kind: str, text: str = "") -> dict[str, object]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/recording/marks", method="POST",
                                 data=json.dumps({"kind": kind, "text": text, "source": "key"}).encode(),
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def record_then_kill(data_dir: Path, seconds: float, marks: tuple[float, ...] = ()) -> tuple[float, list[dict[str, object]]]:
    """Record for ``seconds`` after the first samples, marking a felt LTR at each of ``marks`` seconds,
    SIGKILL, and return the wall time of the kill and the marks as the daemon answered them."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    port = free_port()
    made: list[dict[str, object]] = []
    proc = subprocess.Popen(
        [sys.executable, "-m", "twitchd", "run", "--record", "--data-dir", str(data_dir), "--port", str(port),
         "--source", "simulated:speed=1", "--patient", "P-007", "--muscle", "upper trapezius", "--side", "left",
         "--technique", "compression"],
        env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("dashboard:"):
                break
        else:
            pytest.fail(f"the daemon did not start (exit {proc.wait()})")
        began = time.monotonic()
        for at in marks:
            time.sleep(max(0.0, began + at - time.monotonic()))
            made.append(mark(port, "felt_ltr"))
        time.sleep(max(0.0, began + seconds - time.monotonic()))
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        return killed_at, made
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_kill_9_loses_at_most_200_ms_and_the_rest_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    killed_at, marks = record_then_kill(data, 6.0, marks=(2.0, 4.0, 5.7))

    db = sqlite3.connect(data / "twitchd.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    first_host, = db.execute("SELECT min(host_time) FROM chunks").fetchone()
    last_host, last_n, last_index = db.execute(
        "SELECT host_time, n, first_index FROM chunks ORDER BY first_index DESC LIMIT 1").fetchone()
    db.close()
    # The newest committed sample arrived on the host at last_host + its offset in the chunk.
    newest = last_host + (last_n - 1) / 2000
    lost_s = killed_at - newest
    with capsys.disabled():
        print(f"\nkill -9: newest committed sample arrived {lost_s * 1000:.0f} ms before the kill")
    assert lost_s <= 0.2

    with SessionStore(data) as store:
        (session,) = store.all()
        assert session["patient"] == "P-007" and session["side"] == "left" and session["technique"] == "compression"
        assert not session["complete"] and session["ended_at"] is None
        assert session["lost_samples"] == 0  # every sample from the first to the newest, without a hole
        assert session["samples"] == last_index + last_n
        # Marks are committed like samples: the last one, 300 ms before the kill, is there too.
        stored = store.markers(session["id"])
        assert [(m["kind"], m["source"]) for m in stored] == [("felt_ltr", "key")] * 3
        assert [m["t_s"] for m in stored] == pytest.approx([m["t_s"] for m in marks], abs=1e-3)
        assert stored[0]["site"] == {"muscle": "upper trapezius", "side": "left", "point": ""}
        # Real time in, real time recorded: the samples span the wall time they took to arrive.
        assert abs(session["duration_s"] - (newest - first_host)) < 0.25

    assert main(["sessions", "list", "--data-dir", str(data), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {"id", "started_at", "duration_s", "sample_rate", "samples", "events"} <= set(listed[0])
    assert listed[0]["sample_rate"] == 2000 and listed[0]["samples"] == session["samples"]

    csv = tmp_path / "s.csv"
    assert main(["sessions", "export", "1", "--data-dir", str(data), "--format", "csv", "--out", str(csv)]) == 0
    assert "exporting" in capsys.readouterr().err  # progress on stderr
    rows = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert rows.shape == (session["samples"], 5)  # time_s, emg_v, force_n, env_v, unix_time
    assert np.allclose(np.diff(rows[:, 0]), 1 / 2000, atol=2e-6) and np.isfinite(rows).all()
    assert np.all(np.diff(rows[:, 4]) > 0), "unix_time runs forward, sample by sample"

    # The export is a recording `twitchd detect` reads: it finds what the live detector found.
    assert main(["detect", str(csv)]) == 0
    offline = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert main(["sessions", "show", "1", "--data-dir", str(data), "--json"]) == 0
    live = json.loads(capsys.readouterr().out)["event_list"]
    live_ltrs = [e["onset_s"] for e in live if e["kind"] == "ltr"]
    assert live_ltrs, "the simulated patient's first LTR comes about 3 s in"
    offline_ltrs = [e["onset_s"] for e in offline if e["kind"] == "ltr"]
    assert all(min(abs(t - o) for o in offline_ltrs) < 0.01 for t in live_ltrs)

    edf = tmp_path / "s.edf"
    assert main(["sessions", "export", "1", "--data-dir", str(data), "--format", "edf", "--out", str(edf)]) == 0
    assert edf.stat().st_size > session["samples"] * 2 * 3

    assert main(["sessions", "delete", "1", "--data-dir", str(data)]) == 0
    assert main(["sessions", "list", "--data-dir", str(data), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["sessions", "show", "1", "--data-dir", str(data)]) == 2
    assert "no session 1" in capsys.readouterr().err
