"""Speed of the frame decoder: the numba decoder against a plain-Python one
(split, COBS loop, binascii CRC, and the same frame parser) on the same bytes,
side by side in one run. The detector's speed is `twitchd bench detector`.

Usage: .venv/bin/python benchmarks/decoder_speed.py [--minutes M]
"""

from __future__ import annotations

import argparse
import binascii

from twitchd.bench import best_of
from twitchd.protocol import Data, StreamDecoder, encode_frame, parse_frame
from twitchd.signal.detector import warm_up
from twitchd.sim.session import SessionSimulator, SimConfig
from twitchd.protocol.reference import cobs_decode




def python_decoder(wire: bytes) -> int:
    """The obvious pure-Python decoder (split, COBS loop, binascii CRC, same parser)."""
    frames = 0
    for piece in wire.split(b"\x00"):
        body = cobs_decode(piece) if piece else None
        if body and binascii.crc_hqx(body[:-2], 0xFFFF) == int.from_bytes(body[-2:], "little"):
            parse_frame(body[:-2])
            frames += 1
    return frames


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    warm_up()
    cfg = SimConfig(seed=1)
    n = int(args.minutes * 60 * cfg.rate_hz)
    counts = SessionSimulator(cfg).read(n)

    frames = [Data(i & 0xFFFF, i * 10, i * 5000, counts[i * 10:(i + 1) * 10]) for i in range(min(n // 10, 120_000))]
    wire = b"".join(encode_frame(f) for f in frames)
    reads = [wire[i:i + 4096] for i in range(0, len(wire), 4096)]

    def numba_decode() -> None:
        d = StreamDecoder()
        for chunk in reads:
            d.feed(chunk)

    t_fast = best_of(3, numba_decode)
    t_slow = best_of(1, lambda: python_decoder(wire))
    print(f"decoder: {len(wire) / 1e6:.1f} MB ({len(frames):,} DATA frames) in 4 KiB reads: "
          f"numba {len(wire) / t_fast / 1e6:.1f} MB/s, plain Python {len(wire) / t_slow / 1e6:.2f} MB/s, "
          f"ratio {t_slow / t_fast:.1f}x; one 2 kHz device sends 0.0152 MB/s")


if __name__ == "__main__":
    main()
