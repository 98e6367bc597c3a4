"""The simulated board on a pseudo-terminal: a serial set-up without hardware,
with the faults a real cable and board have.

The daemon opens the pty with pyserial exactly as it opens /dev/ttyUSB0. A
stable symlink plays the part of /dev/serial/by-id/…: it disappears when the
board is unplugged and points at a new pty when it comes back, as udev does.
The board keeps sampling while unplugged (a battery-powered board on a USB
serial adapter), so what the daemon missed is an exact number of samples.
"""

from __future__ import annotations

import os
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


@dataclass(frozen=True)
class Faults:
    """What goes wrong, and when (seconds since the board started)."""

    corrupt_rate: float = 0.0         # per byte: flipped, dropped or an extra byte inserted
    stall_after_s: float | None = None  # stops sending; the port stays open
    unplug_at_s: float | None = None
    replug_after_s: float = 2.0


class PtyBoard:
    """One simulated board behind a pty (and optionally a stable symlink to it)."""

    def __init__(self, device: SimulatedDevice, link: Path | None = None, faults: Faults | None = None,
                 seed: int = 0) -> None:
        self.device = device
        self.link = link
        self.faults = faults or Faults()
        self.rng = np.random.default_rng(seed)
        self.path = ""
        self._master = self._slave = -1
        self.unplugged = False

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

    def unplug(self) -> None:
        """Close both ends: the daemon's next read fails, as when a cable is pulled."""
        if self.link is not None:
            self.link.unlink(missing_ok=True)
        for fd in (self._master, self._slave):
            if fd >= 0:
                os.close(fd)
        self._master = self._slave = -1
        self.unplugged = True

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

    def step(self, elapsed_s: float, dt: float) -> None:
        """One tick: answer commands, sample, send (unless stalled or unplugged)."""
        f = self.faults
        if f.unplug_at_s is not None and not self.unplugged and f.unplug_at_s <= elapsed_s < f.unplug_at_s + f.replug_after_s:
            self.unplug()
        elif self.unplugged and f.unplug_at_s is not None and elapsed_s >= f.unplug_at_s + f.replug_after_s:
            self.plug()
        if not self.unplugged:
            try:
                self.device.receive(os.read(self._master, 4096))
            except (BlockingIOError, OSError):
                pass
        out = self.device.advance(dt)
        stalled = f.stall_after_s is not None and elapsed_s >= f.stall_after_s
        if self.unplugged or stalled:
            return
        try:
            os.write(self._master, self._corrupt(out))
        except (BlockingIOError, OSError):
            pass  # nobody reading and the pty's buffer is full: the bytes are lost, as on a real link

    def run(self, announce: Callable[[str], None], stop: threading.Event | None = None,
            duration_s: float | None = None) -> None:
        """Plug in, say where, and run in real time until stopped."""
        announce(self.plug())
        start = last = time.monotonic()
        try:
            while not (stop is not None and stop.is_set()):
                time.sleep(TICK_S)
                now = time.monotonic()
                if duration_s is not None and now - start >= duration_s:
                    break
                self.step(now - start, now - last)
                last = now
        finally:
            self.unplug()
