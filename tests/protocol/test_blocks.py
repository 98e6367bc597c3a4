"""Frames to arrays (issue 20): DATA frames come out of one numba pass as DataBlocks,
in stream order with the other frames and the gaps, counted as the per-frame decoder counts."""

from __future__ import annotations

import random
import struct
from dataclasses import asdict
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.protocol.test_codec import any_frame
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline, Sinks
from twitchd.protocol import (
    ChannelInfo, Data, DataBlock, Hello, SequenceGap, Status, StreamDecoder, encode_frame,
)
from twitchd.protocol.framing import cobs_encode, crc16
from twitchd.protocol.perframe import PerFrameDecoder
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.session import SimConfig
from twitchd.transports.simulated import SimulatedTransport

HELLO = Hello(0, "1.0.0", "uno", "TW-1", 2000, 10, (ChannelInfo("raw", 13, 5000),))


def data(seq: int, index: int, n: int = 10, channels: int = 3) -> Data:
    values = (np.arange(n * channels, dtype=np.uint16) + index).reshape(n, channels)
    return Data(seq, index, index * 500, values)


def flat(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        out += item.frames() if isinstance(item, DataBlock) else [item]
    return out


def kinds(items: list[Any]) -> list[str]:
    return [f"block{len(x)}" if isinstance(x, DataBlock) else type(x).__name__ for x in items]


def test_a_read_of_data_frames_is_one_block_of_arrays() -> None:
    frames = [data(i, i * 10) for i in range(50)]
    (block,) = StreamDecoder().feed_blocks(b"".join(encode_frame(f) for f in frames))
    assert isinstance(block, DataBlock) and len(block) == 50 and block.channels == 3
    assert block.samples.shape == (500, 3) and block.samples.dtype == np.uint16
    assert block.sample_index.dtype == np.uint32 and block.t0_us.dtype == np.uint32
    assert block.seq.tolist() == list(range(50)) and block.sample_index.tolist() == [i * 10 for i in range(50)]
    assert block.starts.tolist() == [i * 10 for i in range(50)] and block.counts.tolist() == [10] * 50
    assert np.array_equal(block.samples, np.concatenate([f.samples for f in frames]))
    assert block.frames() == frames and block.frame(7) == frames[7]


def test_blocks_split_where_another_frame_a_gap_or_the_channel_count_comes_between() -> None:
    status = Status(3, 0, True, False, 2000)
    wire = b"".join(encode_frame(f) for f in (
        data(1, 0), data(2, 10), status, data(4, 20), data(6, 30), data(7, 40, channels=2), data(8, 50, channels=2)))
    items = StreamDecoder().feed_blocks(wire)
    assert kinds(items) == ["block2", "Status", "block1", "SequenceGap", "block1", "block2"]
    assert items[3] == SequenceGap(5, 6) and items[5].samples.shape == (20, 2)


def test_a_hello_between_two_runs_keeps_its_place() -> None:
    wire = b"".join(encode_frame(f) for f in (data(7, 0), data(8, 10), HELLO, data(1, 0), data(2, 10)))
    decoder = StreamDecoder()
    items = decoder.feed_blocks(wire)
    assert kinds(items) == ["block2", "Hello", "block2"]
    assert decoder.stats.restarts == 1 and decoder.stats.sequence_gaps == 0


def test_a_frame_cut_across_two_reads_is_carried_over() -> None:
    wire = b"".join(encode_frame(data(i, i * 10)) for i in range(3))
    for cut in range(1, len(wire)):
        decoder = StreamDecoder()
        got = flat(decoder.feed_blocks(wire[:cut]) + decoder.feed_blocks(wire[cut:]))
        assert got == [data(i, i * 10) for i in range(3)], cut


def test_a_malformed_frame_between_data_frames_costs_only_itself() -> None:
    body = struct.pack("<BBH", 1, 0x09, 2) + b"\x01"  # a type from the future, seq 2
    unknown = cobs_encode(body + crc16(body).to_bytes(2, "little")) + b"\x00"
    short = struct.pack("<BBHIIBB", 1, 0x02, 3, 0, 0, 10, 3) + b"\x01\x02"  # DATA shorter than it says
    short_wire = cobs_encode(short + crc16(short).to_bytes(2, "little")) + b"\x00"
    wire = encode_frame(data(1, 0)) + unknown + short_wire + encode_frame(data(4, 10))
    decoder, old = StreamDecoder(), PerFrameDecoder()
    items = decoder.feed_blocks(wire)
    assert flat(items) == old.feed(wire) == [data(1, 0), SequenceGap(2, 4), data(4, 10)]
    assert asdict(decoder.stats) == asdict(old.stats)
    assert decoder.stats.malformed == 2 and decoder.stats.frames_missed == 2
    assert decoder.stats.last_error == "frame payload is shorter than its fields"


def test_the_per_frame_api_returns_what_the_per_frame_decoder_did() -> None:
    device = SimulatedDevice(SimConfig(seed=3))
    wire = bytearray(device.advance(0.001) + device.advance(3.0))
    rnd = random.Random(3)
    for _ in range(20):
        wire[rnd.randrange(len(wire))] ^= 1 << rnd.randrange(8)
    decoder, old = StreamDecoder(), PerFrameDecoder()
    at = 0
    while at < len(wire):
        step = rnd.choice((1, 13, 76, 500, 4096))
        assert decoder.feed(bytes(wire[at:at + step])) == old.feed(bytes(wire[at:at + step]))
        at += step
    assert asdict(decoder.stats) == asdict(old.stats) and decoder.stats.bad_frames > 0


@settings(max_examples=150)
@given(st.lists(any_frame, min_size=1, max_size=25), st.randoms(use_true_random=False))
def test_blocks_flatten_to_the_frames_of_the_per_frame_decoder(frames: list[object], rnd: random.Random) -> None:
    wire = b"".join(encode_frame(f) for f in frames)  # type: ignore[arg-type]
    decoder, old, got, want, at = StreamDecoder(), PerFrameDecoder(), [], [], 0
    while at < len(wire):
        step = rnd.randint(1, 9) if rnd.random() < 0.5 else rnd.randint(1, 3000)
        got += flat(decoder.feed_blocks(wire[at:at + step]))
        want += old.feed(wire[at:at + step])
        at += step
    assert got == want and asdict(decoder.stats) == asdict(old.stats)


class Tap:
    """A sink that takes runs: one call per run of frames whose indices follow on."""

    takes_runs = True

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, Any, int, float]] = []

    def on_data(self, name: str, info: Any, cmap: Any, origin_raw: int, index: int, counts: Any, t0_us: int,
                host_s: float) -> None:
        self.calls.append((origin_raw, index, counts, t0_us, host_s))

    def on_event(self, name: str, event: Any) -> None:
        pass


