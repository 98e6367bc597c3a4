"""The per-frame decoder from before issue 20, kept as a baseline and a second opinion.

Its numba pass (framing.scan_pieces) splits, COBS-decodes and CRC-checks a
read, then Python parses every frame with parse_frame, one object per DATA
frame (about 5 µs each). The data path uses StreamDecoder (frames to arrays
in the kernel) instead; this one stays, unchanged in what it returns and
counts, so that the decoder benchmark (benchmarks/decoder_speed.py) can
measure the two side by side and the fuzzer (tests/fuzz/fuzz_decoder.py) can
check that they agree frame for frame and count for count.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twitchd.errors import ProtocolError
from twitchd.protocol import framing
from twitchd.protocol.decoder import DecoderStats, SequenceGap
from twitchd.protocol.frames import Frame, Hello, parse_frame


class PerFrameDecoder:
    """Same interface and results as StreamDecoder.feed(); one Python frame per DATA frame."""

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
