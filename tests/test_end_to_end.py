"""What a new user sees: `twitchd run` serves the dashboard and live LTR flags."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets
from twitchd.hub import frame_messages

from tests.conftest import free_port


@pytest.mark.slow
def test_the_daemon_streams_ltr_flags_to_a_websocket_client_in_real_time() -> None:
    port = free_port()
    env = {**os.environ, "TWITCHD_PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "twitchd", "run"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        started = time.monotonic()
        for line in proc.stdout:
            if line.startswith("dashboard:"):
                assert line.strip() == f"dashboard: http://127.0.0.1:{port}/"
                break
        else:
            pytest.fail("twitchd run printed no dashboard URL")
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
        assert "ltr-count" in page

        async def first_ltr() -> dict[str, object]:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/live") as ws:
                while True:
                    for msg in frame_messages(await ws.recv()):
                        if msg["kind"] == "ltr":
                            return msg

        ltr = asyncio.run(asyncio.wait_for(first_ltr(), 60))
        assert ltr["device"] == "sim-1" and time.monotonic() - started < 60
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode in (0, -15)
