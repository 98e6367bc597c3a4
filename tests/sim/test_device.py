"""The simulated board behaves like the firmware: streams from boot, answers commands."""

from __future__ import annotations

import struct

import numpy as np

from twitchd.protocol import Ack, AckCode, Command, Data, Hello, Opcode, Pong, Status, StreamDecoder, encode_frame
from twitchd.sim.device import SimulatedDevice, pattern_samples
from twitchd.sim.session import SimConfig


def run(device: SimulatedDevice, seconds: float, step: float = 0.01) -> list[object]:
    decoder, out = StreamDecoder(), []
    for _ in range(int(round(seconds / step))):
        out += decoder.feed(device.advance(step))
    return out


def send(device: SimulatedDevice, opcode: Opcode, arg: bytes = b"") -> None:
    device.receive(encode_frame(Command(0, opcode, arg)))


def test_a_new_board_says_hello_then_streams_exactly_2000_samples_a_second() -> None:
    out = run(SimulatedDevice(), 3.0)
    assert isinstance(out[0], Hello) and out[0].rate_hz == 2000
    data = [f for f in out if isinstance(f, Data)]
    assert sum(len(f.samples) for f in data) == 6000
    assert [f.sample_index for f in data] == list(range(0, 6000, 10))
    assert [f.t0_us for f in data[:3]] == [0, 5000, 10000]
    assert sum(isinstance(f, Status) for f in out) == 3


def test_ping_comes_back_with_the_token_and_the_device_clock() -> None:
    device = SimulatedDevice()
    run(device, 0.5)
    send(device, Opcode.PING, struct.pack("<Q", 0xDEADBEEF))
    pongs = [f for f in run(device, 0.01) if isinstance(f, Pong)]
    assert pongs[0].token == 0xDEADBEEF and pongs[0].device_us == 500_000


def test_bad_commands_are_refused_with_a_reason() -> None:
    device = SimulatedDevice()
    send(device, Opcode.SET_RATE, struct.pack("<I", 50))
    device.receive(encode_frame(Command(1, 0x7E)))
    device.receive(encode_frame(Command(2, Opcode.TEST_SIGNAL, b"")))
    acks = [(f.opcode, f.code) for f in run(device, 0.01) if isinstance(f, Ack)]
    assert acks == [(Opcode.SET_RATE, AckCode.BAD_ARGUMENT), (0x7E, AckCode.UNKNOWN_OPCODE),
                    (Opcode.TEST_SIGNAL, AckCode.BAD_LENGTH)]


def test_stop_start_and_a_new_rate() -> None:
    device = SimulatedDevice()
    send(device, Opcode.STOP)
    assert not any(isinstance(f, Data) for f in run(device, 0.5))
    send(device, Opcode.SET_RATE, struct.pack("<I", 1000))
    send(device, Opcode.START)
    out = run(device, 1.0)
    assert any(isinstance(f, Hello) and f.rate_hz == 1000 for f in out)
    assert sum(len(f.samples) for f in out if isinstance(f, Data)) == 1000


def test_the_test_signal_is_the_documented_pattern() -> None:
    device = SimulatedDevice(SimConfig(rate_hz=1000))
    send(device, Opcode.TEST_SIGNAL, b"\x01")
    data = [f for f in run(device, 1.0) if isinstance(f, Data)]
    got = np.concatenate([f.samples for f in data])
    assert np.array_equal(got, pattern_samples(0, len(got), 1000, (12, 12, 12)))
    assert set(np.unique(got[:, 0])) == {2047 - 511, 2047 + 511}


def test_the_session_contains_every_kind_of_event_a_practitioner_meets() -> None:
    device = SimulatedDevice(SimConfig(seed=4))
    run(device, 120.0, step=0.5)
    kinds = {e.kind for e in device.session.truth_until(120.0)}
    assert kinds >= {"ltr", "press", "artifact", "contraction", "twitch"}
    first_ltr = min(e.onset_s for e in device.session.truth if e.kind == "ltr")
    assert first_ltr < 6.0  # a demo shows an LTR within seconds
