"""Browser tests: Debian's Chromium driven by Playwright, against a real
``twitchd run`` on the simulated sensor (no mocks between page and daemon).

One daemon per module where the tests can share it; the browser is started
once per module too, so no Playwright loop outlives the browser tests.
"""

from __future__ import annotations

import importlib.util
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, free_port, require

CHROMIUM = Path("/usr/bin/chromium")
TWITCHD = Path(sys.executable).with_name("twitchd")


def have_browser() -> None:
    require(importlib.util.find_spec("playwright") is not None,
            "the Python package playwright is not installed (pip install -e '.[test]')")
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (scripts/install-browser-deps.sh installs Debian's chromium)")


class Twitchd:
    """``twitchd run`` as a subprocess on a fixed port, so it can be killed and started again there."""

    def __init__(self, tmp: Path, sources: list[str], *, token: str | None = None, data_dir: Path | None = None,
                 port: int | None = None, extra: tuple[str, ...] = ()) -> None:
        self.tmp = tmp
        self.sources = sources
        self.extra = extra
        self.token = token
        self.data_dir = data_dir or tmp / "data"
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tmp / f"twitchd-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def start(self, timeout: float = 120.0) -> Twitchd:
        args = [str(TWITCHD), "run", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        for s in self.sources:
            args += ["--source", s]
        if self.token:
            args += ["--token", self.token]
        args += self.extra
        before = self._announced()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        end = time.monotonic() + timeout  # (the first start ever compiles the detector)
        while self._announced() == before:
            if self.proc.poll() is not None:
                pytest.fail(f"twitchd exited with {self.proc.returncode}:\n{self.log.read_text()}")
            if time.monotonic() > end:
                pytest.fail(f"twitchd printed no dashboard URL in {timeout} s:\n{self.log.read_text()}")
            time.sleep(0.05)
        return self

    def _announced(self) -> int:
        return self.log.read_text(errors="replace").count("dashboard:") if self.log.exists() else 0

    def kill(self) -> None:
        """Like a crash: SIGKILL, no goodbye to the browser."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def api(self, path: str, method: str = "GET", body: bytes | None = None) -> Any:
        import json

        sep = "&" if "?" in path else "?"
        url = f"http://127.0.0.1:{self.port}{path}" + (f"{sep}token={self.token}" if self.token else "")
        req = urllib.request.Request(url, data=body, method=method, headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    have_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM))
        yield b
        b.close()


def new_page(browser: Any, url: str, errors: list[str] | None = None, **kw: Any) -> Any:
    """A page at ``url`` in a fresh context (own localStorage); page errors are collected."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 860}, **kw)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    if errors is not None:
        page.on("pageerror", lambda e: errors.append(str(e)))
        # (an API refusal the page shows in words is logged by Chromium as a failed load: not a page error)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and not re.match(
            r"Failed to load resource: the server responded with a status of 4\d\d", m.text) else None)
    page.goto(url)
    return page


def tid(page: Any, name: str) -> Any:
    return page.locator(f'[data-testid="{name}"]')
