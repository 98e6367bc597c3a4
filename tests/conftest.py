"""Shared helpers: a free port, the repo's paths, and CI's no-skip rule."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from twitchd.pipeline import DevicePipeline

# Property tests judge correctness, not speed (benchmarks do that): on a busy
# 2-core machine a single example can take longer than hypothesis's 200 ms default.
settings.register_profile("twitchd", deadline=None)
settings.load_profile("twitchd")

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require(condition: bool, why: str) -> None:
    """Skip locally (saying why), but fail in CI: a missing tool is a failure there."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {why}")
        pytest.skip(f"{why} (in CI, with CI=true, this is a failure)")


async def run_pipeline_while(pipeline: DevicePipeline, scenario: Callable[[], Awaitable[None]]) -> None:
    """Acquire with ``pipeline`` while ``scenario`` runs, then stop it cleanly.

    A pipeline that dies of an exception fails the test at once with that
    exception, rather than leaving the scenario to wait out its timeouts.
    """
    task = asyncio.create_task(pipeline.run())
    story = asyncio.create_task(scenario())
    try:
        await asyncio.wait({task, story}, return_when=asyncio.FIRST_COMPLETED)
        if task.done() and not story.done() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
        await story
    finally:
        story.cancel()
        await pipeline.stop()
        task.cancel()
        await asyncio.gather(task, story, return_exceptions=True)


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` (e.g. "2m") mounted at ``where``, to fill up on purpose."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True, check=False).returncode == 0
    require(mounted, f"mounting a {size} tmpfs needs root and mount(8)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture(scope="session", autouse=True)
def compiled_detector() -> None:
    """Compile the numba kernels once, before any timed story runs.

    `twitchd run` does the same before it starts acquiring; on a fresh clone
    (empty numba cache) the first compile blocks for ~20 s, which would stall
    whatever link a test has open at that moment (a BLE watchdog fires).
    """
    from twitchd.signal.detector import warm_up
    from twitchd.sim.session import SessionSimulator

    warm_up()
    SessionSimulator().read(4000)  # the simulated sensors' front-end model is numba too
