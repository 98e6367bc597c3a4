"""A lab with sensors on two laptops: one twitchd publishes its sensor over LSL, and
another takes the stream with ``--source lsl:NAME`` into its own detection, recording
and dashboard. Every sample arrives, and its LTRs are flagged where the first one's are."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.lsl.conftest import device_id
from twitchd.api import Daemon
from twitchd.clock import WARMUP_S
from twitchd.settings import Settings
from twitchd.signal.detector import warm_up
from twitchd.store.recorder import SessionMeta
from twitchd.store.sessions import SessionStore
from twitchd.transports import open_source
from twitchd.transports.lsl import LslTransport

pytestmark = pytest.mark.lsl
RATE = 2000
#: The receiver's detector joins the stream mid-session: for its first seconds its background is
#: still being learnt, and an onset may come a few tens of ms later than the publisher's.
SETTLED_S = 5.0


def test_a_stream_from_another_twitchd_is_detected_and_recorded_with_every_sample(
        pylsl: Any, tmp_path: Path) -> None:
    warm_up()
    dev = device_id(41)
    publisher = Daemon(Settings(sources=(f"simulated:seed=2,id={dev}",)))
    publisher.set_lsl(True)
    receiver = Daemon(Settings(sources=(f"lsl:twitchd {dev}",)), data_dir=tmp_path)
    got: dict[str, Any] = {}

    async def scenario() -> None:
        await publisher.start()
        await asyncio.sleep(WARMUP_S + 0.5)  # the publisher's stream appears once its clock is fitted
        await receiver.start()
        try:
            rx = receiver.pipelines[0]
            end = time.monotonic() + 30
            while rx.info.samples < RATE:
                assert time.monotonic() < end, f"no samples over LSL: {rx.info.state} {rx.info.last_error}"
                await asyncio.sleep(0.05)
            await asyncio.to_thread(receiver.recorder.start, SessionMeta(patient="P-LSL"))
            while sum(e.kind == "ltr" and e.onset_s > SETTLED_S for e in receiver.hub.events_since(0, 5000)) < 1:
                assert time.monotonic() < end, "no LTR over LSL"
                await asyncio.sleep(0.1)
            await asyncio.sleep(1.0)
            got["status"] = await asyncio.to_thread(receiver.recorder.stop)
            got["clock"] = publisher.lsl.clock_of("sim-1")  # type: ignore[union-attr]
            got["first_lsl"] = rx.transport.first_lsl  # type: ignore[attr-defined]
            got["rx_info"] = rx.info
        finally:
            await receiver.stop()
            await publisher.stop()

    asyncio.run(scenario())
    info = got["rx_info"]
    assert info.device_id == f"{dev}@lsl" and info.rate_hz == RATE and info.lost_samples == 0
    with SessionStore(tmp_path) as store:
        (s,) = store.all()
        assert s["lost_samples"] == 0 and s["samples"] == got["status"]["samples"] > RATE
    # LTRs: once settled, the receiver's onsets, on the LSL clock, are the publisher's (to a few
    # samples: the same samples, the same detector; only the float32 stream and 16-bit counts
    # differ); before, within the detector's onset tolerance (50 ms) of them and of the truth.
    pub = [got["clock"].to_host(e.onset_s * 1e6) for e in publisher.hub.events_since(0, 5000) if e.kind == "ltr"]
    rx = [(e.onset_s, got["first_lsl"] + e.onset_s) for e in receiver.hub.events_since(0, 5000) if e.kind == "ltr"]
    session = publisher.pipelines[0].transport.device.session  # type: ignore[attr-defined]
    truth = [got["clock"].to_host(e.onset_s * 1e6) for e in session.truth if e.kind == "ltr"]
    assert len(rx) >= 2 and any(s > SETTLED_S for s, _ in rx)
    for stream_s, t in rx:
        assert min(abs(t - p) for p in pub) < (0.005 if stream_s > SETTLED_S else 0.05), (t, pub)
        assert min(abs(t - p) for p in truth) < 0.05, (t, truth)


def test_an_lsl_source_that_is_not_there_says_so_and_is_retried(pylsl: Any) -> None:
    transport = open_source("lsl:twitchd TW-NOWHERE")
    assert isinstance(transport, LslTransport) and transport.reconnectable
    with pytest.raises(Exception, match="no LSL stream named or with source id 'twitchd TW-NOWHERE'"):
        asyncio.run(transport.open())
