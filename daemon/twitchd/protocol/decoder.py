"""The streaming decoder: bytes in arbitrary pieces in, frames out, never raising.

A read of any size goes through one numba pass (framing.scan_frames): it
splits the read at delimiters, COBS-decodes and CRC-checks every piece and
parses DATA payloads straight into arrays, so Python sees one DataBlock per
run of DATA frames, not one object per frame (issue 20). The few other frames
(HELLO, STATUS, PONG, ACK, MARK) are parsed in Python with parse_frame.
Whatever is wrong with the bytes (noise on a loose cable, a half frame after
plug-in, a flipped bit) costs at most the frame it hit: the decoder
resynchronises at the next 0x00 delimiter and counts what it dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from twitchd.errors import ProtocolError
from twitchd.protocol import framing
from twitchd.protocol.framing import (
    BLK_CHANNELS, BLK_FRAME, BLK_GAP_EXPECTED, BLK_GAP_GOT, BLK_VALUE, MAX_ENCODED, MIN_DATA_WIRE, N_BLK, N_PER_READ,
    N_ST, SCAN_FRAME, ST_BLOCKS_OUT, ST_BODY, ST_CONSUMED, ST_DISCARDED, ST_ERR, ST_ERR_ARG, ST_FRAMES,
    ST_FRAMES_OUT, ST_GAPS, ST_MALFORMED, ST_MISSED, ST_NEXT_SEQ, ST_OPEN, ST_OVERSIZED, ST_RESTARTS, ST_SYNCED,
    ST_VALUES_OUT,
)
from twitchd.protocol.frames import PROTOCOL_VERSION, DataBlock, Frame, Hello, parse_frame

@dataclass(frozen=True, slots=True)
class SequenceGap:
    """Frames the device numbered but that never arrived intact."""

    expected: int
    got: int

    @property
    def missed(self) -> int:
        return (self.got - self.expected) & 0xFFFF


@dataclass(slots=True)
class DecoderStats:
    """Running counts, so the dashboard can tell a clean link from a noisy one."""

    bytes_in: int = 0
    frames: int = 0
    bad_crc: int = 0
    bad_cobs: int = 0
    malformed: int = 0
    oversized: int = 0
    bytes_discarded: int = 0
    sequence_gaps: int = 0
    frames_missed: int = 0
    restarts: int = 0
    last_error: str = field(default="")

    @property
    def bad_frames(self) -> int:
        return self.bad_crc + self.bad_cobs + self.malformed + self.oversized


#: DecoderStats.last_error for each error the scan kernel reports (framing.ERR_*).
_ERRORS = {
    framing.ERR_BAD_CRC: "frame failed its CRC check",
    framing.ERR_TOO_LONG: "frame longer than the protocol allows",
    framing.ERR_BAD_COBS: "frame is not valid COBS",
    framing.ERR_VERSION: "protocol version {}, this daemon speaks %d" % PROTOCOL_VERSION,
    framing.ERR_SHORT: "frame payload is shorter than its fields",
    framing.ERR_NO_SAMPLES: "DATA frame with no samples",
    framing.ERR_EXTRA: "{} unexpected bytes after the payload",
}


class StreamDecoder:
    """Feed it whatever the port returned; get back frames (or blocks of DATA frames) and sequence gaps.

    The decoder starts out of sync: bytes before the first delimiter may be the
    tail of a frame sent before we opened the port, so they are discarded.
    ``feed_blocks`` is the data path's call; ``feed`` returns the same frames
    one object each, for code that wants them so (commands, tests, tools).
    """

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._carry = b""
        self._skipping = False  # inside a run longer than any frame, dropped up to its delimiter
        self._st = np.zeros(N_ST, dtype=np.int64)  # the kernel's state and counters (framing.ST_*)
        self._st[ST_NEXT_SEQ] = -1
        self._scratch = np.empty(MAX_ENCODED + 8, dtype=np.uint8)
        self._tables = framing.crc_tables()

    def feed(self, data: bytes) -> list[Frame | SequenceGap]:
        """Decode one read into frames, one Data per DATA frame. Frames, gaps and
        stats do not depend on how the stream is split into reads
        (tests/fuzz/fuzz_decoder.py checks it)."""
        out: list[Frame | SequenceGap] = []
        for item in self.feed_blocks(data):
            if type(item) is DataBlock:
                out += item.frames()
            else:
                out.append(item)  # type: ignore[arg-type]
        return out

    def feed_blocks(self, data: bytes) -> list[DataBlock | Frame | SequenceGap]:
        """Decode one read: DATA frames come as DataBlocks, in stream order with the
        other frames and the gaps, which are as ``feed`` returns them."""
        st, stats = self._st, self.stats
        stats.bytes_in += len(data)
        data = bytes(data)
        if self._skipping:
            # The rest of a run already counted as oversized goes, delimiter included.
            end = data.find(0)
            if end < 0:
                st[ST_DISCARDED] += len(data)
                self._sync_stats()
                return []
            st[ST_DISCARDED] += end
            data = data[end + 1:]
            self._skipping = False
            st[ST_SYNCED] = 1
        buf = self._carry + data if self._carry else data
        arr = np.frombuffer(buf, dtype=np.uint8)
        cap = len(buf) // MIN_DATA_WIRE + 1
        seqs = np.empty(cap, dtype=np.uint16)
        stamps = np.empty((2, cap), dtype=np.uint32)
        rows = np.empty((2, cap), dtype=np.int64)
        values = np.empty(len(buf) // 2 + 1, dtype=np.uint16)
        blk = np.empty((N_BLK, cap), dtype=np.int64)
        st[:N_PER_READ] = 0
        # Frames other than DATA, and their gaps, each after the blocks written before it.
        others: list[tuple[int, Frame | SequenceGap]] = []
        while True:
            stopped = framing.scan_frames(arr, self._scratch, self._tables, MAX_ENCODED, st,
                                          seqs, stamps, rows, values, blk)
            if st[ST_ERR]:
                stats.last_error = _ERRORS[int(st[ST_ERR])].format(int(st[ST_ERR_ARG]))
            if stopped != SCAN_FRAME:
                break
            self._accept(self._scratch[:st[ST_BODY]].tobytes(), others)
        buf = buf[st[ST_CONSUMED]:]
        if len(buf) > MAX_ENCODED:
            # No delimiter in sight for longer than any frame: noise, not data.
            # The whole run is dropped, up to its delimiter, and counted once.
            st[ST_OVERSIZED] += 1
            st[ST_DISCARDED] += len(buf)
            stats.last_error = f"more than {MAX_ENCODED} bytes without a frame delimiter"
            buf = b""
            self._skipping = True
        self._carry = buf
        self._sync_stats()
        n_blocks = int(st[ST_BLOCKS_OUT])
        if not n_blocks:
            return [item for _, item in others]
        n_frames, n_values = int(st[ST_FRAMES_OUT]), int(st[ST_VALUES_OUT])
        results: list[DataBlock | Frame | SequenceGap] = []
        table = blk[:, :n_blocks].tolist()
        firsts, value_at, channels = table[BLK_FRAME], table[BLK_VALUE], table[BLK_CHANNELS]
        gap_expected, gap_got = table[BLK_GAP_EXPECTED], table[BLK_GAP_GOT]
        firsts.append(n_frames)
        value_at.append(n_values)
        at = 0
        for b in range(n_blocks):
            while at < len(others) and others[at][0] <= b:
                results.append(others[at][1])
                at += 1
            if gap_expected[b] >= 0:
                results.append(SequenceGap(gap_expected[b], gap_got[b]))
            f0, f1 = firsts[b], firsts[b + 1]
            results.append(DataBlock(
                seqs[f0:f1], stamps[0, f0:f1], stamps[1, f0:f1], rows[0, f0:f1], rows[1, f0:f1],
                values[value_at[b]:value_at[b + 1]].reshape(-1, channels[b])))
        results += [item for _, item in others[at:]]
        return results

    def _accept(self, body: bytes, others: list[tuple[int, Frame | SequenceGap]]) -> None:
        """A CRC-valid frame other than DATA, where the scan stopped: parsed and numbered here."""
        st = self._st
        try:
            frame = parse_frame(body)
        except ProtocolError as exc:
            st[ST_MALFORMED] += 1
            self.stats.last_error = str(exc)
            return
        st[ST_FRAMES] += 1
        if isinstance(frame, Hello) and frame.seq == 0:
            # A device numbers frames from 0 after every reset.
            if st[ST_NEXT_SEQ] >= 0:
                st[ST_RESTARTS] += 1
            st[ST_NEXT_SEQ] = -1
        expected = int(st[ST_NEXT_SEQ])
        blocks = int(st[ST_BLOCKS_OUT])
        if expected >= 0 and frame.seq != expected:
            gap = SequenceGap(expected, frame.seq)
            st[ST_GAPS] += 1
            st[ST_MISSED] += gap.missed
            others.append((blocks, gap))
        st[ST_NEXT_SEQ] = (frame.seq + 1) & 0xFFFF
        st[ST_OPEN] = 0  # the next DATA frame starts a new block, after this frame
        others.append((blocks, frame))

    def _sync_stats(self) -> None:
        s = self.stats
        (s.frames, s.bad_crc, s.bad_cobs, s.malformed, s.oversized, s.bytes_discarded, s.sequence_gaps,
         s.frames_missed, s.restarts) = self._st[ST_FRAMES:ST_RESTARTS + 1].tolist()
