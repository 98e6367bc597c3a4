"""A BLE drop mid-recording loses only the dropped interval, counted exactly, in the stored session."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.ble.conftest import SENSOR_ID, sensor_in_range, until
from tests.conftest import run_pipeline_while
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline
from twitchd.store.recorder import Recorder, SessionMeta
from twitchd.store.sessions import SessionStore
from twitchd.transports.ble import BleTransport

pytestmark = pytest.mark.ble
RATE = 2000


def test_a_ble_drop_mid_recording_loses_only_the_dropped_interval(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path)

    async def story() -> None:
        async with sensor_in_range(keep_counts=True) as (sensor, radio):
            pipeline = DevicePipeline("ble-1", BleTransport(SENSOR_ID, radio, find_timeout_s=1.5), Hub())
            pipeline.sink = recorder

            async def scenario() -> None:
                await until(lambda: pipeline.info.samples >= RATE // 2, 15, "streaming")
                await asyncio.to_thread(recorder.start, SessionMeta(patient="P-07", muscle="upper trapezius"))
                await asyncio.sleep(0.5)
                await sensor.drop(down_for_s=0.8)
                await until(lambda: pipeline.info.state == "reconnecting", 1, "the drop noticed")
                await until(lambda: pipeline.info.state == "streaming", 10, "back")
                before = pipeline.info.samples
                await until(lambda: pipeline.info.samples >= before + RATE // 2, 5, "recording on")
                await asyncio.to_thread(recorder.stop)

            await run_pipeline_while(pipeline, scenario)
            lost = sensor.lost_samples()
            assert lost >= 0.8 * RATE and pipeline.info.lost_samples == lost

            with SessionStore(tmp_path) as store:
                (session,) = store.all()
                (gap,) = store.gaps(session["id"], "ble-1")
                assert session["lost_samples"] == gap.samples == lost
                chunks = list(store.chunks(session["id"], "ble-1"))
            # Every stored sample is the board's sample at its place, on both sides of the hole.
            first_stored, end_stored = chunks[0][0], chunks[-1][0] + len(chunks[-1][1])
            assert session["samples"] == end_stored - first_stored - lost
            lost_from = next(f.sample_index for i, f in enumerate(sensor.frames)
                             if not f.delivered and i and sensor.frames[i - 1].delivered)
            board_index_of = lost_from - round(gap.onset_s * RATE)  # stored index 0 is this board index
            sent = {f.sample_index: f.counts for f in sensor.frames if f.delivered}
            for first, counts in chunks:
                for k in range(0, len(counts), 10):
                    expected = sent[board_index_of + first + k]
                    assert expected is not None and np.array_equal(counts[k:k + 10], expected)

    asyncio.run(story())
