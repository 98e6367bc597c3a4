"""COBS decoding in plain Python, written from docs/protocol.md alone.

Not used on the data path (framing.py's numba kernel is): it is the second
opinion the decoder fuzzer compares against (tests/fuzz/fuzz_decoder.py) and
the baseline the decoder benchmark measures against (benchmarks/decoder_speed.py),
so it must stay the obvious, independent reading of the spec.
"""

from __future__ import annotations


def cobs_decode(piece: bytes) -> bytes | None:
    """One COBS-encoded piece (no delimiters) decoded, or None if it is not valid COBS."""
    out, i = bytearray(), 0
    while i < len(piece):
        code = piece[i]
        if code == 0 or i + code > len(piece):
            return None
        out += piece[i + 1:i + code]
        i += code
        if code != 0xFF and i < len(piece):
            out.append(0)
    return bytes(out)
