"""The firmware on simavr answers every command of protocol v1 as docs/protocol.md says.

Talks to the harness's pty directly (no pipeline), so each answer can be seen.
Needs the build of the module fixture in test_firmware_in_the_loop.
"""

from __future__ import annotations

import collections
import os
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.firmware.test_firmware_in_the_loop import CHANNELS, ELF, HARNESS, SUMS, built  # noqa: F401  (fixture)
from twitchd.protocol import Ack, AckCode, Command, Data, Hello, Opcode, Pong, Status, StreamDecoder, encode_frame
from twitchd.protocol.frames import Frame
from twitchd.sim.device import pattern_samples
from twitchd.sim.session import SimConfig

pytestmark = pytest.mark.firmware


class Board:
    """The harness's pty: send commands, collect frames."""

    def __init__(self, tmp: Path) -> None:
        signal = tmp / "flat.txt"
        signal.write_text("2500 0 1250\n" * 100)
        self.proc = subprocess.Popen([str(HARNESS), str(ELF), str(signal), "60"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        self.fd = os.open(self.proc.stdout.readline().strip(), os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.decoder = StreamDecoder()
        self.pending: collections.deque[Frame] = collections.deque()
        self.seq = 0

    def close(self) -> None:
        os.close(self.fd)
        self.proc.terminate()
        self.proc.wait(5)

    def frames(self, seconds: float) -> Iterator[Frame]:
        """Frames as they come, for up to `seconds`; what a caller does not
        take stays queued for the next call."""
        end = time.monotonic() + seconds
        while True:
            while self.pending:
                yield self.pending.popleft()
            if time.monotonic() >= end:
                return
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                time.sleep(0.002)
                continue
            self.pending.extend(f for f in self.decoder.feed(chunk) if isinstance(f, (Data, Hello, Status, Pong, Ack)))

    def send(self, opcode: int, arg: bytes = b"") -> None:
        os.write(self.fd, encode_frame(Command(self.seq, opcode, arg)))
        self.seq += 1

    def until(self, want: type, seconds: float = 5.0, collect: list[Frame] | None = None) -> Frame:
        for frame in self.frames(seconds):
            if collect is not None:
                collect.append(frame)
            if isinstance(frame, want):
                return frame
        raise AssertionError(f"no {want.__name__} within {seconds} s")


@pytest.fixture
def board(built: None, tmp_path: Path) -> Iterator[Board]:  # noqa: F811
    b = Board(tmp_path)
    yield b
    b.close()


def test_the_firmware_answers_every_command(board: Board) -> None:
    hello = board.until(Hello)
    assert isinstance(hello, Hello) and hello.seq == 0 and hello.rate_hz == 1000  # just reset
    # raw and fsr are sums of 10-bit conversions: 13 and 12 bits, on the same 5 V
    assert [(c.name, c.adc_bits, c.vref_mv) for c in hello.channels] == list(CHANNELS)
    first = board.until(Data)
    # 2500 mV on A0 (511) eight times, 0 on A1, 1250 mV on A2 (255) four times
    assert isinstance(first, Data) and np.all(first.samples == [SUMS[0] * 511, 0, SUMS[2] * 255])
    assert first.sample_index == 0 and first.samples.shape == (10, 3)

    board.send(Opcode.PING, struct.pack("<Q", 0x1122334455667788))
    pong = board.until(Pong)
    assert isinstance(pong, Pong) and pong.token == 0x1122334455667788

    for opcode, arg, code in [(0x42, b"", AckCode.UNKNOWN_OPCODE), (Opcode.PING, b"abc", AckCode.BAD_LENGTH),
                              (Opcode.SET_RATE, struct.pack("<I", 3000), AckCode.BAD_ARGUMENT),
                              (Opcode.SET_RATE, struct.pack("<I", 50_000), AckCode.BAD_ARGUMENT),
                              (Opcode.TEST_SIGNAL, b"\x02", AckCode.BAD_ARGUMENT)]:
        board.send(opcode, arg)
        ack = board.until(Ack)
        assert isinstance(ack, Ack) and (ack.opcode, ack.code) == (opcode, code)

    # SET_RATE: ACK, then HELLO with the new rate, then samples from index 0.
    board.send(Opcode.SET_RATE, struct.pack("<I", 2000))
    seen: list[Frame] = []
    board.until(Hello, collect=seen)
    answers = [f for f in seen if not isinstance(f, (Data, Status))]
    assert [(type(f), getattr(f, "code", None)) for f in answers] == [(Ack, AckCode.OK), (Hello, None)]
    assert isinstance(seen[-1], Hello) and seen[-1].rate_hz == 2000
    restarted = board.until(Data)
    assert isinstance(restarted, Data) and restarted.sample_index == 0
    board.send(Opcode.TEST_SIGNAL, b"\x01")
    ack = board.until(Ack)
    assert isinstance(ack, Ack) and ack.opcode == Opcode.TEST_SIGNAL and ack.code == AckCode.OK

    # The test signal, bit for bit, each channel over the bits HELLO gave it,
    # for every frame after its ACK; at 2 kHz with no overflow and a device
    # clock at 500 us a sample.
    data: list[Data] = []
    for f in board.frames(30.0):  # 1 s of device time, however fast simavr runs here
        if isinstance(f, Data):
            data.append(f)
            if len(data) == 200:
                break
    assert len(data) == 200
    for f in data:
        assert np.array_equal(f.samples, pattern_samples(f.sample_index, 10, 2000, SimConfig.board(10).channel_bits))
    index = np.array([f.sample_index for f in data])
    t0 = np.array([f.t0_us for f in data], dtype=np.int64)
    assert np.all(np.diff(index) == 10)
    assert abs((t0[-1] - t0[0]) / (index[-1] - index[0]) - 500) < 0.5

    board.send(Opcode.STATUS)
    status = board.until(Status)
    assert isinstance(status, Status) and status.streaming and status.test_signal
    assert status.rate_hz == 2000 and status.overflows == 0

    # STOP: no DATA after its ACK; START: indices go on where they stopped.
    board.send(Opcode.STOP)
    before: list[Frame] = []
    board.until(Ack, collect=before)
    last = [f for f in before if isinstance(f, Data)][-1]
    quiet = list(board.frames(0.5))
    assert not [f for f in quiet if isinstance(f, Data)]
    board.send(Opcode.START)
    ack = board.until(Ack)
    assert isinstance(ack, Ack) and ack.opcode == Opcode.START and ack.code == AckCode.OK
    resumed = board.until(Data)
    assert isinstance(resumed, Data) and resumed.sample_index == last.sample_index + 10
    assert board.decoder.stats.bad_frames == 0
