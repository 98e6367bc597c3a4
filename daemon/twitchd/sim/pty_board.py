"""The simulated board on a pseudo-terminal: a serial set-up without hardware,
with the faults a real cable and board have.

The daemon opens the pty with pyserial exactly as it opens /dev/ttyUSB0. A
stable symlink plays the part of /dev/serial/by-id/…: it disappears when the
board is unplugged and points at a new pty when it comes back, as udev does.
The board keeps sampling while unplugged (a battery-powered board on a USB
serial adapter), so what the daemon missed is an exact number of samples.
"""

from __future__ import annotations

import fcntl
import os
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twitchd.sim.device import SimulatedDevice

#: How often the board hands bytes to the pty: a USB-serial adapter's latency timer.
TICK_S = 0.005
#: On stop, how long the boards wait for the daemon to read what they sent.
DRAIN_S = 5.0
#: On stop, how long the line must stay empty before the pty closes. A write to
#: the master reaches the slave's read queue through the kernel's flip-buffer
#: work, not at once, so one empty look right after the last write can be a
#: lie: tests/sim/test_pty_board.py, reading until the first empty look, came
#: up hundreds of samples short in about half its runs.
SETTLE_S = 0.1
#: Bytes the board holds back when the pty will not take them. A raw pty's
#: buffer is only about 16 KB (15 872 B measured), some 2 s of a 1 kHz stream,
#: where a USB-serial port's tty layer buffers 64 KB; this makes up the
#: difference, so a host that stalls for a moment on a loaded machine loses
#: nothing here that it would not lose on a real adapter.
BACKLOG_BYTES = 48 * 1024


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and when (seconds since the board started)."""

    corrupt_rate: float = 0.0         # per byte: flipped, dropped or an extra byte inserted
    stall_after_s: float | None = None  # stops sending; the port stays open
    unplug_at_s: float | None = None
    replug_after_s: float = 2.0
    replug_as: Path | None = None       # back behind another name, as an adapter re-enumerated as ttyUSB1


class PtyBoard:
    """One simulated board behind a pty (and optionally a stable symlink to it)."""

    def __init__(self, device: SimulatedDevice, link: Path | None = None, faults: Faults | None = None,
                 seed: int = 0, quiet_until_host: bool = False) -> None:
        self.device = device
        self.link = link
        self.faults = faults or Faults()
        self.rng = np.random.default_rng(seed)
        self.path = ""
        self._master = self._slave = -1
        self.unplugged = False
        #: A board that starts sampling when the host first speaks to it: sample 0
        #: is then the first one the daemon sees (benchmarks time events by it).
        self.quiet_until_host = quiet_until_host
        if quiet_until_host:
            device.streaming = False
        #: time.monotonic() when sampling began (None while waiting for the host)
        self.started_at: float | None = None if quiet_until_host else time.monotonic()
        #: Bytes the pty has not taken yet, oldest first (a cut frame's tail included).
        self._backlog = bytearray()
        #: Bytes the board threw away, whole ticks' worth, because the backlog was full.
        self.dropped_bytes = 0

    def plug(self) -> str:
        """A new pty (a new /dev/pts/N, like a replugged adapter) and the link pointed at it."""
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # bytes through untouched: no echo, no newline translation
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".tmp")
            tmp.unlink(missing_ok=True)
            os.symlink(self.path, tmp)
            os.replace(tmp, self.link)  # atomic: a reader never sees a missing link while plugged
        self.unplugged = False
        return str(self.link) if self.link is not None else self.path

    def unread(self) -> int:
        """Bytes sent that the reader has not read yet, held back ones included."""
        if self.unplugged or self._slave < 0:
            return 0
        if self._backlog:
            return len(self._backlog)
        try:
            return struct.unpack("i", fcntl.ioctl(self._slave, termios.FIONREAD, b"\0\0\0\0"))[0]
        except OSError:
            return 0

    def unplug(self) -> None:
        """Close both ends: the daemon's next read fails, as when a cable is pulled."""
        if self.link is not None:
            self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        self.unplugged = True
        # What the adapter held goes with the cable, as it does on a real one.
        self._backlog.clear()

    def _corrupt(self, data: bytes) -> bytes:
        rate = self.faults.corrupt_rate
        if rate <= 0.0 or not data:
            return data
        buf = bytearray(data)
        hits = np.flatnonzero(self.rng.random(len(buf)) < rate)
        for i in hits[::-1]:
            what = self.rng.integers(3)
            if what == 0:
                buf[i] ^= 1 << int(self.rng.integers(8))
            elif what == 1:
                del buf[i]
            else:
                buf.insert(int(i), int(self.rng.integers(256)))
        return bytes(buf)

    def step(self, elapsed_s: float, dt: float, now: float | None = None) -> None:
        """One tick (at ``now``, time.monotonic()): answer commands, sample, send (unless stalled or unplugged).

        The board's time moves by ``dt`` per tick, so a tick that runs late (the
        first sampling compiles the simulator) does not move its sample times:
        they stay on the tick's clock reading.
        """
        f = self.faults
        if f.unplug_at_s is not None and not self.unplugged and f.unplug_at_s <= elapsed_s < f.unplug_at_s + f.replug_after_s:
            self.unplug()
        elif self.unplugged and f.unplug_at_s is not None and elapsed_s >= f.unplug_at_s + f.replug_after_s:
            if f.replug_as is not None:
                self.link = f.replug_as
            self.plug()
        if not self.unplugged:
            try:
                got = os.read(self._master, 4096)
            except (BlockingIOError, OSError):
                got = b""
            if got and self.started_at is None:
                # Sampling starts with this tick's advance: its first sample is taken
                # within one period after the clock reading below.
                self.device.advance(dt)
                dt = 0.0
                self.device.streaming, self.started_at = True, now if now is not None else time.monotonic()
            self.device.receive(got)
        out = self.device.advance(dt)
        stalled = f.stall_after_s is not None and elapsed_s >= f.stall_after_s
        if self.unplugged or stalled:
            return
        data = self._corrupt(out)
        if data:
            if len(self._backlog) + len(data) > BACKLOG_BYTES:
                # Nobody has read for seconds and the buffers are full: this tick's
                # frames are lost whole, and the daemon sees the sequence gap.
                self.dropped_bytes += len(data)
            else:
                self._backlog += data
        self.flush()

    def flush(self) -> None:
        """Hand the pty what it will take; keep the rest, a partial frame's tail included."""
        if not self._backlog or self.unplugged:
            return
        try:
            wrote = os.write(self._master, self._backlog)
        except OSError:
            return  # the pty is full, or its slave end is gone for a moment: the next tick tries again
        del self._backlog[:wrote]

    def run(self, announce: Callable[[str], None], stop: threading.Event | None = None,
            duration_s: float | None = None) -> None:
        """Plug in, say where, and run in real time until stopped."""
        run_boards([self], announce, stop, duration_s)


