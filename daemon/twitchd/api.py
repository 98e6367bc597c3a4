"""The HTTP and WebSocket API, and the dashboard's static files: the web layer around twitchd.daemon.

One ``create_app`` with one lifespan (as Starlette recommends) starts a
pipeline per source and stops them on shutdown. Every input is validated by
FastAPI; no client ever names a filesystem path.

Three guards sit in front of the routes: the token (when one is set), the
``Origin`` of requests that change something, and, for a daemon without a
token, the ``Host`` header (DNS rebinding; see twitchd.origins).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields
from typing import Annotated, Any, Literal, get_args

from fastapi import FastAPI, HTTPException, Path, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, create_model
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from twitchd import __version__
from twitchd.daemon import Daemon
from twitchd.errors import ConfigError, SourceSpecError
from twitchd.events import KINDS
from twitchd.hub import live_frame
from twitchd.origins import UNSAFE_METHODS, host_allowed, same_origin
from twitchd.routes.ble import add_ble_routes
from twitchd.routes.clinical import add_clinical_routes
from twitchd.routes.lsl import add_lsl_routes
from twitchd.routes.recording import add_recording_routes
from twitchd.routes.review import add_review_routes
from twitchd.settings import Settings
from twitchd.signal.params import DetectorParams
from twitchd.transports.catalog import client_source, serial_ports
from twitchd.validation import MAX_ID, invalid, lone_surrogates, responses, validation_error
from twitchd.webassets import web_root

__all__ = ["Daemon", "create_app"]  # Daemon lives in twitchd.daemon; re-exported for the programs that took it from here

log = logging.getLogger(__name__)


#: The largest request body taken: session notes (4000 characters) are the
#: biggest thing a client sends; a client cannot make the daemon buffer more.
MAX_BODY_BYTES = 64 * 1024
#: Devices a client may have connected at once. benchmarks/fleet.py: 64 sensors
#: at 2 kHz for ten minutes lost nothing on this 2-core machine, data-path p99
#: 0.75 ms (docs/performance.md, issue 20).
MAX_DEVICES = 64
#: With acquisition workers (--workers N) a machine with more cores takes more.
MAX_DEVICES_WITH_WORKERS = 128


class DeviceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=200, description="simulated[:k=v,…], serial:PORT, ble:NAME, replay:ID")


EventKind = Literal["ltr", "twitch", "contraction", "artifact", "press", "gap", "felt"]
if set(get_args(EventKind)) != set(KINDS):
    raise RuntimeError("api.EventKind must list exactly twitchd.events.KINDS")

#: ``PUT /api/detector``: any of the detector's parameters, each a finite number in its range
#: (the ranges and reasons are DetectorParams's own); the rest keep their values.
_CHANGES: dict[str, Any] = {
    f.name: (float, Field(None, ge=f.metadata["min"], le=f.metadata["max"], description=f.metadata["reason"]))
    for f in fields(DetectorParams)}
DetectorChanges = create_model(
    "DetectorChanges", __config__=ConfigDict(extra="forbid", strict=True, allow_inf_nan=False), **_CHANGES)


class WebFiles(Mount):
    """The dashboard's files at ``/``, but not under ``/api/`` or ``/ws/`` (nor for WebSockets): a wrong
    method on an API path is a 405 naming the right ones (``Allow``), an unknown API path a JSON 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["path"].startswith(("/api/", "/ws/")):
            return Match.NONE, {}
        return super().matches(scope)


