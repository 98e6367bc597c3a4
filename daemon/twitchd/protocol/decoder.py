"""The streaming decoder: bytes in arbitrary pieces in, frames out, never raising.

A read of any size goes through one numba pass (framing.scan_pieces). Whatever
is wrong with the bytes (noise on a loose cable, a half frame after plug-in, a
flipped bit) costs at most the frame it hit: the decoder resynchronises at the
next 0x00 delimiter and counts what it dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from twitchd.errors import ProtocolError
from twitchd.protocol import framing
from twitchd.protocol.frames import Frame, Hello, parse_frame


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


class StreamDecoder:
    """Feed it whatever the port returned; get back frames and sequence gaps.

    The decoder starts out of sync: bytes before the first delimiter may be the
    tail of a frame sent before we opened the port, so they are discarded.
    """

    def __init__(self) -> None:
        self.stats = DecoderStats()
        self._carry = b""
        self._synced = False  # a delimiter has been seen: pieces are whole from here on
        self._skipping = False  # inside a run longer than any frame, dropped up to its delimiter
        self._next_seq: int | None = None
        self._table = framing.crc_table()

    def feed(self, data: bytes) -> list[Frame | SequenceGap]:
        """Decode one read. Frames, gaps and stats do not depend on how the
        stream is split into reads (tests/fuzz/fuzz_decoder.py checks it)."""
        self.stats.bytes_in += len(data)
        data = bytes(data)
        results: list[Frame | SequenceGap] = []
        if self._skipping:
            # The rest of a run already counted as oversized goes, delimiter included.
            end = data.find(0)
            if end < 0:
                self.stats.bytes_discarded += len(data)
                return results
            self.stats.bytes_discarded += end
            data = data[end + 1:]
            self._skipping = False
            self._synced = True
        buf = self._carry + data if self._carry else data
        arr = np.frombuffer(buf, dtype=np.uint8)
        delimiters = int(np.count_nonzero(arr == 0))
        if delimiters:
            starts = np.empty(delimiters, dtype=np.int64)
            lengths = np.empty(delimiters, dtype=np.int64)
            verdicts = np.empty(delimiters, dtype=np.int8)
            out = np.empty(len(arr), dtype=np.uint8)
            count, consumed = framing.scan_pieces(
                arr, out, starts, lengths, verdicts, self._table, framing.MAX_ENCODED)
            first = 0
            if not self._synced:
                # Bytes before the first delimiter may be the tail of a frame sent
                # before we opened the port: drop that piece quietly if it is bad.
                # (A piece longer than any frame is no torn frame: counted below.)
                self._synced = True
                torn = int(np.argmax(arr == 0))
                if torn and verdicts[0] not in (framing.PIECE_OK, framing.PIECE_TOO_LONG):
                    self.stats.bytes_discarded += torn
                    first = 1
            sizes = None
            for k in range(first, count):
                verdict = int(verdicts[k])
                if verdict == framing.PIECE_TOO_LONG:  # its bytes count as discarded, as in a long read
                    sizes = self._piece_sizes(arr) if sizes is None else sizes
                    self.stats.bytes_discarded += int(sizes[k])
                self._accept(verdict, out[starts[k]:starts[k] + lengths[k]].tobytes(), results)
            buf = buf[consumed:]
        if len(buf) > framing.MAX_ENCODED:
            # No delimiter in sight for longer than any frame: noise, not data.
            # The whole run is dropped, up to its delimiter, and counted once.
            self.stats.oversized += 1
            self.stats.bytes_discarded += len(buf)
            self.stats.last_error = f"more than {framing.MAX_ENCODED} bytes without a frame delimiter"
            buf = b""
            self._skipping = True
        self._carry = buf
        return results

    @staticmethod
    def _piece_sizes(arr: npt.NDArray[np.uint8]) -> npt.NDArray[np.int64]:
        """Encoded size of every non-empty piece, in scan_pieces' order (rarely needed)."""
        ends = np.flatnonzero(arr == 0)
        sizes = np.diff(ends, prepend=-1) - 1
        return sizes[sizes > 0]

    def _accept(self, verdict: int, body: bytes, results: list[Frame | SequenceGap]) -> None:
        if verdict != framing.PIECE_OK:
            self._count_bad(verdict)
            return
        try:
            frame = parse_frame(body)
        except ProtocolError as exc:
            self.stats.malformed += 1
            self.stats.last_error = str(exc)
            return
        self.stats.frames += 1
        if isinstance(frame, Hello) and frame.seq == 0:
            # A device numbers frames from 0 after every reset.
            if self._next_seq is not None:
                self.stats.restarts += 1
            self._next_seq = None
        if self._next_seq is not None and frame.seq != self._next_seq:
            gap = SequenceGap(self._next_seq, frame.seq)
            self.stats.sequence_gaps += 1
            self.stats.frames_missed += gap.missed
            results.append(gap)
        self._next_seq = (frame.seq + 1) & 0xFFFF
        results.append(frame)

    def _count_bad(self, verdict: int) -> None:
        if verdict == framing.PIECE_BAD_CRC:
            self.stats.bad_crc += 1
            self.stats.last_error = "frame failed its CRC check"
        elif verdict == framing.PIECE_TOO_LONG:
            self.stats.oversized += 1
            self.stats.last_error = "frame longer than the protocol allows"
        else:
            self.stats.bad_cobs += 1
            self.stats.last_error = "frame is not valid COBS"
