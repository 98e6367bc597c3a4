"""The recording and session API: start/stop/marker, list/show/export/delete.

Clients name sessions by id only, never a path; bodies are pydantic models
that refuse unknown fields. Database and export work runs in worker threads
so the event loop (and with it acquisition) never waits on the disk.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path as PathParam, Query
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from twitchd.errors import ConfigError, ReviewError, SessionNotFoundError, StoreError
from twitchd.marks import NO_SITE, Site, catalog
from twitchd.store.clinical import site_summaries
from twitchd.store.detail import session_detail
from twitchd.store.export import export_to
from twitchd.store.recorder import SessionMeta
from twitchd.store.sessions import SessionStore
from twitchd.store.traceview import session_trace
from twitchd.validation import MAX_ID, invalid, responses

if TYPE_CHECKING:
    from twitchd.daemon import Daemon

Text = Annotated[str, Field(max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$")]


class RecordingStart(BaseModel):
    """What the practitioner enters before recording; nothing here is a path."""

    model_config = ConfigDict(extra="forbid")
    patient: Text = ""
    muscle: Text = ""
    side: Literal["left", "right", "bilateral", ""] = ""
    technique: Text = Field("", description="e.g. compression, dry-needling")
    practitioner: Text = ""
    notes: Annotated[str, Field(max_length=4000)] = ""


class MarkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


Line = Annotated[str, Field(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


class MarkIn(BaseModel):
    """A mark from the dashboard or another program; its time is the daemon's, now."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["felt_ltr", "referred_pain", "note"] = "felt_ltr"
    text: Line = ""
    source: Literal["key", "pedal", "screen", "api"] = "screen"


class SiteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    muscle: Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$")]
    side: Literal["left", "right", "bilateral", ""] = ""
    point: Annotated[str, Field(max_length=60, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class PptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trials: Annotated[int, Field(ge=1, le=10, description="trials in the series (three is the usual protocol)")] = 3
    device: Annotated[str | None, Field(pattern=r"^[a-z]{1,3}-[0-9]{1,6}$",
                                        description="the device whose force is read (default: the first with one)")] = None


class PainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: Literal["key", "pedal", "screen", "api"] = "key"


class NotesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    notes: Annotated[str, Field(max_length=4000)]


SessionId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
DeviceName = Annotated[str | None, Query(pattern=r"^[a-z]{1,3}-[0-9]{1,6}$", description="a device of the session (default: its first)")]
MEDIA = {"edf": ("application/octet-stream", "edf"), "csv": ("text/csv", "csv"), "events": ("text/csv", "events.csv"),
         "json": ("application/json", "json")}


def add_recording_routes(app: FastAPI) -> None:
    daemon: Daemon = app.state.daemon
    recorder = daemon.recorder

    def store() -> SessionStore:
        return SessionStore(daemon.data_dir)

    def read(fn: Any, *args: Any) -> Any:
        with store() as s:
            return fn(s, *args)

    async def in_thread(fn: Any, *args: Any) -> Any:
        try:
            return await asyncio.to_thread(read, fn, *args)
        except SessionNotFoundError as exc:
            raise HTTPException(404, str(exc)) from exc
        except StoreError as exc:
            raise HTTPException(503, str(exc)) from exc

    @app.get("/api/recording")
    async def recording_status() -> dict[str, Any]:
        ppt = daemon.marks.ppt
        return {**recorder.status(), "ppt": None if ppt is None else ppt.to_json()}

    @app.post("/api/recording/start", responses=responses(400, 403, 409, 503))
    async def recording_start(body: RecordingStart) -> dict[str, Any]:
        if recorder.recording:
            raise HTTPException(409, f"already recording session {recorder.session_id}")
        try:
            await asyncio.to_thread(recorder.start, SessionMeta(**body.model_dump()))
        except StoreError as exc:
            raise HTTPException(503, str(exc)) from exc
        return recorder.status()

    @app.post("/api/recording/stop", responses=responses(403))
    async def recording_stop() -> dict[str, Any]:
        daemon.marks.stop_ppt()  # a series belongs to its recording: the next one starts without it
        return await asyncio.to_thread(recorder.stop) if recorder.recording else recorder.status()

    @app.post("/api/recording/marker", responses=responses(400, 403, 409))
    async def recording_marker(body: MarkerIn) -> dict[str, Any]:
        """A note mark (the first API's form; ``/api/recording/marks`` takes every kind)."""
        try:
            mark = daemon.marks.mark("note", body.label, "api")
        except StoreError as exc:
            raise HTTPException(409, str(exc)) from exc
        return {"session_id": mark.session_id, "t_s": round(mark.t_s or 0.0, 4), "label": body.label}

    @app.post("/api/recording/marks", responses=responses(400, 403, 409))
    async def recording_mark(body: MarkIn) -> dict[str, Any]:
        """A felt LTR, the patient's referred pain, or a note, at this moment of the recording."""
        try:
            mark = daemon.marks.mark(body.kind, body.text, body.source)
        except StoreError as exc:
            raise HTTPException(409, str(exc)) from exc
        except ConfigError as exc:
            raise invalid(("body", "text"), str(exc), body.text) from exc
        return mark.answer()

    @app.post("/api/recording/ppt", responses=responses(400, 403, 409))
    async def ppt_start(body: PptIn) -> dict[str, Any]:
        """A pressure pain threshold series at the current site; refused without a calibrated force sensor."""
        try:
            series = daemon.marks.start_ppt(body.trials, body.device)
        except (StoreError, ReviewError) as exc:
            raise HTTPException(409, str(exc)) from exc
        return series.to_json()

    @app.delete("/api/recording/ppt", responses=responses(403))
    async def ppt_stop() -> dict[str, Any]:
        series = daemon.marks.stop_ppt()
        return {"stopped": None if series is None else series.to_json()}

    @app.post("/api/recording/ppt/pain", responses=responses(400, 403, 409))
    async def ppt_pain(body: PainIn) -> dict[str, Any]:
        """The patient says "now": the trial's threshold and ramp, read off the force just recorded."""
        try:
            trial = daemon.marks.pain(body.source)
        except (StoreError, ReviewError) as exc:
            raise HTTPException(409, str(exc)) from exc
        return await daemon.marks.read_later(trial)

    @app.get("/api/sessions/{session_id}/sites", responses=responses(404, 503))
    async def sessions_sites(session_id: SessionId) -> list[dict[str, Any]]:
        """Per site: LTRs in order with force and peak, presses, responding or quieted, PPT trials and mean."""
        return await in_thread(site_summaries, session_id)  # type: ignore[no-any-return]

    @app.get("/api/sites")
    async def sites() -> dict[str, Any]:
        """The built-in list of trigger-point muscles, and the site in force."""
        return {"catalog": catalog(), "current": recorder.site.to_json()}

    @app.put("/api/site", responses=responses(400, 403))
    async def set_site(body: SiteIn) -> dict[str, Any]:
        """The site from now on (kept for the next recording when none runs)."""
        try:
            site = Site.make(body.muscle, body.side, body.point)
        except ConfigError as exc:
            raise invalid(("body",), str(exc), body.muscle) from exc
        t_s = daemon.marks.set_site(site)
        return {"current": site.to_json(), "session_id": recorder.session_id if t_s is not None else None,
                "t_s": None if t_s is None else round(t_s, 4)}

    @app.delete("/api/site", responses=responses(403))
    async def clear_site() -> dict[str, Any]:
        t_s = daemon.marks.set_site(NO_SITE)
        return {"current": None, "session_id": recorder.session_id if t_s is not None else None,
                "t_s": None if t_s is None else round(t_s, 4)}

    @app.post("/api/recording/notes", responses=responses(400, 403, 409))
    async def recording_notes(body: NotesIn) -> dict[str, Any]:
        try:
            recorder.set_notes(body.notes)
        except StoreError as exc:
            raise HTTPException(409, str(exc)) from exc
        return {"session_id": recorder.session_id, "notes": body.notes}

    @app.get("/api/sessions", responses=responses(503))
    async def sessions_list(
        patient: Annotated[str | None, Query(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$",
                                             description="only this patient's sessions (their visits)")] = None,
    ) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await in_thread(SessionStore.all)
        return found if patient is None else [s for s in found if s["patient"] == patient]

    @app.get("/api/sessions/{session_id}", responses=responses(404, 503))
    async def sessions_show(session_id: SessionId) -> dict[str, Any]:
        return await in_thread(session_detail, session_id)  # type: ignore[no-any-return]

    @app.delete("/api/sessions/{session_id}", responses=responses(403, 404, 409, 503))
    async def sessions_delete(session_id: SessionId) -> dict[str, Any]:
        if recorder.recording and recorder.session_id == session_id:
            raise HTTPException(409, f"session {session_id} is being recorded; stop it first")
        await in_thread(SessionStore.delete, session_id)
        return {"deleted": session_id}

    @app.get("/api/sessions/{session_id}/trace", responses=responses(404, 503))
    async def sessions_trace(
        session_id: SessionId,
        device: DeviceName = None,
        start_s: Annotated[float, Query(ge=0, le=1e7)] = 0.0,
        seconds: Annotated[float, Query(gt=0, le=3600)] = 10.0,
        points: Annotated[int, Query(ge=10, le=8000, description="at most this many min/max buckets")] = 2000,
    ) -> dict[str, Any]:
        """A window of a stored session's traces, decimated for drawing (the live ``trace`` shape)."""
        return await in_thread(session_trace, session_id, device, start_s, seconds, points)  # type: ignore[no-any-return]

    @app.get("/api/sessions/{session_id}/export", response_class=FileResponse,
             responses={200: {"description": "the file, as an attachment", "content": {
                 "text/csv": {"schema": {"type": "string"}},
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                 **responses(404, 503)})
    async def sessions_export(session_id: SessionId,
                              format: Annotated[Literal["edf", "csv", "events", "json"], Query()] = "csv") -> FileResponse:
        media, suffix = MEDIA[format]
        fd, name = tempfile.mkstemp(prefix="twitchd-export-", suffix="." + suffix)
        os.close(fd)
        tmp = Path(name)
        try:
            await in_thread(export_to, session_id, format, tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return FileResponse(tmp, media_type=media, filename=f"session-{session_id}.{suffix}",
                            background=BackgroundTask(tmp.unlink, missing_ok=True))
