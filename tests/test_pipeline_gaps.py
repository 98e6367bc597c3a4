"""Lost frames are a recorded gap with the exact number of samples, never papered over."""

from __future__ import annotations

import numpy as np

from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline
from twitchd.protocol import Data, encode_frame
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.session import SimConfig
from twitchd.transports.simulated import SimulatedTransport


def test_a_dropped_stretch_of_frames_is_one_gap_event_and_later_times_stay_true() -> None:
    device = SimulatedDevice(SimConfig(seed=4))
    hub = Hub()
    pipeline = DevicePipeline("sim-1", SimulatedTransport(device), hub)
    pipeline.feed(device.advance(0.001))  # HELLO
    wire = device.advance(30.0)
    frames = wire.split(b"\x00")
    # Cut out ~1 s of frames around t = 2 s (frames 400..599 hold samples 4000..5999).
    kept = frames[:410] + frames[610:]
    pipeline.feed(b"\x00".join(kept))
    info = pipeline.info
    gaps = [e for e in hub.events_since(0, 1000) if e.kind == "gap"]
    assert len(gaps) == 1 and gaps[0].extra["samples"] == info.lost_samples
    assert 1900 <= info.lost_samples <= 2010 and info.samples + info.lost_samples == 60000
    truth = [t for t in device.session.truth_until(29.5) if t.kind == "ltr" and t.onset_s > 4.0]
    flagged = [e for e in hub.events_since(0, 1000) if e.kind == "ltr" and e.onset_s > 4.0]
    assert truth and all(any(abs(f.onset_s - t.onset_s) < 0.05 for f in flagged) for t in truth)


def test_a_repeated_frame_is_not_fed_twice() -> None:
    device = SimulatedDevice()
    hub = Hub()
    pipeline = DevicePipeline("sim-1", SimulatedTransport(device), hub)
    pipeline.feed(device.advance(0.1))
    frame = Data(500, 0, 0, np.zeros((10, 3), dtype=np.uint16))
    before = pipeline.info.samples
    pipeline.feed(encode_frame(frame))
    assert pipeline.info.samples == before and pipeline.info.lost_samples == 0


def test_a_board_that_reboots_mid_session_is_followed_not_ignored() -> None:
    hub = Hub()
    first = SimulatedDevice(SimConfig(seed=4))
    pipeline = DevicePipeline("ser-1", SimulatedTransport(first), hub)
    pipeline.feed(first.advance(20.0))
    rebooted = SimulatedDevice(SimConfig(seed=5))  # battery swapped: counts from 0 again, same rate
    pipeline.feed(rebooted.advance(30.0))
    info = pipeline.info
    assert info.samples == 50 * 2000, "every sample after the reboot was taken, none dropped as 'old'"
    (gap,) = [e for e in hub.events_since(0, 1000) if e.kind == "gap"]
    assert gap.extra["reset"] == 1.0 and gap.onset_s == 20.0
    shift = 20.0 + gap.extra["samples"] / 2000
    truth = [t for t in rebooted.session.truth_until(29.5) if t.kind == "ltr" and t.onset_s > 1.0]
    flagged = [e for e in hub.events_since(0, 1000) if e.kind == "ltr" and e.onset_s > 21.0]
    assert truth and all(any(abs(f.onset_s - (t.onset_s + shift)) < 0.05 for f in flagged) for t in truth)


def test_traces_and_events_share_one_clock_when_the_board_was_already_running() -> None:
    import asyncio

    device = SimulatedDevice(SimConfig(seed=4))
    boot = device.advance(100.0)  # streaming long before the daemon started
    hub = Hub()
    pipeline = DevicePipeline("ser-1", SimulatedTransport(device), hub)
    pipeline.feed(boot[:boot.index(b"\x00") + 1])  # only its HELLO reached us

    async def first_trace() -> dict[str, object]:
        sub = hub.subscribe()
        pipeline.feed(device.advance(0.5))
        return next(m for m in await asyncio.wait_for(sub.get(), 5.0) if m["kind"] == "trace")

    trace = asyncio.run(first_trace())
    assert 0.0 <= float(trace["t0_s"]) < 0.5  # type: ignore[arg-type]
