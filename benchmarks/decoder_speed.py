"""Speed of the frame decoder, side by side in one run on the same bytes:

(a) frames to arrays: StreamDecoder.feed_blocks, one numba pass per read that
    parses DATA payloads into arrays (issue 20), one DataBlock per read;
(b) the per-frame decoder from before (twitchd.protocol.perframe): numba for
    delimiters, COBS and CRC, then one Python frame object per DATA frame;
(c) plain Python: split, the COBS loop, binascii's CRC and the same parser.

Also shown: StreamDecoder.feed, (a)'s kernel with one Data per frame made
afterwards, the API the tools use. The bytes are a 2 kHz, 3-channel board's:
10-sample DATA frames, a STATUS every second, and a few frames damaged on the
way (a flipped byte), so the counts are checked too. The script asserts that
all of them decode the same frames, samples and counts. The detector's
speed is `twitchd bench detector`.

Usage: .venv/bin/python benchmarks/decoder_speed.py [--minutes M] [--read BYTES]
"""

from __future__ import annotations

import argparse
import binascii
from typing import Any

import numpy as np

from twitchd.bench import best_of
from twitchd.protocol import Data, DataBlock, Hello, SequenceGap, Status, StreamDecoder, encode_frame, parse_frame
from twitchd.protocol.frames import ChannelInfo
from twitchd.protocol.perframe import PerFrameDecoder
from twitchd.protocol.reference import cobs_decode
from twitchd.signal.detector import warm_up
from twitchd.sim.session import SessionSimulator, SimConfig

TARGET_MB_S = 100.0
TARGET_RATIO = 10.0
DAMAGE_EVERY = 10_000  # frames


def python_decoder(wire: bytes) -> dict[str, Any]:
    """The obvious pure-Python decoder (split, COBS loop, binascii CRC, same parser), counting as the others do."""
    frames: list[object] = []
    bad_cobs = bad_crc = gaps = missed = 0
    next_seq: int | None = None
    for piece in wire.split(b"\x00")[:-1]:
        if not piece:
            continue
        body = cobs_decode(piece)
        if body is None or len(body) < 6:
            bad_cobs += 1
        elif binascii.crc_hqx(body[:-2], 0xFFFF) != int.from_bytes(body[-2:], "little"):
            bad_crc += 1
        else:
            frame = parse_frame(body[:-2])
            if isinstance(frame, Hello) and frame.seq == 0:
                next_seq = None
            if next_seq is not None and frame.seq != next_seq:
                gaps += 1
                missed += (frame.seq - next_seq) & 0xFFFF
            next_seq = (frame.seq + 1) & 0xFFFF
            frames.append(frame)
    return {"frames": frames, "counts": {"frames": len(frames), "bad_crc": bad_crc, "bad_cobs": bad_cobs,
                                         "sequence_gaps": gaps, "frames_missed": missed}}


def summary(items: list[Any], counts: dict[str, int]) -> dict[str, Any]:
    """What a decoder gave, in one comparable form: DATA frames as arrays, the other frames, the counts."""
    data: list[Data] = []
    blocks: list[DataBlock] = []
    other = []
    for item in items:
        if isinstance(item, DataBlock):
            blocks.append(item)
        elif isinstance(item, Data):
            data.append(item)
        elif not isinstance(item, SequenceGap):
            other.append(item)
    if blocks:
        assert not data
        cat = {k: np.concatenate([getattr(b, k) for b in blocks]) for k in ("seq", "sample_index", "t0_us")}
        samples = np.concatenate([b.samples for b in blocks])
        per_frame = np.concatenate([b.counts for b in blocks])
    else:
        cat = {"seq": np.array([f.seq for f in data]), "sample_index": np.array([f.sample_index for f in data]),
               "t0_us": np.array([f.t0_us for f in data])}
        samples = np.concatenate([f.samples for f in data])
        per_frame = np.array([f.samples.shape[0] for f in data])
    return {**{k: v.astype(np.int64) for k, v in cat.items()}, "counts_per_frame": per_frame.astype(np.int64),
            "samples": samples, "other": other, "counts": counts}


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(np.array_equal(a[k], b[k]) for k in ("seq", "sample_index", "t0_us", "counts_per_frame", "samples")) \
        and a["other"] == b["other"] and a["counts"] == b["counts"]


