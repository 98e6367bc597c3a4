"""Pairing a wireless sensor from the dashboard, with no Bluetooth hardware:
`twitchd sim-ble` is the sensor, the daemon reaches it through Bumble's host stack."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Twitchd, new_page, tid
from tests.conftest import free_port

pytestmark = [pytest.mark.browser, pytest.mark.ble]


@pytest.fixture
def sensor_port() -> Iterator[int]:
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "twitchd", "sim-ble", "--port", str(port), "--id", "TW-B1E0BB"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert sim.stdout is not None and "TW-B1E0BB" in sim.stdout.readline()
    yield port
    sim.terminate()
    sim.wait(10)


def test_a_practitioner_pairs_the_virtual_sensor_from_the_device_panel(browser: Any, tmp_path: Path,
                                                                       sensor_port: int) -> None:
    daemon = Twitchd(tmp_path, ["simulated"], extra=("--ble-radio", f"virtual:{sensor_port}")).start()
    try:
        page = new_page(browser, daemon.url)
        page.locator("body").press("d")
        tid(page, "ble-scan").click()
        tid(page, "ble-sensors").get_by_text("TW-B1E0BB").wait_for(timeout=15_000)
        tid(page, "connect-ble").first.click()
        page.wait_for_function("document.querySelectorAll('[data-testid=lane]').length === 2", timeout=15_000)
        lane = page.locator('[data-testid=lane][data-device="ble-2"]')
        lane.locator(".lane-state").filter(has_text="streaming").wait_for(timeout=20_000)
        paired = daemon.api("/api/ble/paired")["sensors"]
        assert [s["name"] for s in paired] == ["TW-B1E0BB"], "a paired sensor is remembered for the next start"
        page.context.close()
    finally:
        daemon.stop()
