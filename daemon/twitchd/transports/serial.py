"""A USB serial port (or a pty, which behaves the same) through pyserial.

On POSIX the event loop watches the port's file descriptor and reads what is
there when it becomes readable: no thread per read. (The first version read in
a worker thread with a 20 ms timeout; with 4 sensors the thread hand-offs cost
half a core, and asyncio's default pool of cpu+4 threads made the 7th sensor
wait for a free thread: benchmarks/fleet.py, docs/performance.md.) Elsewhere
(Windows has no readable-fd watch for a COM port) reads still run in a worker
thread with a short timeout. Errors are turned into messages a practitioner
can act on.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import time
from pathlib import Path

import serial

from twitchd.errors import SourceSpecError, TransportError
from twitchd.protocol import Command, Hello, Opcode, StreamDecoder, encode_frame
from twitchd.transports.base import Transport
from twitchd.transports.catalog import serial_ports

log = logging.getLogger(__name__)

#: How long a probed port has to answer a HELLO (a board that resets on open
#: needs about 0.3 s before its bootloader hands over; a pty answers at once).
PROBE_S = 0.8
#: AVR boards run at 500000 baud (exact at 16 MHz with U2X); see docs/protocol.md.
DEFAULT_BAUD = 500_000
READ_TIMEOUT_S = 0.02


class SerialTransport(Transport):
    def __init__(self, port: str, baud: int = DEFAULT_BAUD) -> None:
        self.port, self.baud = port, baud
        self.spec = f"serial:{port}"
        self._serial: serial.Serial | None = None
        self._fd: int | None = None
        #: the adapter's USB serial number (FTDI and genuine boards have one; CH340
        #: clones and ptys do not: ""), looked up at the first open; None until then
        self.usb_serial: str | None = None
    @classmethod
    def from_spec(cls, rest: str, data_dir: Path | None = None) -> SerialTransport:
        port, _, baud = rest.partition("@")
        if not port:
            raise SourceSpecError("serial source needs a port, e.g. serial:/dev/ttyUSB0 or serial:COM3@921600")
        try:
            return cls(port, int(baud) if baud else DEFAULT_BAUD)
        except ValueError as exc:
            raise SourceSpecError(f"serial baud rate must be a number, got {baud!r}") from exc

    async def open(self) -> None:
        try:
            self._serial = await asyncio.to_thread(
                serial.Serial, self.port, self.baud, timeout=READ_TIMEOUT_S, write_timeout=1.0, exclusive=True)
        except serial.SerialException as exc:
            raise TransportError(self._explain(exc)) from exc
        fileno = getattr(self._serial, "fileno", None)
        if fileno is not None and os.name == "posix":
            self._fd = fileno()
        if self.usb_serial is None:
            here = os.path.realpath(self.port)
            self.usb_serial = next((p.serial_number for p in await asyncio.to_thread(serial_ports)
                                    if p.serial_number and os.path.realpath(p.port) == here), "")

    async def relocate(self, device_id: str) -> bool:
        """The sensor on another port: by its USB serial number when the adapter has
        one, else by asking each free port for its HELLO (a port that another program
        or another of our pipelines holds cannot be opened: all open exclusively).

        Probing opens a port, and opening resets an Arduino; so only ports that
        could be this adapter are asked (not ones with another USB serial number).
        """
        ports = [p for p in await asyncio.to_thread(serial_ports) if p.port != self.port]
        if self.usb_serial:
            same = [p for p in ports if p.serial_number == self.usb_serial]
            if same:
                self._moved_to(same[0].port, f"USB serial number {self.usb_serial}")
                return True
            ports = [p for p in ports if not p.serial_number]
        for candidate in ports:
            if await asyncio.to_thread(probe_device_id, candidate.port, self.baud) == device_id:
                self._moved_to(candidate.port, f"device id {device_id}")
                return True
        return False

    def _moved_to(self, port: str, why: str) -> None:
        log.warning("%s is gone; the sensor is back on %s (same %s)", self.port, port, why)
        self.port, self.spec = port, f"serial:{port}"

    def _explain(self, exc: serial.SerialException) -> str:
        code = getattr(exc, "errno", None)
        text = str(exc)
        if code == errno.ENOENT or "No such file" in text:
            return f"{self.port} does not exist: is the sensor plugged in? (`twitchd devices` lists ports)"
        if code in (errno.EBUSY, errno.EAGAIN) or "busy" in text.lower() or "lock" in text.lower():
            return f"{self.port} is busy: is the Arduino IDE's serial monitor or another twitchd open?"
        if code == errno.EACCES or "Permission" in text:
            return f"no permission to open {self.port}: add yourself to the 'dialout' group and log in again"
        return f"cannot open {self.port}: {text}"

    def _read_blocking(self) -> bytes:
        port = self._serial
        if port is None:
            raise TransportError(f"{self.port} is closed")
        try:
            return bytes(port.read(max(1, port.in_waiting)))
        except (serial.SerialException, OSError, TypeError) as exc:
            raise TransportError(f"{self.port} was disconnected ({exc})") from exc

    def _read_ready(self) -> bytes:
        """What the port holds now, without waiting."""
        port = self._serial
        if port is None:
            raise TransportError(f"{self.port} is closed")
        try:
            waiting = port.in_waiting
            if not waiting:
                # Readable with nothing to read is how a vanished USB device (or a closed pty) looks.
                port.timeout = 0
                data = bytes(port.read(1))
                port.timeout = READ_TIMEOUT_S
                return data
            return bytes(port.read(waiting))
        except (serial.SerialException, OSError, TypeError) as exc:
            raise TransportError(f"{self.port} was disconnected ({exc})") from exc

    async def read(self) -> bytes:
        """Bytes as they come, or b"" after READ_TIMEOUT_S of silence (the pipeline's stall watch needs the turn)."""
        if self._fd is None:
            return await asyncio.to_thread(self._read_blocking)
        port = self._serial
        try:
            waiting = port is not None and port.in_waiting
        except (serial.SerialException, OSError, TypeError) as exc:
            # The pipeline reads every READ_INTERVAL_S: the cable can go between two reads.
            raise TransportError(f"{self.port} was disconnected ({exc})") from exc
        if waiting:
            return self._read_ready()
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[bool] = loop.create_future()

        def wake(readable: bool) -> None:
            if not ready.done():
                ready.set_result(readable)

        fd = self._fd
        try:
            loop.add_reader(fd, wake, True)
        except (OSError, ValueError) as exc:
            raise TransportError(f"{self.port} was disconnected ({exc})") from exc
        timer = loop.call_later(READ_TIMEOUT_S, wake, False)
        try:
            readable = await ready
        finally:
            timer.cancel()
            loop.remove_reader(fd)
        return self._read_ready() if readable else b""

    async def write(self, data: bytes) -> None:
        port = self._serial
        if port is None:
            raise TransportError(f"{self.port} is closed")
        try:
            await asyncio.to_thread(port.write, data)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"writing to {self.port} failed ({exc})") from exc

    async def close(self) -> None:
        port, self._serial, self._fd = self._serial, None, None
        if port is not None:
            await asyncio.to_thread(port.close)


def probe_device_id(port: str, baud: int) -> str | None:
    """Ask the board on ``port`` for its HELLO; its device id, or None (busy, silent, not ours)."""
    try:
        with serial.Serial(port, baud, timeout=0.05, write_timeout=0.5, exclusive=True) as link:
            link.write(encode_frame(Command(0, Opcode.HELLO)))
            decoder = StreamDecoder()
            end = time.monotonic() + PROBE_S
            while time.monotonic() < end:
                for item in decoder.feed(link.read(max(1, link.in_waiting))):
                    if isinstance(item, Hello):
                        return item.device_id
    except (serial.SerialException, OSError, ValueError):
        return None
    return None
