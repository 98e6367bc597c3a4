"""The frames of wire protocol v1 (docs/protocol.md) and their byte layout.

Every frame is ``version u8 | type u8 | seq u16 | payload | crc16`` before COBS,
little-endian throughout. Frames are frozen dataclasses so they can be shared
between the decoder, the pipeline and tests without copies going stale.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from twitchd.errors import ProtocolError
from twitchd.protocol.framing import MAX_FRAME, cobs_encode, crc16

PROTOCOL_VERSION = 1
_HEADER = struct.Struct("<BBH")
_DATA_HEAD = struct.Struct("<IIBB")
_STATUS = struct.Struct("<IBI")
_PONG = struct.Struct("<QI")
_ACK = struct.Struct("<BB")
_MARK = struct.Struct("<IIBH")
_HELLO_NUMBERS = struct.Struct("<BBBIB")


class FrameType(enum.IntEnum):
    HELLO = 0x01
    DATA = 0x02
    STATUS = 0x03
    PONG = 0x04
    ACK = 0x05
    MARK = 0x06
    COMMAND = 0x10


class Opcode(enum.IntEnum):
    START = 0x01
    STOP = 0x02
    SET_RATE = 0x03
    HELLO = 0x04
    TEST_SIGNAL = 0x05
    PING = 0x06
    STATUS = 0x07


class AckCode(enum.IntEnum):
    OK = 0
    UNKNOWN_OPCODE = 1
    BAD_ARGUMENT = 2
    BAD_LENGTH = 3


STATUS_STREAMING = 0x01
STATUS_TEST_SIGNAL = 0x02


@dataclass(frozen=True, slots=True)
class ChannelInfo:
    """One ADC channel as the device describes it in HELLO."""

    name: str
    adc_bits: int
    vref_mv: int


@dataclass(frozen=True, slots=True)
class Hello:
    """Who the device is and what it samples; sent at boot and on request."""

    seq: int
    firmware: str
    board: str
    device_id: str
    rate_hz: int
    samples_per_frame: int
    channels: tuple[ChannelInfo, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Data:
    """A batch of samples: ``samples[i, c]`` is channel c of sample ``sample_index + i``."""

    seq: int
    sample_index: int
    t0_us: int
    samples: npt.NDArray[np.uint16] = field(repr=False)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Data)
            and (self.seq, self.sample_index, self.t0_us) == (other.seq, other.sample_index, other.t0_us)
            and np.array_equal(self.samples, other.samples)
        )


@dataclass(frozen=True, slots=True, eq=False)
class DataBlock:
    """Consecutive DATA frames of one read as arrays, not objects (issue 20).

    Frame ``k`` is ``Data(seq[k], sample_index[k], t0_us[k],
    samples[starts[k]:starts[k] + counts[k]])``. The frames' samples follow
    one another in ``samples`` (rows: samples, columns: channels), so a run of
    frames whose sample indices follow on is one slice. In the decoder's
    output nothing came between the frames of a block: no other frame, no
    sequence gap (a gap starts a new block), and all of them have the same
    number of channels. The arrays are the block's own (never reused by the
    decoder), so they may be kept.
    """

    seq: npt.NDArray[np.uint16]
    sample_index: npt.NDArray[np.uint32]
    t0_us: npt.NDArray[np.uint32]
    starts: npt.NDArray[np.int64]
    counts: npt.NDArray[np.int64]
    samples: npt.NDArray[np.uint16] = field(repr=False)

    def __len__(self) -> int:
        return int(self.seq.shape[0])

    @property
    def channels(self) -> int:
        return int(self.samples.shape[1])

    def frame(self, k: int) -> Data:
        start = int(self.starts[k])
        return Data(int(self.seq[k]), int(self.sample_index[k]), int(self.t0_us[k]),
                    self.samples[start:start + int(self.counts[k])])

    def frames(self) -> list[Data]:
        """The block as the per-frame decoder returns it: one Data per frame."""
        samples = self.samples
        return [Data(q, i, t, samples[s:s + c]) for q, i, t, s, c in zip(
            self.seq.tolist(), self.sample_index.tolist(), self.t0_us.tolist(),
            self.starts.tolist(), self.counts.tolist())]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataBlock) and all(
            np.array_equal(getattr(self, k), getattr(other, k))
            for k in ("seq", "sample_index", "t0_us", "starts", "counts", "samples"))


@dataclass(frozen=True, slots=True)
class Status:
    """Device health, sent once a second: samples lost before they could be sent."""

    seq: int
    overflows: int
    streaming: bool
    test_signal: bool
    rate_hz: int


@dataclass(frozen=True, slots=True)
class Pong:
    """Answer to PING: the host's token back, and the device clock when it was seen."""

    seq: int
    token: int
    device_us: int


