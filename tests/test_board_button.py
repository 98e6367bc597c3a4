"""The board's own button: a press is stamped on the board's sample clock and lands
on the pipeline's stream time exactly, whatever the link did around it."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pytest

from tests.fuzz.fuzz_decoder import check as decoders_agree
from twitchd.hub import Hub
from twitchd.pipeline import DevicePipeline, Sinks
from twitchd.protocol import ChannelInfo, Data, Hello, Mark, StreamDecoder, encode_frame
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.session import SimConfig
from twitchd.transports.simulated import SimulatedTransport

RATE = 2000  # the simulated board's default


class Recorder:
    """A sink as a recording is one: it takes samples, events and presses, and keeps them."""

    def __init__(self) -> None:
        self.presses: list[tuple[str, float, int, int, int]] = []
        self.origin_raw: int | None = None

    def on_data(self, name: str, info: Any, cmap: Any, origin_raw: int, sample_index: int, counts: Any,
                t0_us: int, host_s: float) -> None:
        self.origin_raw = origin_raw

    def on_event(self, name: str, event: Any) -> None:
        pass

    def on_button(self, name: str, t_s: float, device_time_us: int, button: int, count: int) -> None:
        self.presses.append((name, t_s, device_time_us, button, count))


class SamplesOnly:
    """A sink from before the button: no on_button, and never asked for one."""

    def __init__(self) -> None:
        self.frames = 0

    def on_data(self, *args: Any) -> None:
        self.frames += 1

    def on_event(self, name: str, event: Any) -> None:
        pass


class Broken(Recorder):
    def on_button(self, name: str, t_s: float, device_time_us: int, button: int, count: int) -> None:
        raise RuntimeError("a bug in a consumer")


def marks(items: list[object]) -> list[Mark]:
    return [x for x in items if isinstance(x, Mark)]


def piped(device: SimulatedDevice, sink: object | None = None) -> DevicePipeline:
    pipeline = DevicePipeline("sim-1", SimulatedTransport(device), Hub())
    pipeline.sink = sink  # type: ignore[assignment]
    return pipeline


def test_a_press_of_the_boards_button_arrives_with_the_sample_clocks_time() -> None:
    device = SimulatedDevice()
    decoder = StreamDecoder()
    stream = device.advance(0.5)
    frames = decoder.feed(stream)
    device.press_button()
    after = device.advance(0.1)
    stream += after
    frames += decoder.feed(after)
    (mark,) = marks(frames)
    # Half a second in at 2 kHz: sample 1000 is the one stamped at the press.
    assert (mark.sample_index, mark.device_time_us, mark.button, mark.count) == (1000, 500_000, 1, 1)
    data = {f.sample_index: f for f in frames if isinstance(f, Data)}
    assert data[1000].t0_us == mark.device_time_us  # the same clock as DATA's
    assert decoder.stats.bad_frames == 0 and decoder.stats.sequence_gaps == 0
    # The numba fast path and the plain reference decoder read it alike, split anyhow.
    decoders_agree(stream)
    decoders_agree(stream[3:])


def test_presses_are_numbered_so_a_lost_one_shows() -> None:
    device = SimulatedDevice()
    decoder = StreamDecoder()
    decoder.feed(device.advance(0.2))
    device.press_button()
    device.press_button(button=2)
    out = marks(decoder.feed(device.advance(0.3)))
    device.press_button()
    out += marks(decoder.feed(device.advance(0.01)))
    assert [(m.button, m.count) for m in out] == [(1, 1), (2, 2), (1, 3)]
    assert out[2].sample_index == 1000 and out[2].device_time_us == 500_000


def test_the_pipeline_puts_the_press_on_stream_time_exactly() -> None:
    device = SimulatedDevice(SimConfig(seed=2))
    sink = Recorder()
    pipeline = piped(device, sink)
    pipeline.feed(device.advance(1.2345))
    device.press_button()
    pipeline.feed(device.advance(0.5))
    assert sink.presses == [("sim-1", 2469 / RATE, 1_234_500, 1, 1)]  # sample 2469 of stream time
    assert pipeline.info.marks == 1 and pipeline.info.marks_missed == 0


def test_a_board_already_running_puts_its_presses_on_the_same_axis_as_events() -> None:
    device = SimulatedDevice(SimConfig(seed=4))
    boot = device.advance(100.0)  # streaming long before the daemon started
    sink = Recorder()
    pipeline = piped(device, sink)
    pipeline.feed(boot[:boot.index(b"\x00") + 1])  # only its HELLO reached us
    pipeline.feed(device.advance(3.0))
    device.press_button()
    pipeline.feed(device.advance(0.2))
    ((_, t_s, device_us, _, _),) = sink.presses
    assert sink.origin_raw == 200_000  # stream time starts at the first sample the pipeline saw
    assert t_s == 3.0 and device_us == 103_000_000


def test_samples_lost_before_a_press_do_not_move_it() -> None:
    device = SimulatedDevice(SimConfig(seed=4))
    sink = Recorder()
    pipeline = piped(device, sink)
    pipeline.feed(device.advance(0.001))  # HELLO
    frames = device.advance(3.0).split(b"\x00")
    pipeline.feed(b"\x00".join(frames[:100] + frames[150:]))  # 50 frames, 500 samples, lost around 0.5 s
    device.press_button()
    pipeline.feed(device.advance(0.2))
    assert pipeline.info.lost_samples >= 500
    ((_, t_s, _, _, _),) = sink.presses
    assert t_s == 3.001  # stream time counts the lost samples, as event times do


def test_a_press_before_the_first_data_waits_for_the_stream_to_begin() -> None:
    device = SimulatedDevice()
    sink = Recorder()
    pipeline = piped(device, sink)
    device.press_button()  # at power-on, before the first sample went out
    wire = device.advance(0.0)
    assert marks(StreamDecoder().feed(wire))[0].sample_index == 0
    pipeline.feed(wire)
    assert sink.presses == [] and pipeline.info.marks == 1
    pipeline.feed(device.advance(0.1))
    assert sink.presses == [("sim-1", 0.0, 0, 1, 1)]


def test_the_sample_counter_wrapping_past_2_to_the_32_does_not_move_a_press() -> None:
    """Hand-built frames: a board whose sample index is about to wrap (days of streaming at 4 kHz)."""
    sink = Recorder()
    pipeline = piped(SimulatedDevice(), sink)
    channels = tuple(ChannelInfo(name, 12, 3300) for name in ("raw", "env", "fsr"))
    wire = encode_frame(Hello(0, "1.0.0", "esp32", "TW-000001", 1000, 10, channels))
    first = 0xFFFFFF00
    block = np.full((10, 3), 2048, dtype=np.uint16)
    for k in range(40):  # 0xFFFFFF00 ... past 0x100000000
        index = (first + 10 * k) & 0xFFFFFFFF
        wire += encode_frame(Data(k + 1, index, (0xFFFFF000 + 10_000 * k) & 0xFFFFFFFF, block))
    wire += encode_frame(Mark(41, 0x00000005, 0x00000123, 1, 7))  # after the wrap
    wire += encode_frame(Mark(42, 0xFFFFFFFE, 0xFFFFFF00, 1, 8))  # before it, still after the first sample
    pipeline.feed(wire)
    assert pipeline.info.lost_samples == 0
    assert [p[1:] for p in sink.presses] == [((0x100 + 5) / 1000, 0x123, 1, 7), (0xFE / 1000, 0xFFFFFF00, 1, 8)]


def test_a_lost_mark_frame_is_counted_from_the_press_numbers() -> None:
    device = SimulatedDevice()
    pipeline = piped(device, Recorder())
    pipeline.feed(device.advance(0.5))
    device.press_button()
    pipeline.feed(device.advance(0.1))
    device.press_button()
    lost = device.advance(0.1)
    pipeline.feed(b"".join(f + b"\x00" for f in lost.split(b"\x00")[:-1]
                           if not marks(StreamDecoder().feed(b"\x00" + f + b"\x00"))))
    device.press_button()
    pipeline.feed(device.advance(0.1))
    assert pipeline.info.marks == 2 and pipeline.info.marks_missed == 1
    # A board that reboots numbers its presses from 1 again: nothing lost.
    rebooted = SimulatedDevice()
    pipeline.feed(rebooted.advance(0.1))
    rebooted.press_button()
    pipeline.feed(rebooted.advance(0.1))
    assert pipeline.info.marks == 3 and pipeline.info.marks_missed == 1


def test_the_fan_out_tells_only_the_sinks_that_want_presses_and_survives_a_broken_one(
        caplog: pytest.LogCaptureFixture) -> None:
    device = SimulatedDevice()
    first, old, broken, last = Recorder(), SamplesOnly(), Broken(), Recorder()
    pipeline = piped(device, Sinks(first, old, broken, last))
    pipeline.feed(device.advance(0.25))
    with caplog.at_level(logging.ERROR):
        device.press_button()
        pipeline.feed(device.advance(0.1))
        device.press_button()
        pipeline.feed(device.advance(0.1))
    assert [p[1] for p in first.presses] == [0.25, 0.35] and last.presses == first.presses
    assert old.frames > 0 and broken.presses == []
    assert sum("button press" in r.getMessage() for r in caplog.records) == 1  # logged once, not per press


def test_no_sink_or_a_sink_without_on_button_is_fine() -> None:
    for sink in (None, SamplesOnly()):
        device = SimulatedDevice()
        pipeline = piped(device, sink)
        pipeline.feed(device.advance(0.1))
        device.press_button()
        pipeline.feed(device.advance(0.1))
        assert pipeline.info.marks == 1 and pipeline.info.samples == 400
