"""A practitioner's wireless sensor, from first connection to a link that misbehaves.

Each story runs the daemon's real pipeline on a BLE link to the virtual sensor
and checks what the practitioner would see, against what the sensor knows it
sent: the sensor logs every DATA frame and whether it went out whole.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest

from tests.ble.conftest import SENSOR_ID, StatusLog, sensor_in_range, until
from tests.conftest import run_pipeline_while
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline
from twitchd.transports.ble import BleTransport

pytestmark = pytest.mark.ble

RATE = 2000


def link_to(name: str, radio: object, find_timeout_s: float = 1.5) -> DevicePipeline:
    return DevicePipeline("ble-1", BleTransport(name, radio, find_timeout_s=find_timeout_s), Hub())  # type: ignore[arg-type]


def test_frames_cut_across_small_notifications_arrive_whole_and_in_order() -> None:
    """An MTU-23 link (20-byte notifications) cut at random lengths: every frame spans
    several notifications and some notifications carry the end of one frame and the
    start of the next. Not one sample may be lost or mangled."""

    async def story() -> None:
        async with sensor_in_range(max_chunk=20, rng=random.Random(7)) as (sensor, radio):
            pipeline = link_to(SENSOR_ID, radio)

            async def scenario() -> None:
                await until(lambda: pipeline.info.samples >= 2 * RATE, 15, "two seconds of samples")

            await run_pipeline_while(pipeline, scenario)
            info = pipeline.info
            assert info.state == "streaming" and info.device_id == SENSOR_ID and info.rate_hz == RATE
            assert info.lost_samples == 0 and info.bad_frames == 0
            transport = pipeline.transport
            assert isinstance(transport, BleTransport)
            # Far more notifications than frames: frames really were cut up.
            assert transport.notifications > 3 * info.samples / 10
            assert info.rssi is not None and -100 < info.rssi < 0

    asyncio.run(story())


def test_several_frames_ride_in_one_notification_on_a_large_mtu() -> None:
    async def story() -> None:
        async with sensor_in_range() as (sensor, radio):
            pipeline = link_to(SENSOR_ID, radio)

            async def scenario() -> None:
                await until(lambda: pipeline.info.samples >= RATE, 15, "a second of samples")

            await run_pipeline_while(pipeline, scenario)
            transport = pipeline.transport
            assert isinstance(transport, BleTransport)
            assert pipeline.info.lost_samples == 0 and pipeline.info.bad_frames == 0
            assert transport.notifications < pipeline.info.samples / 10 / 1.5  # ~2 DATA frames per notification

    asyncio.run(story())


def test_a_ble_drop_mid_stream_loses_only_the_samples_of_the_dropped_interval() -> None:
    """The sensor goes out of range for a second and comes back: the session goes
    on, the dashboard says so meanwhile, and the hole is a gap of exactly the samples
    the board took while nobody could hear it."""

    async def story() -> None:
        async with sensor_in_range() as (sensor, radio):
            pipeline = link_to(SENSOR_ID, radio)
            log = StatusLog(pipeline.hub)

            async def scenario() -> None:
                await until(lambda: pipeline.info.samples >= RATE, 15, "streaming")
                await sensor.drop(down_for_s=1.0)
                dropped_at = time.monotonic()
                await until(lambda: pipeline.info.state == "reconnecting", 1.0, "the drop noticed")
                await until(lambda: pipeline.info.state == "streaming", 10, "back")
                back_after = time.monotonic() - dropped_at
                assert 1.0 <= back_after < 4.0, back_after
                before = pipeline.info.samples
                await until(lambda: pipeline.info.samples >= before + RATE // 2, 5, "streaming again")

            await run_pipeline_while(pipeline, scenario)
            await log.close()
            lost = sensor.lost_samples()
            assert lost >= RATE  # at least the second it was out of reach
            assert pipeline.info.lost_samples == lost
            assert [g["samples"] for g in log.gaps] == [lost]
            assert pipeline.info.bad_frames == 0 and sensor.connections == 2
            # The dashboard was told: reconnecting, with the time since the loss growing, then streaming.
            states = log.states()
            assert "reconnecting" in states and states[-1] == "streaming" and pipeline.info.to_json()["lost_for_s"] == 0
            assert max(m["lost_for_s"] for _, m in log.seen) > 0.5

    asyncio.run(story())


def test_a_sensor_that_never_comes_back_leaves_the_device_reconnecting_with_backoff() -> None:
    async def story() -> None:
        async with sensor_in_range() as (sensor, radio):
            pipeline = link_to(SENSOR_ID, radio, find_timeout_s=0.3)
            log = StatusLog(pipeline.hub)

            async def scenario() -> None:
                await until(lambda: pipeline.info.samples >= RATE // 2, 15, "streaming")
                await sensor.drop(down_for_s=None)
                await asyncio.sleep(4.5)

            await run_pipeline_while(pipeline, scenario)
            await log.close()
            info = pipeline.info.to_json()
            assert info["state"] == "reconnecting" and "not found nearby" in info["last_error"]
            assert info["lost_for_s"] >= 4.0 and info["rssi"] is None
            tries = [t for t, m in log.seen if "not found" in m["last_error"]]
            pauses = [b - a for a, b in zip(tries, tries[1:])]
            # Each try listens 0.3 s, then waits 0.25, 0.5, 1, 2 s...: the pauses grow.
            assert 3 <= len(tries) <= 6 and pauses == sorted(pauses) and pauses[-1] > 1.0, pauses

    asyncio.run(story())


def test_a_link_that_stays_up_but_goes_silent_is_reopened_within_two_seconds() -> None:
    """A known BlueZ failure: connected, subscribed, and no notification ever again.
    The watchdog ends the link after 2 s and the reconnect brings the data back."""

    async def story() -> None:
        async with sensor_in_range() as (sensor, radio):
            pipeline = link_to(SENSOR_ID, radio)
            log = StatusLog(pipeline.hub)

            async def scenario() -> None:
                await until(lambda: pipeline.info.samples >= RATE, 15, "streaming")
                sensor.stall()
                noticed = await until(lambda: pipeline.info.state != "streaming", 3.0, "the stall noticed")
                assert 1.9 <= noticed <= 2.3, noticed
                await until(lambda: pipeline.info.state == "streaming", 8, "reopened")
                before = pipeline.info.samples
                await until(lambda: pipeline.info.samples >= before + RATE // 2, 5, "streaming again")

            await run_pipeline_while(pipeline, scenario)
            await log.close()
            assert any("no data for" in m["last_error"] for _, m in log.seen)
            assert sensor.connections == 2
            assert pipeline.info.lost_samples == sensor.lost_samples() >= 2 * RATE

    asyncio.run(story())


def test_malformed_notifications_cost_only_the_frame_they_touch() -> None:
    async def story() -> None:
        async with sensor_in_range() as (sensor, radio):
            pipeline = link_to(SENSOR_ID, radio)

            async def scenario() -> None:
                await until(lambda: pipeline.info.samples >= RATE // 2, 15, "streaming")
                sensor.inject(bytes([0x13, 0x37, 0xFF, 0x42, 0x00]))  # junk that ends like a frame
                await asyncio.sleep(0.1)
                sensor.corrupt_next_frame()  # a flipped bit inside a DATA frame: its CRC fails
                before = pipeline.info.samples
                await until(lambda: pipeline.info.samples >= before + RATE // 2, 5, "streaming on")

            await run_pipeline_while(pipeline, scenario)
            info = pipeline.info
            assert info.state == "streaming" and info.bad_frames == 2
            assert info.lost_samples == sensor.lost_samples() == 10  # the one corrupt frame

    asyncio.run(story())