@dataclass(frozen=True, slots=True)
class Ack:
    """Answer to every command but PING and HELLO."""

    seq: int
    opcode: int
    code: AckCode


@dataclass(frozen=True, slots=True)
class Mark:
    """The board's button was pressed: when, on the board's own clocks.

    ``sample_index`` is the last sample taken at or before the press, on the
    same counter as DATA's (so the press lands on the sample axis exactly);
    ``device_time_us`` the board's µs clock at the press, as DATA's ``t0_us``.
    ``count`` numbers the presses since the board booted (the first is 1,
    wrapping at 65536), so a lost MARK shows as a skipped count.
    """

    seq: int
    sample_index: int
    device_time_us: int
    button: int
    count: int


@dataclass(frozen=True, slots=True)
class Command:
    """Host to device; ``arg`` is the opcode's little-endian argument, if any."""

    seq: int
    opcode: int
    arg: bytes = b""


Frame = Hello | Data | Status | Pong | Ack | Mark | Command

#: Argument length each opcode must carry (checked on both sides).
OPCODE_ARG_LEN: dict[int, int] = {
    Opcode.START: 0, Opcode.STOP: 0, Opcode.SET_RATE: 4, Opcode.HELLO: 0,
    Opcode.TEST_SIGNAL: 1, Opcode.PING: 8, Opcode.STATUS: 0,
}


def _pack_str(text: str) -> bytes:
    raw = text.encode("ascii")
    if len(raw) > 255:
        raise ProtocolError(f"string too long for a frame: {text[:20]!r}…")
    return bytes([len(raw)]) + raw


def _payload(frame: Frame) -> tuple[FrameType, bytes]:
    if isinstance(frame, Data):
        samples = np.ascontiguousarray(frame.samples, dtype="<u2")
        if samples.ndim != 2 or not (1 <= samples.shape[0] <= 255 and 1 <= samples.shape[1] <= 255):
            raise ProtocolError(f"DATA needs 1-255 samples x 1-255 channels, got {samples.shape}")
        head = _DATA_HEAD.pack(frame.sample_index & 0xFFFFFFFF, frame.t0_us & 0xFFFFFFFF, *samples.shape)
        return FrameType.DATA, head + samples.tobytes()
    if isinstance(frame, Hello):
        major, minor, patch = (int(p) for p in frame.firmware.split("."))
        body = bytearray(_HELLO_NUMBERS.pack(major, minor, patch, frame.rate_hz, frame.samples_per_frame))
        body += _pack_str(frame.board) + _pack_str(frame.device_id) + bytes([len(frame.channels)])
        for ch in frame.channels:
            body += _pack_str(ch.name) + struct.pack("<BH", ch.adc_bits, ch.vref_mv)
        return FrameType.HELLO, bytes(body)
    if isinstance(frame, Status):
        flags = (STATUS_STREAMING if frame.streaming else 0) | (STATUS_TEST_SIGNAL if frame.test_signal else 0)
        return FrameType.STATUS, _STATUS.pack(frame.overflows & 0xFFFFFFFF, flags, frame.rate_hz)
    if isinstance(frame, Pong):
        return FrameType.PONG, _PONG.pack(frame.token, frame.device_us & 0xFFFFFFFF)
    if isinstance(frame, Ack):
        return FrameType.ACK, _ACK.pack(frame.opcode, frame.code)
    if isinstance(frame, Mark):
        return FrameType.MARK, _MARK.pack(frame.sample_index & 0xFFFFFFFF, frame.device_time_us & 0xFFFFFFFF,
                                          frame.button, frame.count & 0xFFFF)
    if isinstance(frame, Command):
        return FrameType.COMMAND, bytes([frame.opcode]) + frame.arg
    raise ProtocolError(f"not a frame: {frame!r}")


