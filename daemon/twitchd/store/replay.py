"""Replaying a recorded session through the live pipeline (``--source replay:ID``).

The replay speaks wire protocol v1 like a board: a HELLO rebuilt from the
stored device description, then the stored counts as DATA frames with their
original sample indices (so gaps come out as gaps), paced at ``speed`` x real
time. The dashboard, the detector and even a new recording see it as a live
device; when the session ends the link is "lost" and not reopened.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from twitchd.errors import SourceSpecError, StoreError, TransportError
from twitchd.protocol import Data, Hello, encode_frame
from twitchd.protocol.frames import ChannelInfo
from twitchd.store.sessions import DeviceRecord, SessionStore
from twitchd.transports.base import Transport, parse_options

TICK_S = 0.01
FRAME_SAMPLES = 20


class ReplayTransport(Transport):
    """One recorded device of one session, as a byte stream."""

    reconnectable = False

    def __init__(self, data_dir: Path | None, session_id: int, speed: float, spec: str) -> None:
        self.spec = spec
        self.speed = speed
        self.session_id = session_id
        self.data_dir = data_dir
        self._store: SessionStore | None = None
        self._dev: DeviceRecord | None = None
        self._chunks: Iterator[tuple[int, npt.NDArray[np.uint16]]] = iter(())
        self._pending: tuple[int, npt.NDArray[np.uint16]] | None = None
        self._out = bytearray()
        self._seq = 0
        self._t0 = 0.0
        self._sent_to = 0
        self._finished = False

    @classmethod
    def from_spec(cls, rest: str, data_dir: Path | None) -> ReplayTransport:
        """``ID[,speed=X]``; the session is checked now, so a typo fails before the port is bound."""
        head, *items = [p.strip() for p in rest.split(",")]
        value = parse_options(items, ("speed",), "replay:SESSION[,speed=X]").get("speed", "1")
        try:
            speed = float(value)
        except ValueError:
            speed = -1.0
        if not 0.01 <= speed <= 1000:
            raise SourceSpecError(f"replay speed must be 0.01-1000, got {value!r}")
        if not re.fullmatch(r"[0-9]{1,19}", head) or int(head) > 2**63 - 1:
            raise SourceSpecError(f"replay wants a session id, got {head!r} (see `twitchd sessions list`)")
        transport = cls(data_dir, int(head), speed, f"replay:{rest}")
        try:
            with SessionStore(data_dir) as store:
                store.device(transport.session_id)
        except StoreError as exc:
            raise SourceSpecError(f"cannot replay session {head}: {exc}") from exc
        return transport

    async def open(self) -> None:
        if self._finished:
            raise TransportError(f"replay of session {self.session_id} has ended")
        self._store = await asyncio.to_thread(SessionStore, self.data_dir)
        dev = self._dev = self._store.device(self.session_id)
        self._chunks = self._store.chunks(self.session_id, dev.name)
        self._send(_hello(dev, self._seq))
        self._t0, self._sent_to = time.monotonic(), dev.first_index

    def _send(self, frame: Data | Hello) -> None:
        self._out += encode_frame(frame)
        self._seq = (self._seq + 1) & 0xFFFF

    async def read(self) -> bytes:
        dev = self._dev
        if dev is None:
            raise TransportError("replay is not open")
        await asyncio.sleep(TICK_S)
        due = dev.first_index + int((time.monotonic() - self._t0) * self.speed * dev.rate_hz)
        while self._sent_to < due:
            if self._pending is None:
                self._pending = next(self._chunks, None)
                if self._pending is None:
                    if self._out:
                        break
                    self._finished = True
                    raise TransportError(f"replay of session {self.session_id} finished")
            first, counts = self._pending
            if first + counts.shape[0] <= self._sent_to:
                self._pending = None
                continue
            start = max(0, self._sent_to - first)
            take = min(FRAME_SAMPLES, counts.shape[0] - start, max(1, due - max(first, self._sent_to)))
            index = first + start
            t0_us = int(index * 1e6 / dev.rate_hz) & 0xFFFFFFFF
            self._send(Data(self._seq, index & 0xFFFFFFFF, t0_us, counts[start:start + take]))
            self._sent_to = index + take
        out, self._out = bytes(self._out), bytearray()
        return out

    async def write(self, data: bytes) -> None:
        """Commands are not needed: the HELLO is sent on open and the data flows at once."""

    async def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self._dev = None


def _hello(dev: DeviceRecord, seq: int) -> Hello:
    """The device's HELLO, rebuilt so that ``ChannelMap.from_hello`` gives the stored map back."""
    cmap = dev.cmap
    full = cmap.force_full_scale
    bits = round(math.log2(full + 1))
    vref = {"raw": cmap.emg_scale * full * 1000, "env": cmap.env_scale * full * 1000,
            "fsr": cmap.force_supply_v * 1000}
    default_vref = vref["raw"]
    channels = tuple(ChannelInfo(name, bits, round(vref.get(name, default_vref))) for name in dev.channels)
    firmware = dev.firmware if re.fullmatch(r"\d+\.\d+\.\d+", dev.firmware) else "0.0.0"
    return Hello(seq, firmware, dev.board[:32], dev.device_id[:32], dev.rate_hz, FRAME_SAMPLES, channels)
