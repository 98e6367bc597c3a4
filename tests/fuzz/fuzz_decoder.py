"""Coverage-guided fuzzing of the wire decoder (atheris, i.e. libFuzzer for Python).

    .venv/bin/python tests/fuzz/fuzz_decoder.py -max_total_time=600
    .venv/bin/python tests/fuzz/fuzz_decoder.py build/fuzz/decoder-corpus -max_total_time=3600
    .venv/bin/python tests/fuzz/fuzz_decoder.py CRASH_FILE          # replay one input

Each input is a byte stream as a serial port or BLE link might deliver it. It
goes through StreamDecoder.feed_blocks() whole, in pieces of random sizes
(seeded by the input, so every run of an input is the same) and, when short,
one byte at a time, and every run is checked against a plain-Python reference
decoder that follows docs/protocol.md piece by piece, and against the
per-frame decoder from before issue 20 (twitchd.protocol.perframe):

- feed_blocks() never raises, and parse_frame() raises nothing but ProtocolError;
- its DataBlocks, one Data per frame, and the other frames and sequence gaps
  in their order, are the frames and gaps of the reference and of the
  per-frame decoder, however the stream is split into reads; every counter in
  DecoderStats is the reference's, and every counter and last_error the
  per-frame decoder's;
- a block holds frames that nothing came between: consecutive seqs, one
  channel count, each frame's samples right after the previous one's;
- the same holds for the input with every piece's CRC recomputed, so that
  mutated frames get past the CRC to the parser;
- every frame re-encodes to the exact body it was decoded from, and to wire
  bytes that occur in the input (two documented exceptions: reserved STATUS
  flag bits, and a trailing full COBS block without its final 0x01, are
  accepted but not reproduced);
- the counters add up: frames and gaps match what was returned, bytes_in is
  the input length, nothing is discarded that was not received.

The seed corpus (written to build/fuzz/decoder-seeds/) is every line of
docs/protocol_vectors.tsv, a stream of all of them and a few damaged streams;
tests/fuzz/regressions/decoder/ holds inputs that once failed
(tests/fuzz/test_fuzzers.py replays them without atheris).
Corpus directories given on the command line come first, so libFuzzer adds
what it finds to the first one; crash files go to build/fuzz/ unless
-artifact_prefix says otherwise. The numba scan kernel is compiled code, so
coverage guidance comes from the Python around it (decoder, frame parser);
the reference decoder checks the kernel's results.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import zlib
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "docs" / "protocol_vectors.tsv"
REGRESSIONS = Path(__file__).resolve().parent / "regressions" / "decoder"

if __name__ == "__main__":
    import operator

    import atheris
    import numpy as np

    _native_trace_cmp = atheris._trace_cmp
    _COMPARE = (operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge)

    def _trace_cmp(left: object, right: object, opid: int, idx: int, left_is_const: bool) -> object:
        """atheris keeps a reference to the result of every comparison it traces
        (3.0.0: one per call). Harmless for True and False, but `arr == 0` makes
        an array each time: ~8 KB a run, libFuzzer's 2 GB limit within minutes.
        Array comparisons, useless to trace anyway, are done here instead.
        Instrumented code looks atheris._trace_cmp up at each call, and Fuzz()
        sets it once as it starts, so fuzz_one() puts this one back."""
        if isinstance(left, np.ndarray) or isinstance(right, np.ndarray):
            return _COMPARE[opid >> 4 if sys.version_info >= (3, 12) else opid](left, right)
        return _native_trace_cmp(left, right, opid, idx, left_is_const)

    # Coverage for the decoder and the frame parser. Not for framing: numba
    # compiles its kernels from their bytecode, which instrumenting would change.
    with atheris.instrument_imports(include=["twitchd"], exclude=["twitchd.protocol.framing"]):
        import twitchd.protocol  # noqa: F401

from twitchd.errors import ProtocolError  # noqa: E402
from twitchd.protocol.decoder import SequenceGap, StreamDecoder  # noqa: E402
from twitchd.protocol.frames import DataBlock, Hello, Status, encode_frame, frame_body, parse_frame  # noqa: E402
from twitchd.protocol.perframe import PerFrameDecoder  # noqa: E402
from twitchd.protocol.framing import MAX_ENCODED, cobs_encode, crc16  # noqa: E402
from twitchd.protocol.reference import cobs_decode  # noqa: E402


class Mismatch(AssertionError):
    """An invariant broke; the message says which, libFuzzer saves the input."""




def reference(stream: bytes) -> tuple[list[object], dict[str, int], list[tuple[bytes, bytes]]]:
    """Decode the whole stream at once, piece by piece, the obvious way.

    Returns what feed() should return, the counters it should end with, and
    for each frame the (piece, body without CRC) it came from. The rules:
    the piece before the first delimiter may be the tail of a frame sent
    before the port was opened, so it is dropped quietly if it is bad; a
    piece longer than MAX_ENCODED (or a run without delimiter that already is)
    is discarded whole and counted once as oversized.
    """
    stats = {"bytes_in": len(stream), "frames": 0, "bad_crc": 0, "bad_cobs": 0, "malformed": 0,
             "oversized": 0, "bytes_discarded": 0, "sequence_gaps": 0, "frames_missed": 0, "restarts": 0}
    out: list[object] = []
    sources: list[tuple[bytes, bytes]] = []
    next_seq: int | None = None
    *pieces, tail = stream.split(b"\x00")
    for k, piece in enumerate(pieces):
        if not piece:
            continue  # idle filler
        if len(piece) > MAX_ENCODED:
            stats["oversized"] += 1
            stats["bytes_discarded"] += len(piece)
            continue
        body = cobs_decode(piece)
        if body is None or len(body) < 6:
            verdict = "bad_cobs"
        elif crc16(body[:-2]) != int.from_bytes(body[-2:], "little"):
            verdict = "bad_crc"
        else:
            verdict = "ok"
        if verdict != "ok":
            if k == 0:
                stats["bytes_discarded"] += len(piece)  # a torn first frame
            else:
                stats[verdict] += 1
            continue
        assert body is not None
        try:
            frame = parse_frame(body[:-2])
        except ProtocolError:
            stats["malformed"] += 1
            continue
        stats["frames"] += 1
        if isinstance(frame, Hello) and frame.seq == 0:
            if next_seq is not None:
                stats["restarts"] += 1
            next_seq = None
        if next_seq is not None and frame.seq != next_seq:
            gap = SequenceGap(next_seq, frame.seq)
            stats["sequence_gaps"] += 1
            stats["frames_missed"] += gap.missed
            out.append(gap)
        next_seq = (frame.seq + 1) & 0xFFFF
        out.append(frame)
        sources.append((piece, body[:-2]))
    if len(tail) > MAX_ENCODED:
        stats["oversized"] += 1
        stats["bytes_discarded"] += len(tail)
    return out, stats, sources


def chunkings(stream: bytes) -> list[list[bytes]]:
    """The same stream as one read, as reads of random sizes, and byte by byte if short."""
    rnd = random.Random(zlib.crc32(stream))
    pieces, at = [], 0
    while at < len(stream):
        r = rnd.random()
        step = rnd.randint(1, 8) if r < 0.6 else rnd.randint(1, 64) if r < 0.9 else rnd.randint(1, 3000)
        pieces.append(stream[at:at + step])
        at += step
    ways = [[stream], pieces]
    if len(stream) <= 64:
        ways.append([stream[i:i + 1] for i in range(len(stream))])
    return ways


def counters(stats: object) -> dict[str, int]:
    d = asdict(stats)  # type: ignore[call-overload]
    d.pop("last_error")
    return d


def check_frame(frame: object, piece: bytes, body: bytes, stream: bytes) -> None:
    again = frame_body(frame)[:-2]  # type: ignore[arg-type]
    if isinstance(frame, Status) and again != body:
        # Flag bits other than streaming/test signal (byte 8) are reserved: ignored, not kept.
        if again != body[:8] + bytes([body[8] & 0x03]) + body[9:]:
            raise Mismatch(f"STATUS {frame!r} re-encodes to {again.hex()}, decoded from {body.hex()}")
        return
    if again != body:
        raise Mismatch(f"{frame!r} re-encodes to {again.hex()}, decoded from {body.hex()}")
    wire = encode_frame(frame)  # type: ignore[arg-type]
    if wire not in stream:
        # COBS lets a body that ends on a full 254-byte block drop the final 0x01.
        if not (wire[:-2] == piece and wire[-2] == 0x01):
            raise Mismatch(f"{frame!r} re-encodes to wire bytes {wire.hex()} not in the input")


def check_block(block: DataBlock) -> None:
    """What a DataBlock promises: frames nothing came between, laid out one after another."""
    n = len(block)
    arrays = (block.seq, block.sample_index, block.t0_us, block.starts, block.counts)
    if n < 1 or any(a.shape != (n,) for a in arrays) or block.samples.ndim != 2:
        raise Mismatch(f"block of {n} frames with arrays {[a.shape for a in arrays]}, samples {block.samples.shape}")
    seq = block.seq.astype(int)
    if (seq[1:] != (seq[:-1] + 1) & 0xFFFF).any():
        raise Mismatch(f"a gap inside a block: seqs {seq.tolist()}")
    counts = block.counts
    if (counts < 1).any() or block.starts[0] != 0 or (block.starts[1:] != block.starts[:-1] + counts[:-1]).any() \
            or block.starts[-1] + counts[-1] != block.samples.shape[0]:
        raise Mismatch(f"block rows: starts {block.starts.tolist()}, counts {counts.tolist()}, {block.samples.shape}")


def check_stream(stream: bytes) -> None:
    want, want_stats, sources = reference(stream)
    if len(sources) != sum(1 for x in want if not isinstance(x, SequenceGap)):
        raise Mismatch("reference bookkeeping")
    frames = [x for x in want if not isinstance(x, SequenceGap)]
    for frame, (piece, body) in zip(frames, sources):
        check_frame(frame, piece, body, stream)
    for reads in chunkings(stream):
        decoder, old = StreamDecoder(), PerFrameDecoder()
        got: list[object] = []
        was: list[object] = []
        for read in reads:
            for item in decoder.feed_blocks(read):
                if isinstance(item, DataBlock):
                    check_block(item)
                    got += item.frames()
                else:
                    got.append(item)
            was += old.feed(read)
        sizes = [len(r) for r in reads][:40]
        if got != want:
            raise Mismatch(f"reads of {sizes}...: decoded {got!r}\n  reference {want!r}")
        if was != got:
            raise Mismatch(f"reads of {sizes}...: the per-frame decoder gave {was!r}\n  the block decoder {got!r}")
        stats = counters(decoder.stats)
        if stats != want_stats:
            raise Mismatch(f"reads of {sizes}...: stats {stats}\n  reference {want_stats}")
        if asdict(old.stats) != asdict(decoder.stats):
            raise Mismatch(f"reads of {sizes}...: stats {asdict(decoder.stats)}\n  per-frame {asdict(old.stats)}")
        gaps = [x for x in got if isinstance(x, SequenceGap)]
        for k, item in enumerate(got):
            if isinstance(item, SequenceGap):
                nxt = got[k + 1] if k + 1 < len(got) else None
                if nxt is None or isinstance(nxt, SequenceGap) or nxt.seq != item.got or not 0 < item.missed < 65536:  # type: ignore[attr-defined]
                    raise Mismatch(f"gap {item!r} not followed by its frame")
        s = decoder.stats
        if (s.frames != len(got) - len(gaps) or s.sequence_gaps != len(gaps)
                or s.frames_missed != sum(g.missed for g in gaps) or s.bytes_in != len(stream)
                or s.bytes_discarded > s.bytes_in or min(stats.values()) < 0
                or s.bad_frames != s.bad_crc + s.bad_cobs + s.malformed + s.oversized):
            raise Mismatch(f"inconsistent stats {stats}")


def with_good_crcs(stream: bytes) -> bytes:
    """The stream with every decodable piece's CRC made right.

    Random mutations almost never keep a CRC valid, so without this the frame
    parser would only see the seeds' frames: this way the fuzzer's changes to
    a frame's contents reach parse_frame() and the sequence logic.
    """
    pieces = stream.split(b"\x00")
    for k, piece in enumerate(pieces[:-1]):
        body = cobs_decode(piece) if 0 < len(piece) <= MAX_ENCODED else None
        if body is not None and len(body) >= 6:
            body = body[:-2] + crc16(body[:-2]).to_bytes(2, "little")
            pieces[k] = cobs_encode(body)
    return b"\x00".join(pieces)


def check(stream: bytes) -> None:
    """libFuzzer's entry point: the input as it is, and with its CRCs fixed."""
    check_stream(stream)
    fixed = with_good_crcs(stream)
    if fixed != stream:
        check_stream(fixed)


