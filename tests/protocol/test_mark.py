"""MARK, the board's button press, on the wire: its layout, its vectors, and a host that does not know it."""

from __future__ import annotations

import random
import struct

from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT
from twitchd.protocol import FrameType, Mark, SequenceGap, Status, StreamDecoder, encode_frame, parse_frame
from twitchd.protocol.frames import frame_body
from twitchd.protocol.framing import cobs_encode, crc16

VECTORS = ROOT / "docs" / "protocol_vectors.tsv"


def test_a_mark_is_sample_index_then_device_time_then_button_then_count() -> None:
    body = struct.pack("<BBHIIBH", 1, 0x06, 8, 123456, 123456789, 1, 1)
    assert frame_body(Mark(8, 123456, 123456789, 1, 1)) == body + crc16(body).to_bytes(2, "little")
    assert len(body) + 2 == 17 and FrameType.MARK == 0x06
    assert parse_frame(body) == Mark(8, 123456, 123456789, 1, 1)


def test_the_published_mark_vectors_say_what_their_names_say() -> None:
    rows = {ln.split("\t")[0]: ln.split("\t")[1:] for ln in VECTORS.read_text().splitlines()
            if ln and not ln.startswith("#")}
    first = parse_frame(bytes.fromhex(rows["mark_first_press"][0])[:-2])
    assert first == Mark(8, 123456, 123456789, 1, 1)
    wrap = parse_frame(bytes.fromhex(rows["mark_before_first_sample_wrap"][0])[:-2])
    assert wrap == Mark(0xFFFF, 0xFFFFFFFF, 0xFFFFFF00, 1, 0xFFFF)
    for body_hex, wire_hex in rows.values():
        frame = parse_frame(bytes.fromhex(body_hex)[:-2])
        if isinstance(frame, Mark):
            assert encode_frame(frame) == bytes.fromhex(wire_hex)


marks = st.builds(Mark, st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF), st.integers(0, 0xFFFFFFFF),
                  st.integers(0, 255), st.integers(0, 0xFFFF))


@given(st.lists(marks, min_size=1, max_size=20), st.randoms(use_true_random=False))
def test_marks_survive_the_trip_in_pieces_of_any_size(frames: list[Mark], rnd: random.Random) -> None:
    wire = b"".join(encode_frame(f) for f in frames)
    decoder, got, at = StreamDecoder(), [], 0
    while at < len(wire):
        step = rnd.randint(1, 9)
        got += [x for x in decoder.feed(wire[at:at + step]) if not isinstance(x, SequenceGap)]
        at += step
    assert got == frames and decoder.stats.bad_frames == 0


def test_a_mark_with_a_payload_of_the_wrong_length_is_malformed_not_a_crash() -> None:
    for payload in (b"", b"\x01" * 10, b"\x01" * 12):
        body = struct.pack("<BBH", 1, 0x06, 3) + payload
        wire = cobs_encode(body + crc16(body).to_bytes(2, "little")) + b"\x00"
        decoder = StreamDecoder()
        assert decoder.feed(wire) == [] and decoder.stats.malformed == 1


def test_a_host_that_does_not_know_a_frame_type_drops_it_and_loses_nothing_else() -> None:
    """How a daemon from before MARK took it, and how this one takes a type from after it:
    counted as malformed (and its seq as a missed frame), the stream going on."""
    body = struct.pack("<BBH", 1, 0x07, 5) + b"\x01\x02\x03"
    unknown = cobs_encode(body + crc16(body).to_bytes(2, "little")) + b"\x00"
    before, after = Status(4, 0, True, False, 1000), Status(6, 0, True, False, 1000)
    decoder = StreamDecoder()
    out = decoder.feed(encode_frame(before) + unknown + encode_frame(after))
    assert [x for x in out if not isinstance(x, SequenceGap)] == [before, after]
    assert decoder.stats.malformed == 1 and decoder.stats.frames_missed == 1
