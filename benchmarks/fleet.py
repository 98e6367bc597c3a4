"""Many serial sensors into one daemon: lost samples, CPU, memory, latency.

Three processes, as in a clinic with a USB hub: ``twitchd sim-device --count N``
(N simulated boards on ptys, in one process), ``twitchd run`` with one
``serial:`` source per board, and this script as a dashboard would be: one
WebSocket on /ws/live, plus polls of /api/devices.

What it measures, per device count, side by side in one run:

* **lost samples**: the boards' own count of samples sent, against what the
  daemon took in (read after the boards stop and the daemon has drained);
* **CPU**: the daemon's and the boards' share of one core, from
  /proc/PID/stat over the measured window (100 % = one core fully busy);
* **memory**: the daemon's resident set at the start and end of the window;
* **data path**: the daemon's own per-read timing (``data_path_ms`` in
  /api/devices: decode, detect, hand to sinks and screens), worst device;
* **end to end**: each event's arrival on the WebSocket minus the moment the
  board took the sample that decided it. Boards start sampling when the daemon
  first speaks to them (``--wait-for-host``), so sample k was taken at
  ``started_at + k / rate`` on the same monotonic clock this script reads.
  This includes the board's 5 ms transmit tick and the pty.

    .venv/bin/python benchmarks/fleet.py --devices 1 4 16 32 --seconds 60
    .venv/bin/python benchmarks/fleet.py --devices 16 64 --workers 2 --seconds 600
    .venv/bin/python benchmarks/fleet.py --devices 4 --seconds 3600 --record   # the soak

With ``--workers N`` the daemon acquires in N worker processes (``twitchd run
--workers N``); its CPU is then the main process's and the workers' together,
and each is also reported on its own.

With ``--record`` the daemon records a session throughout, and the script
checks what was stored against what the boards sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

from twitchd.hub import frame_messages

TWITCHD = [sys.executable, "-m", "twitchd"]
RATE = 2000
TICKS = os.sysconf("SC_CLK_TCK")
EVENT_KINDS = ("ltr", "twitch", "contraction", "artifact")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Run:
    devices: int
    seconds: float
    sent: int = 0
    taken: int = 0
    lost: int = 0
    bad_frames: int = 0
    daemon_cpu: float = 0.0
    boards_cpu: float = 0.0
    workers: int = 0
    main_cpu: float = 0.0
    workers_cpu: list[float] = field(default_factory=list)
    rss_start_mb: float = 0.0
    rss_end_mb: float = 0.0
    rss_trace: list[float] = field(default_factory=list)
    path_p50_ms: float = 0.0
    path_p99_ms: float = 0.0
    path_max_ms: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    truth: dict[str, int] = field(default_factory=dict)
    recorded: int | None = None
    session_events: int | None = None
    #: per device name: the board's true events, and every event the daemon flagged (GET /api/events)
    truth_by_device: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    flagged_by_device: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    load: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([np.nan])
        return {
            "devices": self.devices, "seconds": self.seconds, "samples_sent": self.sent,
            "samples_taken": self.taken, "lost_samples": self.lost, "bad_frames": self.bad_frames,
            "daemon_cpu_pct": round(100 * self.daemon_cpu, 1), "boards_cpu_pct": round(100 * self.boards_cpu, 1),
            "workers": self.workers, "main_cpu_pct": round(100 * self.main_cpu, 1),
            "workers_cpu_pct": [round(100 * c, 1) for c in self.workers_cpu],
            "rss_start_mb": round(self.rss_start_mb, 1), "rss_end_mb": round(self.rss_end_mb, 1),
            "data_path_ms": {"p50": self.path_p50_ms, "p99": self.path_p99_ms, "max": self.path_max_ms},
            "end_to_end_ms": {"n": len(self.latencies_ms), "p50": round(float(np.percentile(lat, 50)), 1),
                              "p99": round(float(np.percentile(lat, 99)), 1), "max": round(float(lat.max()), 1)},
            "events": self.events, "truth": self.truth, **({"load": self.load} if self.load else {}),
            **({"recorded_samples": self.recorded, "recorded_events": self.session_events}
               if self.recorded is not None else {}),
        }


class Watcher:
    """The dashboard's side: one WebSocket, every event with the moment it came."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.events: list[tuple[float, dict[str, Any]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)
        self._thread.start()

    async def _run(self) -> None:
        async with websockets.connect(self.url, max_size=None) as ws:
            while not self._stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.2)
                except asyncio.TimeoutError:
                    continue
                now = time.monotonic()
                for msg in frame_messages(raw):
                    if msg.get("kind") in EVENT_KINDS:
                        self.events.append((now, msg))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def drained(api: httpx.Client, reports: list[dict[str, Any]], patience_s: float = 20.0) -> dict[str, Any]:
    """The daemon's devices once it has taken in all the boards sent, or has stopped taking.

    A saturated machine (fifty dashboards on two cores) can hold the last
    frames in the pipe for more than a second after the boards stop. A fixed
    wait then reads a count that is still rising and reports a frame in
    flight as lost; a real loss shows as a count that stops short.
    """
    sent = sum(r["samples"] for r in reports)
    end, last, still_since = time.monotonic() + patience_s, -1, time.monotonic()
    while True:
        devs = {d["source"].removeprefix("serial:"): d for d in api.get("/api/devices").json()}
        taken = sum(devs[r["link"]]["samples"] for r in reports if r["link"] in devs)
        now = time.monotonic()
        if taken != last:
            last, still_since = taken, now
        if taken >= sent or now - still_since > 3.0 or now > end:
            return devs
        time.sleep(0.2)


