"""``twitchd run`` as a subprocess on a real socket, and raw requests to it with any Host header."""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import free_port


@dataclass
class Served:
    port: int
    proc: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The dashboard URL the daemon printed."""
        return next(line.removeprefix("dashboard: ").strip() for line in self.lines if line.startswith("dashboard: "))

    def output(self) -> str:
        """Everything the daemon printed; complete once it has stopped."""
        return "".join(self.lines)

    def get(self, path: str, host: str | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        """GET ``path`` from 127.0.0.1 with this Host header (as a DNS-rebound page would send it)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Host": host or f"127.0.0.1:{self.port}", **(headers or {})})
            answer = conn.getresponse()
            body = answer.read()
            is_json = answer.getheader("content-type", "").startswith("application/json")
            return answer.status, json.loads(body) if is_json else body
        finally:
            conn.close()

    def live(self, path: str = "/ws/live", host: str | None = None, headers: dict[str, str] | None = None) -> Any:
        """The first message of the live socket, or the refused handshake's status (an int).

        The socket goes to 127.0.0.1 whatever the Host header names, like a browser
        whose DNS answer for that name was re-pointed at this machine.
        """
        import socket

        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        try:
            with connect(f"ws://{host or f'127.0.0.1:{self.port}'}{path}", sock=sock,
                         additional_headers=headers, open_timeout=10) as ws:
                return json.loads(ws.recv(timeout=10))
        except InvalidStatus as exc:
            return exc.response.status_code
        finally:
            sock.close()


@contextlib.contextmanager
def twitchd_run(tmp: Path, *args: str, timeout: float = 120.0) -> Iterator[Served]:
    """``twitchd run ARGS`` on a free port, once it prints its dashboard URL; stopped after."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "twitchd", "run", "--port", str(port), "--data-dir", str(tmp / "data"),
                             "--source", "simulated", *args], text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    served = Served(port, proc)
    assert proc.stdout is not None
    try:
        end = time.monotonic() + timeout
        for line in proc.stdout:
            served.lines.append(line)
            if line.startswith("dashboard: "):
                break
            if time.monotonic() > end:
                pytest.fail(f"twitchd printed no dashboard URL in {timeout} s:\n{served.output()}")
        else:
            pytest.fail(f"twitchd run exited with {proc.wait()}:\n{served.output()}")
        yield served
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            rest, _ = proc.communicate(timeout=15)
            served.lines.append(rest)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def token_in(url: str) -> str:
    found = re.search(r"[?&]token=([^&#]+)", url)
    assert found, f"no token in {url}"
    return found.group(1)
