"""Which web pages may talk to the daemon: its own dashboard, and non-browser clients.

Two guards: the ``Origin`` of a request (another page open in the same
browser) and, for a daemon without a token, its ``Host`` (DNS rebinding).

Any page a practitioner has open in the same browser can make requests to
127.0.0.1 and open WebSockets to it (browsers apply no same-origin rule to
WebSockets). Without a check, a malicious page could read a live session or
start and delete recordings. Browsers always send ``Origin`` on WebSocket
handshakes and on cross-site POST/PUT/DELETE; scripts (curl, Python, LSL
tools) send none and are guarded by the token when one is required.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from twitchd.errors import ConfigError

#: Methods that change something; GETs are guarded by the browser's CORS (no
#: Access-Control-Allow-Origin is ever sent, so a foreign page cannot read them).
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def same_origin(origin: str | None, host: str | None) -> bool:
    """True for no Origin (not a browser page) or an Origin naming this very host and port."""
    if origin is None:
        return True
    if origin == "null" or not host:
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


# -- DNS rebinding: which Host names the daemon answers to ---------------------
#
# A page on evil.example can make its own name resolve to 127.0.0.1 once the
# browser has loaded it; its requests then reach the daemon as same-origin
# requests to "evil.example:8765", past every Origin check. Only the Host
# header still names the attacker's domain, so a daemon that relies on loopback
# alone (no token) answers only to loopback names, and to names the user adds
# with ``--allow-host``. With a token the token guards the data, and any Host
# (a LAN address, a host name) is fine.

#: A DNS name (what ``--allow-host`` takes): letters, digits, hyphens and dots.
_HOST_NAME = re.compile(r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")


def host_name(host: str) -> str | None:
    """The name or address in a Host header, lower case, without port or brackets; None if malformed."""
    host = host.strip().lower()
    if host.startswith("["):
        address, sep, rest = host[1:].partition("]")
        if not sep or (rest and not (rest[0] == ":" and rest[1:].isdigit())):
            return None
        try:
            return str(ipaddress.IPv6Address(address))
        except ValueError:
            return None
    name, sep, port = host.rpartition(":")
    if not sep:
        name = port
    elif not port.isdigit() or not name:
        return None
    name = name.removesuffix(".")
    return name if _HOST_NAME.fullmatch(name) else None


def loopback_name(name: str) -> bool:
    """localhost, or a loopback address (127.0.0.0/8, ::1)."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(host: str | None, extra: Iterable[str] = ()) -> bool:
    """Whether a loopback-only daemon answers a request with this Host header.

    No Host at all (HTTP/1.0 tools) is not a browser, so it is no rebinding attack.
    """
    if host is None:
        return True
    name = host_name(host)
    return name is not None and (loopback_name(name) or name in extra)


def allowed_host_name(text: str) -> str:
    """A ``--allow-host`` value, normalised (lower case, no trailing dot); ConfigError if it is not a host name."""
    name = text.strip().lower().removesuffix(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not _HOST_NAME.fullmatch(name):
        raise ConfigError(f"--allow-host takes a host name or address without port or scheme, got {text!r}")
    return name