class HostGuard:
    """Answers only requests whose Host is a loopback name or an allowed one, HTTP and WebSocket alike.

    A page on evil.example whose name the attacker re-points at 127.0.0.1 (DNS
    rebinding) is same-origin with its own requests, so no Origin check sees it;
    its Host header still says evil.example.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = Headers(scope=scope).get("host")
            if not host_allowed(host, self.allowed):
                if scope["type"] == "websocket":
                    await receive()  # the handshake's websocket.connect
                    await send({"type": "websocket.close", "code": 1008,
                                "reason": "Host is not a loopback name (DNS rebinding guard; see --allow-host)"})
                    return
                detail = (f"this daemon answers only to localhost, 127.0.0.1 and [::1], not to Host {str(host)[:100]!r}:"
                          " a page under another name may be a DNS rebinding attack. To reach it under another name,"
                          " start it with --allow-host NAME (or give it a token)")
                await JSONResponse({"detail": detail}, 421)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings, daemon: Daemon | None = None) -> FastAPI:
    daemon = daemon or Daemon(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await daemon.start()
        try:
            yield
        finally:
            await daemon.stop()

    # Every route may refuse a request without the token (401) or with a foreign Host (421);
    # those that change something also one from another page (403, declared with each).
    app = FastAPI(title="twitchd", version=__version__, lifespan=lifespan, responses=responses(401, 421))
    app.state.daemon = daemon
    app.add_exception_handler(RequestValidationError, validation_error)

    async def http_error(request: Request, exc: Exception) -> Response:
        """FastAPI's own answer, except that a 405's ``Allow`` names every method of the path
        (Starlette names only those of the first route it tried)."""
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            allowed = sorted({m for r in app.routes if isinstance(r, APIRoute) and r.path_regex.match(request.url.path)
                              for m in r.methods or ()})
            if allowed:
                exc = StarletteHTTPException(405, exc.detail, headers={"Allow": ", ".join(allowed)})
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)

    def authorised(token: str | None, header: str | None) -> bool:
        if settings.token is None:
            return True
        given = token or (header[7:] if header and header.startswith("Bearer ") else "")
        return hmac.compare_digest(given.encode(), settings.token.encode())

    @app.middleware("http")
    async def check_token(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # The dashboard's own files are not secret, and a browser does not pass
        # the page's ?token= on to module imports; the data is what is guarded.
        if request.url.path.startswith("/api/") and not authorised(request.query_params.get("token"), request.headers.get("authorization")):
            return JSONResponse({"detail": "a valid token is required (see the daemon's start-up message)"}, 401)
        if request.method in UNSAFE_METHODS and not same_origin(request.headers.get("origin"), request.headers.get("host")):
            return JSONResponse({"detail": "requests from other web pages are refused (open the dashboard itself)"}, 403)
        if request.method in UNSAFE_METHODS:
            length = request.headers.get("content-length")
            if length is None and request.headers.get("transfer-encoding"):
                return JSONResponse({"detail": "send the body with a Content-Length"}, 411)
            if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
                return JSONResponse({"detail": f"the body is larger than {MAX_BODY_BYTES // 1024} KiB"}, 413)
        if request.method in UNSAFE_METHODS and lone_surrogates(await request.body()):
            return JSONResponse({"detail": "the body's strings must be Unicode text (a lone \\uD800-\\uDFFF escape is not)"}, 400)
        return await call_next(request)

    @app.get("/api/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "uptime_s": round(time.monotonic() - daemon.started, 1),
                "devices": len(daemon.pipelines), "clients": daemon.hub.subscriber_count,
                "workers": daemon.pool.status() if daemon.pool is not None else []}

    @app.get("/api/devices")
    async def devices() -> list[dict[str, Any]]:
        return [p.info.to_json() for p in daemon.pipelines]

    @app.get("/api/ports")
    async def ports() -> dict[str, Any]:
        """Serial ports a sensor may be on (BLE sensors come from a scan)."""
        found = await asyncio.to_thread(serial_ports)
        return {"serial": [p.to_json() for p in found]}

    @app.post("/api/devices", status_code=201, responses=responses(400, 403, 409))
    async def connect_device(body: DeviceIn) -> dict[str, Any]:
        """Connect a sensor by source spec; serial ports only from GET /api/ports."""
        started = [p.transport.spec.removeprefix("serial:") for p in daemon.pipelines]
        try:
            spec = client_source(body.source, [s.partition(":")[2] for s in settings.sources] + started)
            if any(p.transport.spec == spec for p in daemon.pipelines):
                raise HTTPException(409, f"{spec} is already connected")
            most = MAX_DEVICES if daemon.pool is None else MAX_DEVICES_WITH_WORKERS
            if len(daemon.pipelines) >= most:
                hint = " (docs/performance.md; --workers N takes more)" if daemon.pool is None else ""
                raise HTTPException(409, f"{most} devices are connected, the most this daemon takes{hint}")
            pipeline = await daemon.add_source(spec)
        except (SourceSpecError, ConfigError) as exc:
            raise invalid(("body", "source"), str(exc), body.source) from exc
        return pipeline.info.to_json()

    @app.delete("/api/devices/{device}", responses=responses(403, 404))
    async def disconnect_device(device: Annotated[str, Path(pattern=r"^[a-z]{1,3}-[0-9]{1,6}$")]) -> dict[str, Any]:
        if not await daemon.remove_device(device):
            raise HTTPException(404, f"no device {device}")
        return {"removed": device}

    @app.get("/api/events")
    async def events(
        since: Annotated[int, Query(ge=0, le=MAX_ID, description="return events with an id above this")] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
        kind: Annotated[list[EventKind] | None, Query(max_length=len(KINDS), description="only these kinds")] = None,
    ) -> dict[str, Any]:
        found = daemon.hub.events_since(since, limit, kind)
        return {"events": [e.to_json() for e in found], "last_id": daemon.hub.last_event_id}

    @app.get("/api/detector")
    async def detector() -> dict[str, Any]:
        """Current values, and each parameter's default, range and reason."""
        return {"values": daemon.params.as_dict(), "parameters": DetectorParams.describe()}

    @app.put("/api/detector", responses=responses(400, 403))
    async def set_detector(body: DetectorChanges) -> dict[str, Any]:  # type: ignore[valid-type]
        """Change some parameters (the rest keep their values); ``{}`` after a reset."""
        changes = body.model_dump(exclude_unset=True)  # type: ignore[attr-defined]
        try:
            daemon.set_params(daemon.params.updated(**changes))
        except ConfigError as exc:  # settings that contradict each other (press_off_n > press_on_n, …)
            raise invalid(("body",), str(exc), changes) from exc
        return {"values": daemon.params.as_dict()}

    @app.delete("/api/detector", responses=responses(403))
    async def reset_detector() -> dict[str, Any]:
        daemon.set_params(DetectorParams())
        return {"values": daemon.params.as_dict()}

    @app.websocket("/ws/live")
    async def live(ws: WebSocket) -> None:
        if not authorised(ws.query_params.get("token"), ws.headers.get("authorization")):
            await ws.close(code=1008, reason="a valid token is required")
            return
        if not same_origin(ws.headers.get("origin"), ws.headers.get("host")):
            await ws.close(code=1008, reason="connections from other web pages are refused")
            return
        await ws.accept()
        sub = daemon.hub.subscribe()
        try:
            await ws.send_json({"kind": "hello", "version": __version__, "instance": daemon.instance,
                                "devices": [p.info.to_json() for p in daemon.pipelines]})
            while True:
                await ws.send_json(live_frame(await sub.get()))
                if sub.overflowed:
                    await ws.close(code=1013, reason="client too slow; reconnect and fetch /api/events?since=")
                    return
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            daemon.hub.unsubscribe(sub)

    # Each part of the API takes the daemon from app.state; none of them imports this module.
    for add_routes in (add_recording_routes, add_review_routes, add_clinical_routes, add_ble_routes, add_lsl_routes):
        add_routes(app)
    app.router.routes.append(WebFiles("/", StaticFiles(directory=web_root(), html=True), name="web"))
    if settings.checks_host:
        app.add_middleware(HostGuard, allowed=settings.allowed_hosts)  # outermost: before the token and Origin
    return app
