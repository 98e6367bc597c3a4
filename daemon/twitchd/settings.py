"""The daemon's settings: CLI flags over TWITCHD_* environment variables over defaults."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import secrets
from dataclasses import dataclass

from twitchd.errors import ConfigError
from twitchd.origins import allowed_host_name

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_SOURCE = "simulated"


@dataclass(frozen=True)
class Settings:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    sources: tuple[str, ...] = (DEFAULT_SOURCE,)
    token: str | None = None
    #: Host names a daemon without a token answers to besides loopback ones (``--allow-host``).
    allowed_hosts: tuple[str, ...] = ()
    #: Acquisition worker processes for serial and simulated sources (``--workers``); 0 acquires
    #: in the daemon's own event loop, which carries about 16-24 sensors (docs/performance.md).
    workers: int = 0

    @property
    def checks_host(self) -> bool:
        """Without a token only loopback (and allowed) Host names are answered: DNS rebinding
        (twitchd.origins). With one, the token guards the data and any Host will do."""
        return self.token is None

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "[::]") else host
        suffix = f"/?token={self.token}" if self.token else "/"
        return f"http://{shown}:{self.port}{suffix}"


#: A token given by hand must be at least this long: 16 characters of a
#: generated token (base64url) carry 96 bits, out of reach of guessing over HTTP.
MIN_TOKEN_CHARS = 16

#: At most this many acquisition workers: more processes than cores only adds switching.
MAX_WORKERS = 16


def resolve(host: str | None, port: int | None, sources: list[str] | None, token: str | None,
            allow_hosts: list[str] | None = None, workers: int | None = None) -> Settings:
    """Combine flags and environment; a non-loopback address always gets a token."""
    env = os.environ
    host = host or env.get("TWITCHD_HOST") or DEFAULT_HOST
    raw_port = port if port is not None else env.get("TWITCHD_PORT", DEFAULT_PORT)
    try:
        port_num = int(raw_port)
    except ValueError as exc:
        raise ConfigError(f"TWITCHD_PORT must be a number, got {raw_port!r}") from exc
    if not 0 <= port_num <= 65535:
        raise ConfigError(f"port {port_num} is outside 0..65535")
    srcs = tuple(sources) if sources else tuple(
        s for s in env.get("TWITCHD_SOURCE", DEFAULT_SOURCE).split(";") if s) or (DEFAULT_SOURCE,)
    names = allow_hosts if allow_hosts is not None else env.get("TWITCHD_ALLOW_HOST", "").split(",")
    allowed = tuple(dict.fromkeys(allowed_host_name(n) for n in names if n.strip()))
    given = token or env.get("TWITCHD_TOKEN") or None
    if given is not None and (len(given) < MIN_TOKEN_CHARS or not given.isprintable() or " " in given):
        raise ConfigError(f"a token needs at least {MIN_TOKEN_CHARS} printable characters and no spaces"
                          " (leave --token out and one is generated)")
    raw_workers = workers if workers is not None else env.get("TWITCHD_WORKERS", 0)
    try:
        worker_count = int(raw_workers)
    except ValueError as exc:
        raise ConfigError(f"TWITCHD_WORKERS must be a number, got {raw_workers!r}") from exc
    if not 0 <= worker_count <= MAX_WORKERS:
        raise ConfigError(f"--workers {worker_count} is outside 0..{MAX_WORKERS}")
    settings = Settings(host, port_num, srcs, given, allowed, worker_count)
    if not settings.loopback and not settings.token:
        # Reachable from the network: never without a token.
        settings = dataclasses.replace(settings, token=secrets.token_urlsafe(18))
    return settings
