"""The wire codec: what a flaky USB cable throws at the decoder, it shrugs off."""

from __future__ import annotations

import random

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import ROOT
from twitchd.protocol import (
    Ack, AckCode, ChannelInfo, Command, Data, Hello, Opcode, Pong, SequenceGap, Status,
    StreamDecoder, encode_frame, parse_frame,
)
from twitchd.protocol.frames import frame_body
from twitchd.protocol.framing import MAX_ENCODED, cobs_decode, cobs_encode, crc16

VECTORS = ROOT / "docs" / "protocol_vectors.tsv"


def frames_only(items: list[object]) -> list[object]:
    return [x for x in items if not isinstance(x, SequenceGap)]


def test_crc_and_cobs_match_their_published_check_values() -> None:
    assert crc16(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check value
    assert cobs_encode(bytes.fromhex("11220033")) == bytes.fromhex("0311220233")
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(bytes(range(1, 255))) == b"\xff" + bytes(range(1, 255)) + b"\x01"


@given(st.binary(max_size=2000))
def test_cobs_round_trips_and_never_emits_a_delimiter(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert 0 not in encoded
    assert cobs_decode(encoded) == data


def test_every_published_vector_encodes_and_decodes_exactly() -> None:
    lines = [ln.split("\t") for ln in VECTORS.read_text().splitlines() if ln and not ln.startswith("#")]
    assert len(lines) >= 15
    decoder = StreamDecoder()
    for name, body_hex, wire_hex in lines:
        body, wire = bytes.fromhex(body_hex), bytes.fromhex(wire_hex)
        frame = parse_frame(body[:-2])
        assert frame_body(frame) == body, name
        assert encode_frame(frame) == wire, name
        assert frames_only(decoder.feed(wire)) == [frame], name


samples = st.integers(1, 64).flatmap(
    lambda n: st.integers(1, 4).flatmap(
        lambda c: st.lists(st.integers(0, 0xFFFF), min_size=n * c, max_size=n * c).map(
            lambda v: np.array(v, dtype=np.uint16).reshape(n, c))))
data_frames = st.builds(Data, st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF), samples)
names = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=20)
hellos = st.builds(
    Hello, st.integers(0, 0xFFFF), st.tuples(*[st.integers(0, 255)] * 3).map(lambda v: "%d.%d.%d" % v),
    names, names, st.integers(1, 100_000), st.integers(1, 64),
    st.lists(st.builds(ChannelInfo, names, st.integers(1, 16), st.integers(0, 65535)), max_size=6).map(tuple))
others = st.one_of(
    st.builds(Status, st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.booleans(), st.booleans(), st.integers(0, 0xFFFFFFFF)),
    st.builds(Pong, st.integers(0, 0xFFFF), st.integers(0, 2**64 - 1), st.integers(0, 0xFFFFFFFF)),
    st.builds(Ack, st.integers(0, 0xFFFF), st.sampled_from(list(Opcode)), st.sampled_from(list(AckCode))),
    st.builds(Command, st.integers(0, 0xFFFF), st.sampled_from(list(Opcode)), st.binary(max_size=8)),
)
any_frame = st.one_of(data_frames, hellos, others)