def seed_inputs() -> dict[str, bytes]:
    """The protocol's test vectors, alone, together, and damaged."""
    seeds: dict[str, bytes] = {}
    wires = []
    for line in VECTORS.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _body, wire = line.split("\t")
            seeds[name] = bytes.fromhex(wire)
            wires.append(bytes.fromhex(wire))
    stream = b"".join(wires)
    seeds["all"] = stream
    seeds["all_torn"] = stream[7:]
    seeds["all_flipped"] = bytes(b ^ (0x10 if i % 97 == 50 else 0) for i, b in enumerate(stream))
    seeds["all_filler"] = b"\x00\x00".join(wires)
    seeds["overlong_then_frame"] = b"\x00" + b"\x55" * (MAX_ENCODED + 5) + wires[0]
    return seeds


def main() -> None:
    args = sys.argv[1:]
    dirs = [a for a in args if not a.startswith("-")]
    flags = [a for a in args if a.startswith("-")]
    if not any(f.startswith("-artifact_prefix=") for f in flags):
        (ROOT / "build" / "fuzz").mkdir(parents=True, exist_ok=True)
        flags.append(f"-artifact_prefix={ROOT / 'build' / 'fuzz'}/decoder-")
    replay = bool(dirs) and all(Path(d).is_file() for d in dirs)
    if not replay:
        seed_dir = ROOT / "build" / "fuzz" / "decoder-seeds"  # rewritten each run (and the corpus if none is given)
        seed_dir.mkdir(parents=True, exist_ok=True)
        for name, data in seed_inputs().items():
            with tempfile.NamedTemporaryFile(dir=seed_dir, delete=False) as f:
                f.write(data)
            os.replace(f.name, seed_dir / name)  # whole files only, should two runs overlap
        dirs += [str(seed_dir)] + ([str(REGRESSIONS)] if REGRESSIONS.is_dir() else [])
        if not any(f.startswith("-max_len=") for f in flags):
            flags.append("-max_len=4096")
    def fuzz_one(data: bytes) -> None:
        if atheris._trace_cmp is not _trace_cmp:
            atheris._trace_cmp = _trace_cmp
        check(data)

    atheris.Setup([sys.argv[0], *flags, *dirs], fuzz_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
