"""A USB serial port (or a pty, which behaves the same) through pyserial.

pyserial is blocking, so reads run in a worker thread with a short timeout and
hand whole reads to the loop. Errors are turned into messages a practitioner
can act on.
"""

from __future__ import annotations

import asyncio
import errno
from pathlib import Path

import serial

from twitchd.errors import SourceSpecError, TransportError
from twitchd.transports.base import Transport

#: AVR boards run at 500000 baud (exact at 16 MHz with U2X); see docs/protocol.md.
DEFAULT_BAUD = 500_000
READ_TIMEOUT_S = 0.02


class SerialTransport(Transport):
    def __init__(self, port: str, baud: int = DEFAULT_BAUD) -> None:
        self.port, self.baud = port, baud
        self.spec = f"serial:{port}"
        self._serial: serial.Serial | None = None

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

    async def read(self) -> bytes:
        return await asyncio.to_thread(self._read_blocking)

    async def write(self, data: bytes) -> None:
        port = self._serial
        if port is None:
            raise TransportError(f"{self.port} is closed")
        try:
            await asyncio.to_thread(port.write, data)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"writing to {self.port} failed ({exc})") from exc

    async def close(self) -> None:
        port, self._serial = self._serial, None
        if port is not None:
            await asyncio.to_thread(port.close)
