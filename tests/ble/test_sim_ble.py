"""The demo without hardware: `twitchd sim-ble` in one process, the daemon in another.

The daemon's Bumble host drives its own virtual controller in the sim-ble
process over HCI on TCP, so this is the path `--ble-radio virtual` takes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

from tests.ble.conftest import until
from tests.conftest import free_port, run_pipeline_while
from twitchd.ble.radio import parse_radio
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline
from twitchd.transports.ble import BleTransport

pytestmark = pytest.mark.ble


def test_a_virtual_sensor_in_another_process_is_listed_streamed_and_missed_when_it_goes() -> None:
    port = free_port()
    sim = subprocess.Popen([sys.executable, "-m", "twitchd", "sim-ble", "--port", str(port), "--id", "TW-B1E0AA"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert sim.stdout is not None
        assert "TW-B1E0AA" in sim.stdout.readline()  # it says it is advertising once it listens
        listed = subprocess.run([sys.executable, "-m", "twitchd", "devices", "--ble-radio", f"virtual:{port}",
                                 "--seconds", "1", "--json"], capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        (sensor,) = json.loads(listed.stdout)["ble"]
        assert sensor["name"] == "TW-B1E0AA" and isinstance(sensor["rssi"], int)

        radio = parse_radio(f"virtual:{port}")
        pipeline = DevicePipeline("ble-1", BleTransport(sensor["address"], radio, find_timeout_s=1.0), Hub())

        async def scenario() -> None:
            await until(lambda: pipeline.info.samples >= 2000, 15, "a second of samples over the virtual radio")
            sim.terminate()  # the sensor and the air it was heard in are gone
            await until(lambda: pipeline.info.state == "reconnecting", 3, "the loss noticed")
            await asyncio.sleep(1.0)
            assert pipeline.info.state == "reconnecting" and "sim-ble" in pipeline.info.last_error

        async def story() -> None:
            try:
                await run_pipeline_while(pipeline, scenario)
            finally:
                await radio.close()

        asyncio.run(story())
        assert pipeline.info.device_id == "TW-B1E0AA" and pipeline.info.lost_samples == 0
    finally:
        sim.kill()
        sim.wait(5)
