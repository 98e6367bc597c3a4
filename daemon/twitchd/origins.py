"""Which web pages may talk to the daemon: its own dashboard, and non-browser clients.

Any page a practitioner has open in the same browser can make requests to
127.0.0.1 and open WebSockets to it (browsers apply no same-origin rule to
WebSockets). Without a check, a malicious page could read a live session or
start and delete recordings. Browsers always send ``Origin`` on WebSocket
handshakes and on cross-site POST/PUT/DELETE; scripts (curl, Python, LSL
tools) send none and are guarded by the token when one is required.
"""

from __future__ import annotations

from urllib.parse import urlsplit

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
