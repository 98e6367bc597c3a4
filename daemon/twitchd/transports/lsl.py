"""A sensor on another host, over Lab Streaming Layer: ``lsl:NAME``.

Another twitchd (``run --lsl``) publishes each of its sensors as an ``EMG``
stream; so can any LSL source with EMG and force channels. This transport
opens a pylsl inlet on that stream and speaks wire protocol v1 to the
pipeline, as a board would: a HELLO that describes the stream's channels,
then DATA frames. So the stream goes through the same decoder, detector,
recording and dashboard as a sensor on a cable, and no home-made network
protocol is involved: LSL moves the samples and corrects the clocks.

Time: every sample's LSL timestamp plus the inlet's clock offset
(``time_correction``, LSL's own estimate of the other host's clock against
this one) is this host's LSL clock at the moment the sample was taken. That
is the "device clock" the DATA frames carry, so the pipeline's clock fit
finds a slope of 1 and an offset near zero. A stream that skips samples
(its timestamps jump) becomes a sample-index gap of exactly the samples
missing, which the pipeline records as a gap.

Values: the stream's volts and newtons are put back into 16-bit counts on a
declared scale (EMG and envelope 0..VREF_MV, force through the FSR's nominal
curve), which the pipeline scales back: volts to 0.08 mV, newtons to well
under the FSR's own resolution.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
from collections import deque
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd.errors import LslError, SourceSpecError, TransportError
from twitchd.protocol import Ack, ChannelInfo, Command, Data, Hello, Opcode, StreamDecoder, encode_frame
from twitchd.protocol.frames import AckCode
from twitchd.sim import sensors
from twitchd.transports.base import Transport

log = logging.getLogger(__name__)

#: The declared reference of the counts this transport makes: 5 V covers a MyoWare's RAW at 3.3 or 5 V.
VREF_MV = 5000
#: 16-bit counts: 76 µV steps over 5 V, finer than the 12-bit boards' 0.8 mV.
BITS = 16
#: Samples per DATA frame: 50 x 3 channels x 2 bytes stays well inside MAX_FRAME (1024 bytes).
SAMPLES_PER_FRAME = 50
#: How long ``open`` looks for the stream on the network.
RESOLVE_S = 5.0
#: A pull waits at most this long for samples, so a stopped stream is noticed.
PULL_S = 0.05
#: No sample for this long: the stream is gone (its host stopped or the network dropped).
SILENT_S = 5.0
#: A timestamp step of this many periods or more is samples the stream lost. Not less: the
#: publisher may slew its clock mapping by up to half a period per refit (docs/lsl.md), so
#: a step of 1.5 periods is jitter; 2.5 and more is at least two samples gone.
GAP_PERIODS = 2.5


def _channel_roles(info: Any) -> dict[str, int]:
    """Which stream channel is the EMG, the force and the envelope (by label, else by type)."""
    roles: dict[str, int] = {}
    ch = info.desc().child("channels").child("channel")
    k = 0
    while not ch.empty():
        label, kind = ch.child_value("label").lower(), ch.child_value("type").lower()
        if ("emg raw" in label or (kind == "emg" and "env" not in label)) and "raw" not in roles:
            roles["raw"] = k
        elif ("force" in label or kind == "force") and "fsr" not in roles:
            roles["fsr"] = k
        elif "env" in label and "env" not in roles:
            roles["env"] = k
        ch = ch.next_sibling("channel")
        k += 1
    if "raw" not in roles and info.channel_count() >= 1:
        roles["raw"] = 0  # a bare EMG stream without channel metadata: its first channel
    return roles


class LslTransport(Transport):
    """An LSL ``EMG`` stream, by name or source id, as a board on a link."""

    reconnectable = True

    def __init__(self, target: str, pylsl: Any | None = None) -> None:
        self.target = target
        self.spec = f"lsl:{target}"
        self._pylsl = pylsl
        self._inlet: Any = None
        self._roles: dict[str, int] = {}
        self._order: list[str] = []
        self._hello: Hello | None = None
        self._commands = StreamDecoder()
        self._out: deque[bytes] = deque()
        self._seq = 0
        self._streaming = False
        self._next_index = 0
        self._last_ts: float | None = None
        self._rate = 0.0
        self._silent_since: float | None = None
        #: LSL time (this host's clock) of sample index 0: how the pipeline's stream time maps back to LSL
        self.first_lsl: float | None = None

    @classmethod
    def from_spec(cls, rest: str, data_dir: Path | None = None) -> LslTransport:
        target = rest.strip()
        if not target:
            raise SourceSpecError("an lsl source needs the stream's name or source id, e.g. lsl:'twitchd TW-3F2A9C' "
                                  "(another twitchd's `run --lsl` publishes one per sensor)")
        return cls(target)

    @property
    def pylsl(self) -> Any:
        if self._pylsl is None:
            from twitchd.lsl import load_pylsl

            self._pylsl = load_pylsl()
        return self._pylsl

    async def open(self) -> None:
        try:
            pylsl = self.pylsl
        except LslError as exc:
            raise TransportError(str(exc)) from exc
        found = await asyncio.to_thread(self._resolve, pylsl)
        if not found:
            raise TransportError(f"no LSL stream named or with source id {self.target!r} on the network "
                                 f"(looked {RESOLVE_S:g} s; is the other twitchd running with --lsl?)")
        info = found[0]
        rate = info.nominal_srate()
        if not rate > 0 or abs(rate - round(rate)) > 1e-6:
            raise TransportError(f"LSL stream {self.target!r} has no regular whole sample rate ({rate:g} Hz)")
        inlet = pylsl.StreamInlet(info, max_buflen=60, processing_flags=pylsl.proc_none)
        try:
            await asyncio.to_thread(inlet.open_stream, RESOLVE_S)
            full = await asyncio.to_thread(inlet.info, RESOLVE_S)
            await asyncio.to_thread(inlet.time_correction, RESOLVE_S)
        except Exception as exc:  # liblsl's timeouts and lost streams
            raise TransportError(f"cannot open LSL stream {self.target!r}: {exc}") from exc
        self._roles = _channel_roles(full)
        if "raw" not in self._roles:
            raise TransportError(f"LSL stream {self.target!r} has no EMG channel")
        self._order = [r for r in ("raw", "env", "fsr") if r in self._roles]
        self._rate = float(round(rate))
        source = full.source_id() or full.name()
        self._hello = Hello(0, "0.0.0", f"lsl from {full.hostname() or socket.gethostname()}"[:60], f"{source}@lsl"[:60],
                            int(self._rate),
                            SAMPLES_PER_FRAME, tuple(ChannelInfo(r, BITS, VREF_MV) for r in self._order))
        self._inlet = inlet
        self._streaming = False
        self._next_index, self._last_ts, self.first_lsl, self._silent_since = 0, None, None, None
        log.info("lsl:%s: stream %r from %s at %g Hz, channels %s", self.target, full.name(), full.hostname(), rate,
                 ", ".join(self._order))

    def _resolve(self, pylsl: Any) -> list[Any]:
        for prop in ("name", "source_id"):
            found = pylsl.resolve_byprop(prop, self.target, minimum=1, timeout=RESOLVE_S / 2)
            if found:
                return list(found)
        return []

    async def write(self, data: bytes) -> None:
        """Commands from the pipeline, answered as a board answers them."""
        for item in self._commands.feed(data):
            if not isinstance(item, Command):
                continue
            if item.opcode == Opcode.HELLO:
                if self._hello is not None:
                    self._send(self._hello)
            elif item.opcode == Opcode.START:
                self._streaming = True
                self._send(Ack(self._seq, item.opcode, AckCode.OK))
            elif item.opcode == Opcode.STOP:
                self._streaming = False
                self._send(Ack(self._seq, item.opcode, AckCode.OK))
            elif item.opcode == Opcode.PING:
                pass  # a PONG carries a device clock this link does not have; the pipeline does not need one
            else:
                self._send(Ack(self._seq, item.opcode, AckCode.UNKNOWN_OPCODE))

    def _send(self, frame: Any) -> None:
        self._out.append(encode_frame(frame))
        self._seq = (self._seq + 1) & 0xFFFF

    async def read(self) -> bytes:
        if self._inlet is None:
            raise TransportError(f"lsl:{self.target} is not open")
        if self._streaming:
            try:
                samples, stamps = await asyncio.to_thread(self._inlet.pull_chunk, PULL_S, 4096)
                offset = self._inlet.time_correction(0.0) if samples else 0.0
            except Exception as exc:  # pylsl.LostError and liblsl's own errors
                raise TransportError(f"LSL stream {self.target!r} is lost: {exc}") from exc
            now = asyncio.get_running_loop().time()
            if samples:
                self._silent_since = None
                self._frames(np.asarray(samples, dtype=np.float64), np.asarray(stamps, dtype=np.float64) + offset)
            elif self._silent_since is None:
                self._silent_since = now
            elif now - self._silent_since > SILENT_S:
                raise TransportError(f"LSL stream {self.target!r}: no samples for {SILENT_S:g} s")
        else:
            await asyncio.sleep(PULL_S)
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _counts(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.uint16]:
        full = (1 << BITS) - 1
        cols = []
        for role in self._order:
            v = values[:, self._roles[role]]
            if role == "fsr":
                v = sensors.fsr_volts(np.nan_to_num(v), VREF_MV / 1000.0)
            cols.append(np.clip(np.rint(np.nan_to_num(v) / (VREF_MV / 1000.0) * full), 0, full))
        return np.column_stack(cols).astype(np.uint16)

    def _frames(self, values: npt.NDArray[np.float64], stamps: npt.NDArray[np.float64]) -> None:
        """DATA frames for one pull; a jump in the timestamps skips the sample indices it lost."""
        counts = self._counts(values)
        limit = GAP_PERIODS / self._rate
        if self.first_lsl is None:
            self.first_lsl = float(stamps[0])
        start, n = 0, len(stamps)
        while start < n:
            if self._last_ts is not None and stamps[start] - self._last_ts > limit:
                self._next_index += round((stamps[start] - self._last_ts) * self._rate) - 1
            end = start + 1
            while end < n and end - start < SAMPLES_PER_FRAME and stamps[end] - stamps[end - 1] <= limit:
                end += 1
            self._emit(counts[start:end], float(stamps[start]))
            self._last_ts = float(stamps[end - 1])
            start = end

    def _emit(self, counts: npt.NDArray[np.uint16], first_stamp: float) -> None:
        t0_us = int(math.floor(first_stamp * 1e6)) & 0xFFFFFFFF
        self._send(Data(self._seq, self._next_index & 0xFFFFFFFF, t0_us, np.ascontiguousarray(counts)))
        self._next_index += counts.shape[0]

    async def close(self) -> None:
        inlet, self._inlet = self._inlet, None
        self._streaming = False
        if inlet is not None:
            try:
                await asyncio.to_thread(inlet.close_stream)
            except Exception:  # closing a lost stream may fail; it is gone either way
                pass

