"""The review API: corrections of a stored session, marks added afterwards, and agreement figures.

Sessions are named by id only. Corrections and marks are written in a worker
thread (the event loop, and with it acquisition, never waits on the disk);
the detector's own events are never changed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path as PathParam, Query
from pydantic import BaseModel, ConfigDict, Field

from twitchd.errors import EventNotFoundError, ReviewError, SessionNotFoundError, StoreError
from twitchd.evaluate import session_agreement
from twitchd.store.review import LABEL_KINDS, CorrectionIn, add_correction, add_mark
from twitchd.store.sessions import SessionStore
from twitchd.validation import MAX_ID, invalid, responses

SessionId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
EventId = Annotated[int, Field(ge=1, le=MAX_ID)]
Seconds = Annotated[float, Field(ge=0, le=1e7, allow_inf_nan=False)]
Kind = Literal[LABEL_KINDS]  # type: ignore[valid-type]


class CorrectionBody(BaseModel):
    """Accept, reject or relabel one event (``event_id`` of the detector's, or ``added_id`` of one added in
    review), or add an event the detector missed (``onset_s``, optional ``end_s``)."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["accept", "reject", "relabel", "add"]
    author: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$")]
    event_id: EventId | None = None
    added_id: EventId | None = None
    kind: Kind | None = None
    onset_s: Seconds | None = None
    end_s: Seconds | None = None
    note: Annotated[str, Field(max_length=400, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class LateMark(BaseModel):
    """A mark added while reviewing (from a paper note, say), at a session time."""

    model_config = ConfigDict(extra="forbid")
    t_s: Seconds
    kind: Literal["felt_ltr", "referred_pain", "note"] = "felt_ltr"
    text: Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


def add_review_routes(app: FastAPI) -> None:
    data_dir: Path | None = app.state.daemon.data_dir
    async def run(fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(fn, *args)
        except (SessionNotFoundError, EventNotFoundError) as exc:
            raise HTTPException(404, str(exc)) from exc
        except ReviewError as exc:
            raise invalid(("body",), str(exc)) from exc
        except StoreError as exc:
            raise HTTPException(503, str(exc)) from exc

    @app.post("/api/sessions/{session_id}/corrections", status_code=201, responses=responses(400, 403, 404, 503))
    async def correct(session_id: SessionId, body: CorrectionBody) -> dict[str, Any]:
        """One correction; the detector's event stays as it was, and the correction says what it replaced."""
        c = CorrectionIn(body.action, body.author, body.event_id, body.added_id, body.kind, body.onset_s, body.end_s,
                         body.note)
        return await run(add_correction, data_dir, session_id, c)  # type: ignore[no-any-return]

    @app.post("/api/sessions/{session_id}/marks", status_code=201, responses=responses(400, 403, 404, 503))
    async def late_mark(session_id: SessionId, body: LateMark) -> dict[str, Any]:
        return await run(add_mark, data_dir, session_id, body.t_s, body.kind, body.text)  # type: ignore[no-any-return]

    @app.get("/api/sessions/{session_id}/agreement", responses=responses(400, 404, 503))
    async def agreement(session_id: SessionId,
                        against: Annotated[Literal["marks", "review"], Query()] = "marks") -> dict[str, Any]:
        """``twitchd evaluate``'s figures for one session, also while it is being recorded."""
        def figures() -> dict[str, Any]:
            with SessionStore(data_dir) as s:
                return session_agreement(s, session_id, against)

        return await run(figures)  # type: ignore[no-any-return]