def until_settled(busy: Callable[[], bool], timeout_s: float) -> None:
    """Poll ``busy`` until it has said False for SETTLE_S on end (the line is
    really empty, not just between the kernel's moves), or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    empty_since: float | None = None
    while (now := time.monotonic()) < deadline:
        if busy():
            empty_since = None
        elif empty_since is None:
            empty_since = now
        elif now - empty_since >= SETTLE_S:
            return
        time.sleep(0.01)


def run_boards(boards: list[PtyBoard], announce: Callable[[str], None], stop: threading.Event | None = None,
               duration_s: float | None = None) -> None:
    """Several boards in one process, one tick for all (a bench of sensors on a USB hub)."""
    for board in boards:
        announce(board.plug())
    start = last = time.monotonic()
    try:
        while not (stop is not None and stop.is_set()):
            time.sleep(max(0.0, last + TICK_S - time.monotonic()))
            now = time.monotonic()
            if duration_s is not None and now - start >= duration_s:
                break
            for board in boards:
                board.step(now - start, now - last, now)
            last = now
    finally:
        # Stopped: sample no more, but let the daemon read what is already on the
        # line before the ptys close (closing discards unread bytes), so a count of
        # samples sent compares exactly with a count of samples received.
        def unread() -> bool:
            for board in boards:
                board.flush()
            return any(board.unread() for board in boards)

        until_settled(unread, DRAIN_S)
        for board in boards:
            board.unplug()
