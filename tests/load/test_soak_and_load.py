"""Sensors on a USB hub, a dashboard or fifty, and a client that misbehaves.

Each story runs real processes: the boards (``twitchd sim-device --count N``
on ptys), ``twitchd run`` on them, and clients over loopback, through
benchmarks/fleet.py, the harness behind the soak and scale figures in
docs/performance.md. Nothing here asserts a time: what must hold is that
acquisition and recording lose nothing, whatever the clients do.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import websockets
from twitchd.hub import frame_messages

from tests.signal.scoring import f1, match

ROOT = Path(__file__).resolve().parents[2]
SOAK_S = 120.0


def harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fleet", ROOT / "benchmarks" / "fleet.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet"] = module
    spec.loader.exec_module(module)
    return module


class Timed:
    def __init__(self, d: dict[str, Any]) -> None:
        self.kind, self.onset_s, self.end_s = d["kind"], float(d["onset_s"]), float(d.get("end_s") or d["onset_s"])


def assert_nothing_lost(run: Any) -> None:
    assert run.sent > 0 and run.taken == run.sent, f"sent {run.sent}, taken {run.taken}"
    assert run.lost == 0 and run.bad_frames == 0
    if run.recorded is not None:
        assert run.recorded == run.sent, f"recorded {run.recorded} of {run.sent}"


@pytest.mark.slow
def test_four_sensors_for_two_minutes_lose_nothing_and_flag_what_the_patients_did(tmp_path: Path) -> None:
    """The CI version of the one-hour soak (benchmarks/fleet.py --devices 4 --seconds 3600 --record)."""
    fleet = harness()
    run = fleet.run_fleet(4, SOAK_S, record=True, out=tmp_path)
    assert_nothing_lost(run)
    flagged = sum(len(v) for v in run.flagged_by_device.values())
    assert run.session_events == flagged, "the session stored every event the daemon flagged"
    # Memory is flat once running: a leak of even 1 kB per frame would be 50 MB here.
    assert max(run.rss_trace) - run.rss_start_mb < 15.0, run.rss_trace
    # Against each board's truth: every LTR found, none invented (12-bit, normal SNR).
    tp = fp = fn = 0
    for device, truth in run.truth_by_device.items():
        found = [Timed(e) for e in run.flagged_by_device.get(device, [])]
        t, p, n = match([Timed(e) for e in truth], found, "ltr", tolerance_s=0.15)
        tp, fp, fn = tp + t, fp + p, fn + n
    print(f"\nsoak: {run.sent} samples, {flagged} events, LTRs {tp} found / {fp} extra / {fn} missed;"
          f" RSS {run.rss_start_mb:.1f} -> {run.rss_end_mb:.1f} MB")
    assert tp >= 20 and f1(tp, fp, fn) >= 0.9, (tp, fp, fn)


def hostile_clients(port: int, seconds: float) -> dict[str, Any]:
    """Fifty dashboards, one client that never reads, and a burst of API calls, all at once."""
    return asyncio.run(_hostile(port, seconds))


async def _hostile(port: int, seconds: float) -> dict[str, Any]:
    url = f"ws://127.0.0.1:{port}/ws/live"
    # A client that opens the socket and then never reads: its TCP window fills.
    stuck = socket.create_connection(("127.0.0.1", port))
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.sendall(f"GET /ws/live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    got: list[Counter[str]] = [Counter() for _ in range(50)]

    async def dashboard(k: int, ws: Any) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                msgs = frame_messages(await asyncio.wait_for(ws.recv(), 0.5))
            except asyncio.TimeoutError:
                continue
            got[k].update(msg["kind"] for msg in msgs)

    async def burst() -> tuple[int, int]:
        ok = failed = 0
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as api:
            end = time.monotonic() + seconds / 2
            while time.monotonic() < end:
                replies = await asyncio.gather(
                    *(api.get(path) for path in ("/api/devices", "/api/events?limit=5000", "/api/health",
                                                  "/api/detector", "/api/sessions", "/api/recording")),
                    return_exceptions=True)
                for r in replies:
                    ok += isinstance(r, httpx.Response) and r.status_code == 200
                    failed += not (isinstance(r, httpx.Response) and r.status_code == 200)
        return ok, failed

    sockets = [await websockets.connect(url, max_size=None) for _ in range(50)]
    try:
        (ok, failed), *_ = await asyncio.gather(burst(), *(dashboard(k, ws) for k, ws in enumerate(sockets)))
    finally:
        for ws in sockets:
            await ws.close()
        stuck.close()
    return {"api_ok": ok, "api_failed": failed, "ltrs_per_client": [c["ltr"] for c in got],
            "traces_per_client": [c["trace"] for c in got]}


@pytest.mark.slow
def test_fifty_dashboards_a_stuck_client_and_an_api_burst_do_not_touch_acquisition(tmp_path: Path) -> None:
    fleet = harness()
    run = fleet.run_fleet(4, 30.0, record=True, out=tmp_path, load=hostile_clients)
    assert_nothing_lost(run)
    load = run.load
    print(f"\nload: {load['api_ok']} API replies, LTRs per client {sorted(set(load['ltrs_per_client']))},"
          f" daemon CPU {100 * run.daemon_cpu:.0f} % of a core, data path p99 {run.path_p99_ms} ms")
    assert load["api_ok"] > 500 and load["api_failed"] == 0
    # Every dashboard saw the LTRs flagged while it watched, and a live trace throughout.
    assert min(load["ltrs_per_client"]) >= 1 and min(load["traces_per_client"]) > 100
    assert max(load["ltrs_per_client"]) - min(load["ltrs_per_client"]) <= 1  # a boundary event, at most