def fed(wire: bytes, read: int) -> tuple[DevicePipeline, Tap, list[Any]]:
    hub = Hub()
    traces: list[Any] = []
    hub.publish_display = lambda m: traces.append(m) if m["kind"] == "trace" else None  # type: ignore[method-assign]
    pipeline = DevicePipeline("sim-1", SimulatedTransport(SimulatedDevice()), hub)
    tap = Tap()
    pipeline.sink = tap  # type: ignore[assignment]
    for k, at in enumerate(range(0, len(wire), read)):
        pipeline.feed(wire[at:at + read], 100.0 + k * 0.005)
    return pipeline, tap, traces


def test_the_pipeline_takes_a_read_of_many_frames_as_it_takes_them_one_by_one() -> None:
    """One frame per read is the per-frame path of old; a 4 KiB read is one block, and its
    runs go to the sink in one call each: the same samples, stamps, gaps, events and traces."""
    device = SimulatedDevice(SimConfig(seed=4))
    head = device.advance(0.001) + device.advance(4.0)
    frames = device.advance(4.0).split(b"\x00")
    wire = head + b"\x00".join(frames[:100] + frames[160:])  # 60 frames lost
    single = [f + b"\x00" for f in wire.split(b"\x00")[:-1]]
    one, one_tap, one_traces = fed(b"".join(single), 1 << 30)  # everything in one read
    by_frame = DevicePipeline("sim-1", SimulatedTransport(SimulatedDevice()), Hub())
    frame_tap = Tap()
    by_frame.sink = frame_tap  # type: ignore[assignment]
    traces: list[Any] = []
    by_frame.hub.publish_display = lambda m: traces.append(m) if m["kind"] == "trace" else None  # type: ignore[method-assign]
    for piece in single:
        by_frame.feed(piece, 100.0)
    assert len(frame_tap.calls) == one.info.samples // 10
    # A handful of calls in all: runs break at the gap and at the board's STATUS frames only.
    assert 2 <= len(one_tap.calls) <= 10
    ends = [(c[1] + c[2].shape[0]) & 0xFFFFFFFF for c in one_tap.calls]
    assert sum(start != end for start, end in zip([c[1] for c in one_tap.calls[1:]], ends)) == 1  # the gap
    assert one.info.lost_samples == by_frame.info.lost_samples == 600
    assert one.info.samples == by_frame.info.samples and one_traces == traces
    assert [(e.kind, e.onset_s) for e in one.hub.events_since(0, 1000)] == \
        [(e.kind, e.onset_s) for e in by_frame.hub.events_since(0, 1000)]
    samples = np.concatenate([c[2] for c in one_tap.calls])
    assert np.array_equal(samples, np.concatenate([c[2] for c in frame_tap.calls]))
    firsts = {c[1]: c for c in frame_tap.calls}
    for origin, index, counts, t0_us, _ in one_tap.calls:
        assert firsts[index][:2] == (origin, index) and firsts[index][3] == t0_us


class FrameTap(Tap):
    """A sink from before runs: called frame by frame."""

    takes_runs = False


class Broken(Tap):
    def on_data(self, *args: Any) -> None:
        raise RuntimeError("a consumer's bug")


def test_sinks_that_take_runs_get_runs_and_the_others_frames_as_before() -> None:
    device = SimulatedDevice(SimConfig(seed=5))
    wire = device.advance(0.001) + device.advance(2.0)
    runs, frames, alone = Tap(), FrameTap(), FrameTap()
    shared = DevicePipeline("sim-1", SimulatedTransport(SimulatedDevice()), Hub())
    shared.sink = Sinks(Broken(), runs, frames)  # type: ignore[assignment]
    shared.feed(wire, 100.0)
    by_frame = DevicePipeline("sim-1", SimulatedTransport(SimulatedDevice()), Hub())
    by_frame.sink = alone  # type: ignore[assignment]
    for piece in wire.split(b"\x00")[:-1]:
        by_frame.feed(piece + b"\x00", 100.0)
    assert 1 <= len(runs.calls) <= 3 and len(frames.calls) == len(alone.calls) == 400
    assert [c[:2] + c[3:] for c in frames.calls] == [c[:2] + c[3:] for c in alone.calls]
    assert all(np.array_equal(a[2], b[2]) for a, b in zip(frames.calls, alone.calls))
    assert np.array_equal(np.concatenate([c[2] for c in runs.calls]), np.concatenate([c[2] for c in alone.calls]))
