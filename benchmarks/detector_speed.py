"""Speed of the hot paths, measured side by side in one run.

- detector: samples/s on a simulated 2 kHz recording, and the ratio to real time;
- decoder: wire bytes/s of the numba decoder against a plain-Python decoder
  (split, COBS loop, binascii CRC, and the same frame parser) on the same bytes.

Usage: .venv/bin/python benchmarks/detector_speed.py [--minutes M]
"""

from __future__ import annotations

import argparse
import binascii
import time

import numpy as np

from twitchd.protocol import Data, StreamDecoder, encode_frame, parse_frame
from twitchd.signal.detector import detect_offline, warm_up
from twitchd.sim import sensors
from twitchd.sim.session import SessionSimulator, SimConfig


def best_of(runs: int, fn: object) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def cobs_decode_py(piece: bytes) -> bytes | None:
    out, i = bytearray(), 0
    while i < len(piece):
        code = piece[i]
        if code == 0 or i + code > len(piece):
            return None
        out += piece[i + 1:i + code]
        i += code
        if code != 255 and i < len(piece):
            out.append(0)
    return bytes(out)


def python_decoder(wire: bytes) -> int:
    """The obvious pure-Python decoder (split, COBS loop, binascii CRC, same parser)."""
    frames = 0
    for piece in wire.split(b"\x00"):
        body = cobs_decode_py(piece) if piece else None
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
    lsb = cfg.supply_v / cfg.full_scale
    emg = counts[:, 0] * lsb
    force = sensors.fsr_newtons(counts[:, 2] * lsb, cfg.supply_v)

    t_det = best_of(3, lambda: detect_offline(emg, force, cfg.rate_hz))
    rate = n / t_det
    print(f"detector: {n:,} samples ({args.minutes:g} min at 2 kHz) in {t_det:.3f} s = "
          f"{rate / 1e6:.1f} M samples/s on one core = {rate / cfg.rate_hz:,.0f}x real time")

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