def frame_body(frame: Frame) -> bytes:
    """Header, payload and CRC: the bytes that COBS then stuffs."""
    kind, payload = _payload(frame)
    body = _HEADER.pack(PROTOCOL_VERSION, kind, frame.seq & 0xFFFF) + payload
    if len(body) + 2 > MAX_FRAME:
        raise ProtocolError(f"frame of {len(body) + 2} bytes exceeds the {MAX_FRAME}-byte limit")
    return body + crc16(body).to_bytes(2, "little")


def encode_frame(frame: Frame) -> bytes:
    """The exact bytes on the wire: COBS(body) followed by the 0x00 delimiter."""
    return cobs_encode(frame_body(frame)) + b"\x00"


class _Reader:
    """Bounds-checked cursor, so a short payload is a ProtocolError, never IndexError."""

    def __init__(self, data: bytes, at: int) -> None:
        self.data, self.at = data, at

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.data):
            raise ProtocolError("frame payload is shorter than its fields")
        chunk = self.data[self.at:self.at + n]
        self.at += n
        return chunk

    def text(self) -> str:
        raw = self.take(self.take(1)[0])
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ProtocolError("non-ASCII text in frame") from exc

    def end(self) -> None:
        if self.at != len(self.data):
            raise ProtocolError(f"{len(self.data) - self.at} unexpected bytes after the payload")


def parse_frame(body: bytes) -> Frame:
    """Parse a CRC-checked body (without its CRC); raises ProtocolError if malformed."""
    if len(body) < _HEADER.size:
        raise ProtocolError("frame shorter than its header")
    version, kind, seq = _HEADER.unpack_from(body)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {version}, this daemon speaks {PROTOCOL_VERSION}")
    r = _Reader(body, _HEADER.size)
    if kind == FrameType.DATA:
        sample_index, t0_us, n, c = _DATA_HEAD.unpack(r.take(_DATA_HEAD.size))
        if n == 0 or c == 0:
            raise ProtocolError("DATA frame with no samples")
        samples = np.frombuffer(r.take(2 * n * c), dtype="<u2").reshape(n, c)
        r.end()
        return Data(seq, sample_index, t0_us, samples)
    if kind == FrameType.HELLO:
        major, minor, patch, rate, per_frame = _HELLO_NUMBERS.unpack(r.take(_HELLO_NUMBERS.size))
        board, device_id = r.text(), r.text()
        channels = []
        for _ in range(r.take(1)[0]):
            name = r.text()
            bits, vref = struct.unpack("<BH", r.take(3))
            channels.append(ChannelInfo(name, bits, vref))
        r.end()
        return Hello(seq, f"{major}.{minor}.{patch}", board, device_id, rate, per_frame, tuple(channels))
    if kind == FrameType.STATUS:
        overflows, flags, rate = _STATUS.unpack(r.take(_STATUS.size))
        r.end()
        return Status(seq, overflows, bool(flags & STATUS_STREAMING), bool(flags & STATUS_TEST_SIGNAL), rate)
    if kind == FrameType.PONG:
        token, device_us = _PONG.unpack(r.take(_PONG.size))
        r.end()
        return Pong(seq, token, device_us)
    if kind == FrameType.ACK:
        opcode, code = _ACK.unpack(r.take(_ACK.size))
        r.end()
        try:
            return Ack(seq, opcode, AckCode(code))
        except ValueError as exc:
            raise ProtocolError(f"unknown ACK code {code}") from exc
    if kind == FrameType.MARK:
        sample_index, device_us, button, count = _MARK.unpack(r.take(_MARK.size))
        r.end()
        return Mark(seq, sample_index, device_us, button, count)
    if kind == FrameType.COMMAND:
        opcode = r.take(1)[0]
        return Command(seq, opcode, body[r.at:])
    raise ProtocolError(f"unknown frame type 0x{kind:02x}")
