"""COBS framing and CRC-16/CCITT-FALSE, the byte layer under every frame.

The decoder's hot path is one numba kernel that walks a whole read (thousands
of bytes) at once: scan_frames splits at 0x00 delimiters, COBS-decodes each
piece, checks its CRC and parses DATA payloads into arrays (issue 20), so
Python touches only the few other frames. scan_pieces is the kernel of the
per-frame decoder from before (twitchd.protocol.perframe), which hands every
valid frame to Python.
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


# -- frames to arrays (issue 20) -------------------------------------------
#
# scan_frames() walks a read once: it splits it at delimiters, COBS-decodes
# and CRC-checks every piece, parses DATA payloads into arrays, counts what is
# wrong exactly as the per-frame decoder (twitchd.protocol.perframe) counts
# it, and tracks the sequence numbers. It stops at each CRC-valid frame of
# another type (a HELLO, a STATUS, ...), whose body it leaves in ``scratch``:
# the caller parses those few in Python and calls it again to go on. All of
# its state lives in ``st`` (int64 slots, below), so a read can be resumed and
# the next read continues where this one ended.

# Per-read slots (reset by the caller for every read).
ST_POS = 0  # next byte to look at
ST_PIECE = 1  # where the current piece starts
ST_CONSUMED = 2  # bytes up to and including the last delimiter seen
ST_OPEN = 3  # 1 while the newest block may take the next DATA frame
ST_FRAMES_OUT = 4  # DATA frames written to the frame arrays
ST_VALUES_OUT = 5  # u16 values written to ``values``
ST_BLOCKS_OUT = 6  # blocks written to ``blk``
ST_ROWS = 7  # samples (rows) in the newest block
ST_CHANNELS = 8  # channels of the newest block
ST_ERR = 9  # the last error seen in this call (ERR_*), 0 if none
ST_ERR_ARG = 10  # its number (a version, a byte count)
ST_BODY = 11  # length of the body left in scratch when the scan stopped at a frame
N_PER_READ = 12
# Persistent slots.
ST_SYNCED = 12  # a delimiter has been seen: pieces are whole from here on
ST_NEXT_SEQ = 13  # the seq expected next, -1 if none
ST_FRAMES = 14  # DecoderStats counters, in DecoderStats' order from here
ST_BAD_CRC = 15
ST_BAD_COBS = 16
ST_MALFORMED = 17
ST_OVERSIZED = 18
ST_DISCARDED = 19
ST_GAPS = 20
ST_MISSED = 21
ST_RESTARTS = 22
N_ST = 23

# The last error of a scan, for DecoderStats.last_error.
ERR_BAD_CRC = 1
ERR_TOO_LONG = 2
ERR_BAD_COBS = 3
ERR_VERSION = 4
ERR_SHORT = 5
ERR_NO_SAMPLES = 6
ERR_EXTRA = 7

# Rows of ``blk``: one column per block.
BLK_FRAME = 0  # its first frame
BLK_VALUE = 1  # its first value in ``values``
BLK_CHANNELS = 2
BLK_GAP_EXPECTED = 3  # the seq expected before its first frame if a gap precedes it, else -1
BLK_GAP_GOT = 4
N_BLK = 5

#: Smallest DATA frame on the wire: a 4-byte header, the 10-byte DATA head, one
#: sample of one channel and the CRC (18 bytes), at least one COBS code byte and
#: the delimiter. Bounds the frames one read can hold (allocation size).
MIN_DATA_WIRE = 20
DATA_HEAD = 14  # header and DATA head: where the samples start in a body

SCAN_DONE = 0
SCAN_FRAME = 1


def _crc_tables() -> npt.NDArray[np.uint16]:
    """Slicing-by-4 tables: row k maps a byte to its CRC after k more zero bytes."""
    tables = np.zeros((4, 256), dtype=np.uint16)
    tables[0] = _CRC_TABLE
    for k in range(1, 4):
        prev = tables[k - 1].astype(np.int64)
        tables[k] = ((prev << 8) & 0xFFFF) ^ _CRC_TABLE[prev >> 8]
    return tables


_CRC_TABLES = _crc_tables()


def crc_tables() -> npt.NDArray[np.uint16]:
    """The slicing-by-4 CRC tables scan_frames takes."""
    return _CRC_TABLES


@numba.njit(cache=True, nogil=True, inline="always")
def _crc16_by4(buf: npt.NDArray[np.uint8], length: int, t: npt.NDArray[np.uint16]) -> int:
    """CRC-16/CCITT-FALSE of buf[:length], four bytes a step (the same value as _crc16_at)."""
    crc = np.int64(0xFFFF)
    k = 0
    while k + 4 <= length:
        x = crc ^ ((np.int64(buf[k]) << 8) | np.int64(buf[k + 1]))
        crc = (np.int64(t[3, x >> 8]) ^ np.int64(t[2, x & 0xFF])
               ^ np.int64(t[1, buf[k + 2]]) ^ np.int64(t[0, buf[k + 3]]))
        k += 4
    while k < length:
        crc = ((crc << 8) & 0xFFFF) ^ np.int64(t[0, ((crc >> 8) ^ np.int64(buf[k])) & 0xFF])
        k += 1
    return crc


@numba.njit(cache=True, nogil=True, inline="always")
def _cobs_decode_piece(src: npt.NDArray[np.uint8], start: int, stop: int, dst: npt.NDArray[np.uint8]) -> int:
    """_cobs_decode_into for a piece between two delimiters (so without a 0x00 in it) into dst[0:].

    Without a code of 255, decoding is the piece less its first byte with a
    0x00 where each later code byte was: one straight copy, then a walk down
    the code chain (DATA frames average a code every few bytes, where the
    byte-by-byte loop pays for every code). Pieces with a 255 take that loop.
    """
    size = stop - start
    for k in range(size - 1):
        dst[k] = src[start + 1 + k]
    p = start
    while True:
        code = np.int64(src[p])
        if code == 255:
            return _cobs_decode_into(src, start, stop, dst, 0)
        p += code
        if p >= stop:
            return size - 1 if p == stop else -1
        dst[p - start - 1] = 0


@numba.njit(cache=True, nogil=True)
def scan_frames(
    buf: npt.NDArray[np.uint8],
    scratch: npt.NDArray[np.uint8],
    tables: npt.NDArray[np.uint16],
    max_encoded: int,
    st: npt.NDArray[np.int64],
    seqs: npt.NDArray[np.uint16],
    stamps: npt.NDArray[np.uint32],
    rows: npt.NDArray[np.int64],
    values: npt.NDArray[np.uint16],
    blk: npt.NDArray[np.int64],
) -> int:
    """Scan ``buf`` from ``st[ST_POS]``; SCAN_DONE at its end, SCAN_FRAME at a non-DATA frame.

    DATA frame f: ``seqs[f]``, ``stamps[0, f]`` (sample index), ``stamps[1, f]``
    (t0_us), ``rows[0, f]`` (its first row in its block), ``rows[1, f]`` (its
    samples). Its values follow the previous frame's in ``values``. A new block
    starts at the first DATA frame after a returned frame, after a sequence
    gap and where the channel count changes. Sizes: ``seqs``, ``stamps``,
    ``rows`` and ``blk`` take len(buf) // MIN_DATA_WIRE + 1 columns, ``values``
    len(buf) // 2, ``scratch`` max_encoded; ``tables`` is crc_tables().
    """
    n = buf.shape[0]
    i = st[ST_POS]
    piece_start = st[ST_PIECE]
    consumed = st[ST_CONSUMED]
    is_open = st[ST_OPEN]
    f = st[ST_FRAMES_OUT]
    v = st[ST_VALUES_OUT]
    b = st[ST_BLOCKS_OUT]
    block_rows = st[ST_ROWS]
    block_channels = st[ST_CHANNELS]
    synced = st[ST_SYNCED]
    expected = st[ST_NEXT_SEQ]
    frames = st[ST_FRAMES]
    bad_crc = st[ST_BAD_CRC]
    bad_cobs = st[ST_BAD_COBS]
    malformed = st[ST_MALFORMED]
    oversized = st[ST_OVERSIZED]
    discarded = st[ST_DISCARDED]
    gaps = st[ST_GAPS]
    missed = st[ST_MISSED]
    err = 0
    err_arg = st[ST_ERR_ARG]
    body = 0
    verdict = SCAN_DONE
    while i < n:
        if buf[i] != 0:
            i += 1
            continue
        size = i - piece_start
        start = piece_start
        i += 1
        piece_start = i
        consumed = i
        first = synced == 0  # may be the tail of a frame sent before the port was opened
        synced = 1
        if size == 0:
            continue  # idle filler
        if size > max_encoded:
            oversized += 1
            discarded += size
            err = ERR_TOO_LONG
            continue
        decoded = _cobs_decode_piece(buf, start, start + size, scratch)
        if decoded < 6:
            if first:
                discarded += size
            else:
                bad_cobs += 1
                err = ERR_BAD_COBS
            continue
        body = decoded - 2
        got = np.int64(scratch[body]) | (np.int64(scratch[body + 1]) << 8)
        if _crc16_by4(scratch, body, tables) != got:
            if first:
                discarded += size
            else:
                bad_crc += 1
                err = ERR_BAD_CRC
            continue
        if scratch[0] != 1:
            malformed += 1
            err = ERR_VERSION
            err_arg = scratch[0]
            continue
        if scratch[1] != 0x02:
            verdict = SCAN_FRAME  # parsed by the caller, which then calls again
            break
        if body < DATA_HEAD:
            malformed += 1
            err = ERR_SHORT
            continue
        n_samples = np.int64(scratch[12])
        n_channels = np.int64(scratch[13])
        if n_samples == 0 or n_channels == 0:
            malformed += 1
            err = ERR_NO_SAMPLES
            continue
        count = n_samples * n_channels
        need = DATA_HEAD + 2 * count
        if body != need:
            malformed += 1
            if body < need:
                err = ERR_SHORT
            else:
                err = ERR_EXTRA
                err_arg = body - need
            continue
        # A DATA frame: counted and numbered as parse_frame and the decoder would.
        seq = np.int64(scratch[2]) | (np.int64(scratch[3]) << 8)
        frames += 1
        gap = expected >= 0 and seq != expected
        if gap:
            gaps += 1
            missed += (seq - expected) & 0xFFFF
        if gap or is_open == 0 or block_channels != n_channels:
            blk[BLK_FRAME, b] = f
            blk[BLK_VALUE, b] = v
            blk[BLK_CHANNELS, b] = n_channels
            blk[BLK_GAP_EXPECTED, b] = expected if gap else -1
            blk[BLK_GAP_GOT, b] = seq
            b += 1
            is_open = 1
            block_rows = 0
            block_channels = n_channels
        expected = (seq + 1) & 0xFFFF
        seqs[f] = seq
        stamps[0, f] = (np.uint32(scratch[4]) | (np.uint32(scratch[5]) << 8) | (np.uint32(scratch[6]) << 16)
                        | (np.uint32(scratch[7]) << 24))
        stamps[1, f] = (np.uint32(scratch[8]) | (np.uint32(scratch[9]) << 8) | (np.uint32(scratch[10]) << 16)
                        | (np.uint32(scratch[11]) << 24))
        rows[0, f] = block_rows
        rows[1, f] = n_samples
        for k in range(count):
            values[v + k] = np.uint16(scratch[DATA_HEAD + 2 * k]) | (np.uint16(scratch[DATA_HEAD + 2 * k + 1]) << 8)
        v += count
        block_rows += n_samples
        f += 1
    st[ST_POS] = i
    st[ST_PIECE] = piece_start
    st[ST_CONSUMED] = consumed
    st[ST_OPEN] = is_open
    st[ST_FRAMES_OUT] = f
    st[ST_VALUES_OUT] = v
    st[ST_BLOCKS_OUT] = b
    st[ST_ROWS] = block_rows
    st[ST_CHANNELS] = block_channels
    st[ST_ERR] = err
    st[ST_ERR_ARG] = err_arg
    st[ST_BODY] = body
    st[ST_SYNCED] = synced
    st[ST_NEXT_SEQ] = expected
    st[ST_FRAMES] = frames
    st[ST_BAD_CRC] = bad_crc
    st[ST_BAD_COBS] = bad_cobs
    st[ST_MALFORMED] = malformed
    st[ST_OVERSIZED] = oversized
    st[ST_DISCARDED] = discarded
    st[ST_GAPS] = gaps
    st[ST_MISSED] = missed
    return verdict