def stop_processes(*procs: subprocess.Popen[Any]) -> None:
    """Each process still running gets SIGINT (a clean stop), then SIGKILL after 15 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


def worker_pids(api: httpx.Client) -> list[int]:
    return [int(w["pid"]) for w in api.get("/api/health").json().get("workers", [])]


def run_fleet(n: int, seconds: float, record: bool, out: Path, warmup_s: float = 5.0,
              load: Callable[[int, float], dict[str, Any]] | None = None, workers: int = 0) -> Run:
    """One fleet of ``n`` boards for ``seconds`` of measured time (after ``warmup_s``).

    ``load(port, seconds)``, if given, runs in a thread through the measured
    window (other clients hammering the daemon) and its result lands in ``Run.load``.
    """
    result = Run(n, seconds, workers=workers)
    link = out / "tty"
    boards = subprocess.Popen([*TWITCHD, "sim-device", "--link", f"pty:{link}", "--count", str(n),
                               "--wait-for-host", "--report"], stdout=subprocess.PIPE, text=True)
    assert boards.stdout is not None
    paths = [boards.stdout.readline().strip() for _ in range(n)]
    port = free_port()
    cmd = [*TWITCHD, "run", "--port", str(port), "--data-dir", str(out / "data")]
    for p in paths:
        cmd += ["--source", f"serial:{p}"]
    if record:
        cmd += ["--record", "--patient", "SOAK"]
    if workers:
        cmd += ["--workers", str(workers)]
    daemon = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(out / "daemon.log", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as api:
            end = time.monotonic() + 60
            while True:
                try:
                    devs = api.get("/api/devices").json()
                    if len(devs) == n and all(d["state"] == "streaming" for d in devs):
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > end or daemon.poll() is not None:
                    raise RuntimeError(f"the daemon did not stream from {n} boards: see {out / 'daemon.log'}")
                time.sleep(0.2)
            watcher = Watcher(f"ws://127.0.0.1:{port}/ws/live")
            time.sleep(warmup_s)  # compiled kernels, first fits, the first trace messages
            pids = worker_pids(api)
            c0 = (cpu_s(daemon.pid), cpu_s(boards.pid), [cpu_s(p) for p in pids])
            result.rss_start_mb = rss_mb(daemon.pid)
            t0 = time.monotonic()
            loader = None
            if load is not None:
                loader = threading.Thread(target=lambda: result.load.update(load(port, seconds)), daemon=True)
                loader.start()
            while (left := t0 + seconds - time.monotonic()) > 0:
                time.sleep(min(left, 10.0))
                result.rss_trace.append(rss_mb(daemon.pid))
                if daemon.poll() is not None:
                    raise RuntimeError(f"the daemon died: see {out / 'daemon.log'}")
            if loader is not None:
                loader.join(60)
            span = time.monotonic() - t0
            result.main_cpu = (cpu_s(daemon.pid) - c0[0]) / span
            result.boards_cpu = (cpu_s(boards.pid) - c0[1]) / span
            if pids != worker_pids(api):
                raise RuntimeError(f"an acquisition worker restarted during the run: see {out / 'daemon.log'}")
            result.workers_cpu = [(cpu_s(p) - c) / span for p, c in zip(pids, c0[2], strict=True)]
            result.daemon_cpu = result.main_cpu + sum(result.workers_cpu)
            result.rss_end_mb = rss_mb(daemon.pid)
            devs = api.get("/api/devices").json()
            worst = max(devs, key=lambda d: d["data_path_ms"].get("p99", 0.0))["data_path_ms"]
            result.path_p50_ms, result.path_p99_ms, result.path_max_ms = worst["p50"], worst["p99"], worst["max"]
            # The boards stop; the daemon drains what is in flight, then is asked what it took.
            boards.send_signal(signal.SIGTERM)
            reports = [json.loads(line) for line in boards.stdout.read().splitlines() if line.startswith("{")]
            boards.wait(10)
            devs = drained(api, reports)
            watcher.stop()
            for e in api.get("/api/events", params={"limit": 5000}).json()["events"]:
                if e["kind"] in EVENT_KINDS:
                    result.flagged_by_device.setdefault(e["device"], []).append(e)
            if record:
                status = api.post("/api/recording/stop").json()
                result.recorded = int(status["samples"])
                detail = api.get(f"/api/sessions/{status['session_id']}").json()
                result.session_events = sum(1 for e in detail["event_list"] if e["kind"] in EVENT_KINDS)
    finally:
        stop_processes(boards, daemon)
    started = {}
    for rep in reports:
        dev = devs[rep["link"]]
        result.sent += rep["samples"]
        result.taken += dev["samples"]
        result.lost += dev["lost_samples"]
        result.bad_frames += dev["bad_frames"]
        started[dev["id"]] = rep["started_at"]
        result.truth_by_device[dev["id"]] = rep["truth"]
        for t in rep["truth"]:
            result.truth[t["kind"]] = result.truth.get(t["kind"], 0) + 1
    for seen, msg in watcher.events:
        result.events[msg["kind"]] = result.events.get(msg["kind"], 0) + 1
        begun = started.get(msg["device"])
        if begun is not None and msg.get("decided_s") is not None:
            result.latencies_ms.append((seen - (begun + msg["decided_s"])) * 1e3)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, nargs="+", default=[1, 4, 16, 32])
    ap.add_argument("--seconds", type=float, default=60.0, help="measured window per device count")
    ap.add_argument("--record", action="store_true", help="record a session throughout and check it")
    ap.add_argument("--workers", type=int, default=0, help="acquisition worker processes in the daemon (twitchd run --workers)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    rows = []
    for n in args.devices:
        with tempfile.TemporaryDirectory(prefix="twitchd-fleet-") as tmp:
            run = run_fleet(n, args.seconds, args.record, Path(tmp), workers=args.workers)
        s = run.summary()
        rows.append(s)
        if not args.json:
            e2e, path = s["end_to_end_ms"], s["data_path_ms"]
            print(f"{n:3d} devices x {RATE} Hz x {args.seconds:.0f} s: sent {s['samples_sent']}, taken {s['samples_taken']},"
                  f" lost {s['lost_samples']}, bad frames {s['bad_frames']}; daemon CPU {s['daemon_cpu_pct']} %"
                  f" of a core" + (f" (main {s['main_cpu_pct']} %, workers {s['workers_cpu_pct']} %)" if args.workers else "")
                  + f" (boards {s['boards_cpu_pct']} %); RSS {s['rss_start_mb']} -> {s['rss_end_mb']} MB;"
                  f" data path p50 {path['p50']} p99 {path['p99']} max {path['max']} ms;"
                  f" end to end p50 {e2e['p50']} p99 {e2e['p99']} ms over {e2e['n']} events", flush=True)
            if args.record:
                print(f"    recorded {s['recorded_samples']} samples, {s['recorded_events']} events;"
                      f" live events {s['events']}; truth {s['truth']}", flush=True)
    if args.json:
        print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
