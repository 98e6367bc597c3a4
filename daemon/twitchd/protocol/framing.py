"""COBS framing and CRC-16/CCITT-FALSE, the byte layer under every frame.

The decoder's hot path is one numba kernel that walks a whole read (thousands
of bytes) at once: it splits at 0x00 delimiters, COBS-decodes each piece and
checks its CRC, so Python touches only whole, valid frames.
"""

from __future__ import annotations

import binascii

import numba
import numpy as np
import numpy.typing as npt

#: Largest decoded frame (header + payload + CRC) a v1 device may send. A DATA
#: frame of 64 samples x 4 channels is 532 bytes; 1024 leaves room and bounds
#: how much garbage the decoder holds before it gives up on a piece.
MAX_FRAME = 1024
#: Largest COBS-encoded piece (without the delimiter) for MAX_FRAME.
MAX_ENCODED = MAX_FRAME + MAX_FRAME // 254 + 1

# Per-piece verdicts written by the scan kernel.
PIECE_OK = 0
PIECE_BAD_COBS = 1
PIECE_BAD_CRC = 2
PIECE_TOO_LONG = 3
PIECE_TOO_SHORT = 4


def _crc_table() -> npt.NDArray[np.uint16]:
    table = np.zeros(256, dtype=np.uint16)
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table[byte] = crc & 0xFFFF
    return table


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF); the stdlib has the same."""
    return binascii.crc_hqx(data, 0xFFFF)


def cobs_encode(data: bytes) -> bytes:
    """Consistent-overhead byte stuffing: the result has no 0x00 byte."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; raises ValueError on a malformed piece."""
    src = np.frombuffer(data, dtype=np.uint8)
    dst = np.empty(max(len(src), 1), dtype=np.uint8)
    n = _cobs_decode_into(src, 0, len(src), dst, 0)
    if n < 0:
        raise ValueError("malformed COBS data")
    return dst[:n].tobytes()


@numba.njit(cache=True, nogil=True)
def _cobs_decode_into(
    src: npt.NDArray[np.uint8], start: int, stop: int, dst: npt.NDArray[np.uint8], at: int
) -> int:
    """Decode src[start:stop] into dst[at:]; returns the length, or -1 if malformed."""
    i = start
    n = 0
    while i < stop:
        code = int(src[i])
        if code == 0 or i + code > stop:
            return -1
        i += 1
        for _ in range(code - 1):
            if src[i] == 0:
                return -1
            dst[at + n] = src[i]
            n += 1
            i += 1
        if code != 255 and i < stop:
            dst[at + n] = 0
            n += 1
    return n


@numba.njit(cache=True, nogil=True)
def _crc16_at(buf: npt.NDArray[np.uint8], start: int, length: int, table: npt.NDArray[np.uint16]) -> int:
    crc = 0xFFFF
    for k in range(start, start + length):
        crc = ((crc << 8) & 0xFFFF) ^ int(table[((crc >> 8) ^ int(buf[k])) & 0xFF])
    return crc


@numba.njit(cache=True, nogil=True)
def scan_pieces(
    buf: npt.NDArray[np.uint8],
    out: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    verdicts: npt.NDArray[np.int8],
    table: npt.NDArray[np.uint16],
    max_encoded: int,
) -> tuple[int, int]:
    """Split ``buf`` at delimiters, decode and CRC-check every complete piece.

    Returns (pieces found, bytes consumed). Decoded bytes of piece k are
    ``out[starts[k]:starts[k] + lengths[k]]`` without the CRC; bytes after the
    last delimiter are not consumed (the caller keeps them for the next read).
    Empty pieces (back-to-back delimiters, used as idle filler) are skipped.
    """
    n_pieces = 0
    consumed = 0
    piece_start = 0
    write = 0
    for i in range(buf.shape[0]):
        if buf[i] != 0:
            continue
        size = i - piece_start
        if size > 0:
            verdict = PIECE_OK
            decoded = 0
            if size > max_encoded:
                verdict = PIECE_TOO_LONG
            else:
                decoded = _cobs_decode_into(buf, piece_start, i, out, write)
                if decoded < 0:
                    verdict = PIECE_BAD_COBS
                    decoded = 0
                elif decoded < 6:
                    verdict = PIECE_TOO_SHORT
                else:
                    body = decoded - 2
                    got = int(out[write + body]) | (int(out[write + body + 1]) << 8)
                    if _crc16_at(out, write, body, table) != got:
                        verdict = PIECE_BAD_CRC
                    decoded = body
            starts[n_pieces] = write
            lengths[n_pieces] = decoded
            verdicts[n_pieces] = verdict
            n_pieces += 1
            write += decoded
        piece_start = i + 1
        consumed = i + 1
    return n_pieces, consumed


def crc_table() -> npt.NDArray[np.uint16]:
    """The CRC table the scan kernel uses (shared so callers need not rebuild it)."""
    return _CRC_TABLE
