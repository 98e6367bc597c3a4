"""The one interface every sensor link implements."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from types import TracebackType

from twitchd.errors import SourceSpecError


def parse_options(items: Iterable[str], allowed: Iterable[str], usage: str) -> dict[str, str]:
    """``key=value`` items of a source spec, checked against the keys the source knows."""
    known = set(allowed)
    opts: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in items)):
        key, sep, value = item.partition("=")
        if not sep or key not in known:
            raise SourceSpecError(f"bad source option {item!r}: {usage}")
        opts[key] = value
    return opts


class Transport(abc.ABC):
    """A byte pipe to one sensor. ``read`` raises TransportError when the link is lost.

    ``reconnectable`` says whether opening it again after a loss can work (a
    replugged USB adapter can come back; a file replay cannot).
    """

    spec: str = ""
    reconnectable: bool = True
    #: signal strength in dBm, for links that have one (BLE)
    rssi: int | None = None

    @abc.abstractmethod
    async def open(self) -> None: ...

    @abc.abstractmethod
    async def read(self) -> bytes:
        """The next bytes from the device; may be empty after a quiet interval."""

    @abc.abstractmethod
    async def write(self, data: bytes) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None: ...

    async def relocate(self, device_id: str) -> bool:
        """After a loss, look for sensor ``device_id`` elsewhere (a USB adapter that came
        back under another name); True when found and the transport now points there."""
        return False

    async def __aenter__(self) -> Transport:
        await self.open()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()