@given(st.lists(any_frame, min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_frames_survive_the_trip_in_pieces_of_any_size(frames: list[object], rnd: random.Random) -> None:
    wire = b"".join(encode_frame(f) for f in frames)  # type: ignore[arg-type]
    decoder, got, at = StreamDecoder(), [], 0
    while at < len(wire):
        step = rnd.randint(1, 9) if rnd.random() < 0.7 else rnd.randint(1, 4000)
        got += frames_only(decoder.feed(wire[at:at + step]))
        at += step
    assert got == frames
    assert decoder.stats.bad_frames == 0


@settings(derandomize=True, max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(data_frames, min_size=3, max_size=30), st.randoms(use_true_random=False), st.integers(1, 6))
def test_corruption_costs_only_the_frames_it_hits(frames: list[Data], rnd: random.Random, hits: int) -> None:
    """Flipped, dropped and inserted bytes: every untouched frame still arrives, none is invented."""
    pieces = [bytearray(encode_frame(f)) for f in frames]
    damaged: set[int] = set()
    for _ in range(hits):
        k = rnd.randrange(len(pieces))
        where = rnd.randrange(len(pieces[k]))
        action = rnd.choice(("flip", "drop", "insert"))
        if action == "flip":
            pieces[k][where] ^= 1 << rnd.randrange(8)
        elif action == "drop":
            del pieces[k][where]
        else:
            pieces[k].insert(where, rnd.randrange(256))
        damaged.add(k)
        # A damaged delimiter fuses the frame with the next one: both may be lost.
        if where >= len(pieces[k]) - 1 or action != "flip":
            damaged.add(k + 1)
    wire = b"".join(pieces)
    decoder = StreamDecoder()
    got = []
    for start in range(0, len(wire), 37):
        got += frames_only(decoder.feed(wire[start:start + 37]))
    for k, frame in enumerate(frames):
        if k not in damaged:
            assert frame in got
    assert all(any(g == f for f in frames) for g in got)


@given(st.binary(max_size=5000))
def test_garbage_never_raises(noise: bytes) -> None:
    decoder = StreamDecoder()
    for start in range(0, len(noise), 100):
        decoder.feed(noise[start:start + 100])
    frame = Status(1, 0, True, False, 1000)
    assert frames_only(decoder.feed(b"\x00" + encode_frame(frame))) == [frame]


def test_a_long_stretch_without_delimiters_is_discarded_and_counted() -> None:
    decoder = StreamDecoder()
    decoder.feed(b"\x00" + b"\x55" * (MAX_ENCODED + 10))
    assert decoder.stats.oversized == 1 and decoder.stats.bytes_discarded > MAX_ENCODED
    frame = Status(2, 0, True, False, 1000)
    assert frames_only(decoder.feed(b"\x00" + encode_frame(frame))) == [frame]


def test_missing_frames_are_reported_as_a_sequence_gap() -> None:
    frames = [Status(seq, 0, True, False, 1000) for seq in range(10)]
    wire = b"".join(encode_frame(f) for i, f in enumerate(frames) if i not in (3, 4, 5))
    out = StreamDecoder().feed(wire)
    gaps = [x for x in out if isinstance(x, SequenceGap)]
    assert [(g.expected, g.got, g.missed) for g in gaps] == [(3, 6, 3)]


def test_a_device_reset_is_not_a_gap() -> None:
    hello = Hello(0, "1.0.0", "uno", "TW-1", 1000, 10, (ChannelInfo("raw", 10, 5000),))
    decoder = StreamDecoder()
    wire = encode_frame(Status(40, 0, True, False, 1000)) + encode_frame(hello) + encode_frame(Status(1, 0, True, False, 1000))
    out = decoder.feed(wire)
    assert not any(isinstance(x, SequenceGap) for x in out)
    assert decoder.stats.restarts == 1


def test_a_torn_first_frame_after_opening_the_port_is_dropped_quietly() -> None:
    frame = encode_frame(Status(9, 0, True, False, 1000))
    decoder = StreamDecoder()
    out = frames_only(decoder.feed(frame[5:] + frame))
    assert len(out) == 1 and decoder.stats.bad_frames == 0


def test_a_whole_second_of_2khz_data_decodes_in_one_call() -> None:
    frames = [Data(i, i * 10, i * 5000, np.full((10, 3), i % 4096, dtype=np.uint16)) for i in range(200)]
    wire = b"".join(encode_frame(f) for f in frames)
    assert frames_only(StreamDecoder().feed(wire)) == frames


def test_a_bad_piece_after_a_delimiter_is_counted_however_the_reads_fall() -> None:
    """Only bytes before the stream's first delimiter can be a torn frame (found by tests/fuzz)."""
    garbage = b"\x00\x0a\x00"
    whole = StreamDecoder()
    whole.feed(garbage)
    split = StreamDecoder()
    split.feed(garbage[:1])
    split.feed(garbage[1:])
    assert whole.stats.bad_cobs == split.stats.bad_cobs == 1


def test_a_run_longer_than_any_frame_is_dropped_whole_even_when_it_ends_in_a_frame() -> None:
    """docs/protocol.md: a run of more than MAX_ENCODED bytes without a delimiter is discarded,
    up to its delimiter: a valid frame at its tail is not taken, whatever the reads (found by tests/fuzz)."""
    frame = encode_frame(Status(3, 0, True, False, 1000))
    wire = b"\x00" + b"\x55" * (MAX_ENCODED + 5) + frame + encode_frame(Status(4, 0, True, False, 1000))
    for size in (len(wire), 1, 7, 100, MAX_ENCODED + 1):
        decoder = StreamDecoder()
        got = []
        for at in range(0, len(wire), size):
            got += frames_only(decoder.feed(wire[at:at + size]))
        assert got == [Status(4, 0, True, False, 1000)], size
        assert decoder.stats.oversized == 1 and decoder.stats.bytes_discarded == MAX_ENCODED + 5 + len(frame) - 1, size