def board_wire(minutes: float) -> tuple[bytes, int, int]:
    """A board's bytes: HELLO, then 10-sample DATA frames with a STATUS each second, a few damaged."""
    cfg = SimConfig(seed=1)
    n_frames = min(int(minutes * 60 * cfg.rate_hz) // 10, 120_000)
    counts = SessionSimulator(cfg).read(n_frames * 10)
    hello = Hello(0, "1.0.0", "sim", "TW-000001", cfg.rate_hz, 10,
                  tuple(ChannelInfo(c, 12, 3300) for c in ("raw", "fsr", "env")))
    parts, seq, statuses = [encode_frame(hello)], 1, 0
    for i in range(n_frames):
        wire = encode_frame(Data(seq & 0xFFFF, i * 10, i * 5000, counts[i * 10:(i + 1) * 10]))
        if i % DAMAGE_EVERY == DAMAGE_EVERY // 2:
            wire = wire[:30] + bytes([wire[30] ^ 0x10]) + wire[31:]  # a flipped bit on the way
        parts.append(wire)
        seq += 1
        if i % (cfg.rate_hz // 10) == cfg.rate_hz // 10 - 1:
            parts.append(encode_frame(Status(seq & 0xFFFF, 0, True, False, cfg.rate_hz)))
            seq += 1
            statuses += 1
    return b"".join(parts), n_frames, statuses


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0, help="of a 2 kHz board's signal (at most 10: 120,000 frames)")
    ap.add_argument("--read", type=int, default=4096, help="bytes per read")
    args = ap.parse_args()
    warm_up()
    wire, n_frames, statuses = board_wire(args.minutes)
    reads = [wire[i:i + args.read] for i in range(0, len(wire), args.read)]
    keys = ("frames", "bad_crc", "bad_cobs", "sequence_gaps", "frames_missed")
    outputs: dict[str, tuple[list[Any], Any]] = {}

    def run(name: str, make: Any, method: str) -> Any:
        def decode() -> None:  # timed: the decoding and keeping what it returns, as a consumer would
            decoder = make()
            feed = getattr(decoder, method)
            out: list[Any] = []
            for chunk in reads:
                out += feed(chunk)
            outputs[name] = (out, decoder.stats)
        return decode

    t_blocks = best_of(5, run("blocks", StreamDecoder, "feed_blocks"))
    t_frames = best_of(3, run("per-frame", PerFrameDecoder, "feed"))
    t_feed = best_of(3, run("feed", StreamDecoder, "feed"))
    t_python = best_of(2, lambda: outputs.__setitem__("python", (python_decoder(wire), None)))

    got: dict[str, dict[str, Any]] = {}
    for name, (out, stats) in outputs.items():
        if stats is None:
            got[name] = summary(out["frames"], out["counts"])  # type: ignore[call-overload]
        else:
            got[name] = summary(out, {k: getattr(stats, k) for k in keys})
            got[name]["stats"] = stats

    for name in ("per-frame", "feed", "python"):
        assert same(got["blocks"], got[name]), f"{name} decoded other frames, samples or counts than the block decoder"
    assert got["blocks"]["stats"] == got["per-frame"]["stats"], (got["blocks"]["stats"], got["per-frame"]["stats"])
    mb = len(wire) / 1e6
    ref = got["blocks"]
    print(f"decoder: {mb:.1f} MB in {args.read}-byte reads: {n_frames:,} DATA frames ({len(ref['seq']):,} intact, "
          f"{ref['samples'].shape[0]:,} samples x {ref['samples'].shape[1]}), a HELLO and {statuses} STATUS frames; "
          f"1 frame in {DAMAGE_EVERY:,} damaged")
    rows = [("(a) frames to arrays, StreamDecoder.feed_blocks", t_blocks),
            ("(b) per-frame decoder, PerFrameDecoder.feed", t_frames),
            ("    (a)'s kernel, one Data per frame: StreamDecoder.feed", t_feed),
            ("(c) plain Python", t_python)]
    for label, t in rows:
        print(f"  {label:<58} {mb / t:8.1f} MB/s  {t_python / t:6.1f}x plain Python  {t_frames / t:5.1f}x per-frame")
    stats = ref["stats"]
    print(f"  all four: the same frames, samples and counts (frames {stats.frames:,}, bad CRC {stats.bad_crc}, "
          f"bad COBS {stats.bad_cobs}, malformed {stats.malformed}, sequence gaps {stats.sequence_gaps}, "
          f"frames missed {stats.frames_missed}); (a) and (b) the same DecoderStats")
    fast, ratio = mb / t_blocks, t_python / t_blocks
    print(f"  target >= {TARGET_MB_S:.0f} MB/s and >= {TARGET_RATIO:.0f}x plain Python: "
          f"{'met' if fast >= TARGET_MB_S and ratio >= TARGET_RATIO else 'NOT met'} "
          f"({fast:.0f} MB/s, {ratio:.1f}x); one 2 kHz device sends 0.0152 MB/s")


if __name__ == "__main__":
    main()
