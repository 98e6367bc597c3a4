"""``GET/PUT /api/lsl``: the dashboard's LSL switch, and what each outlet is doing."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, ConfigDict

from twitchd.errors import LslError
from twitchd.lsl import INSTALL_HINT, library_version, pylsl_installed
from twitchd.validation import responses

if TYPE_CHECKING:
    from twitchd.daemon import Daemon


class LslIn(BaseModel):
    """Strict: ``{"enabled": "yes"}`` or ``{"enabled": 1}`` is refused, not guessed at."""

    model_config = ConfigDict(extra="forbid", strict=True)
    enabled: bool


def lsl_state(daemon: Daemon) -> dict[str, Any]:
    lsl = daemon.lsl
    return {
        "enabled": lsl is not None,
        "available": pylsl_installed(),
        "install": INSTALL_HINT,
        "library": library_version(lsl.pylsl) if lsl is not None else "",
        "dropped_frames": lsl.dropped_frames if lsl is not None else 0,
        "streams": lsl.status() if lsl is not None else [],
    }


def add_lsl_routes(app: FastAPI) -> None:
    daemon: Daemon = app.state.daemon
    # One switch at a time: two PUTs racing must not start two sets of outlets.
    lock = asyncio.Lock()

    @app.get("/api/lsl")
    async def get_lsl() -> dict[str, Any]:
        return lsl_state(daemon)

    @app.put("/api/lsl", responses=responses(400, 403, 503))
    async def put_lsl(body: LslIn) -> dict[str, Any]:
        """Switch LSL output on or off; 503 (with the install command) when pylsl is missing."""
        async with lock:
            try:
                await asyncio.to_thread(daemon.set_lsl, body.enabled)
            except LslError as exc:
                raise HTTPException(503, str(exc)) from exc
        return lsl_state(daemon)
