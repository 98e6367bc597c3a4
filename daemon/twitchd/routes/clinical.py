"""The clinical API: patients and their visits, and the printable reports.

A patient is the pseudonymous code on a session (no name is needed, and
nothing leaves this machine); a patient's sessions are their visits. Reports
are whole HTML pages, built in a worker thread from the store.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Path as PathParam, Query
from fastapi.responses import HTMLResponse

from twitchd.errors import SessionNotFoundError, StoreError
from twitchd.report import patient_report, session_report
from twitchd.store.sessions import SessionStore
from twitchd.validation import MAX_ID, responses

SessionId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
Patient = Annotated[str, Query(min_length=1, max_length=120, pattern=r"^[^\x00-\x1f\x7f]*$",
                               description="the patient code, as on the sessions")]
HTML = {200: {"description": "a self-contained HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}}


def patients(store: SessionStore) -> list[dict[str, Any]]:
    """Each patient code with its visits, oldest first (sessions without a code are left out)."""
    out: dict[str, dict[str, Any]] = {}
    for s in store.all():
        if not s["patient"]:
            continue
        p = out.setdefault(s["patient"], {"patient": s["patient"], "sessions": [], "ltrs": 0})
        p["sessions"].append({"id": s["id"], "started_at": s["started_at"], "duration_s": s["duration_s"],
                              "ltrs": s["ltrs"], "muscle": s["muscle"], "side": s["side"]})
        p["ltrs"] += s["ltrs"]
    for p in out.values():
        p["first"], p["last"] = p["sessions"][0]["started_at"], p["sessions"][-1]["started_at"]
        p["visits"] = len(p["sessions"])
    return sorted(out.values(), key=lambda p: p["last"], reverse=True)


def add_clinical_routes(app: FastAPI) -> None:
    data_dir: Path | None = app.state.daemon.data_dir
    async def run(fn: Any, *args: Any) -> Any:
        def work() -> Any:
            with SessionStore(data_dir) as s:
                return fn(s, *args)

        try:
            return await asyncio.to_thread(work)
        except SessionNotFoundError as exc:
            raise HTTPException(404, str(exc)) from exc
        except StoreError as exc:
            raise HTTPException(503, str(exc)) from exc

    @app.get("/api/patients", responses=responses(503))
    async def list_patients() -> list[dict[str, Any]]:
        """Patients (pseudonymous codes) with their visits: each one's sessions listed together."""
        return await run(patients)  # type: ignore[no-any-return]

    @app.get("/api/patients/report", responses={**HTML, **responses(404, 503)})
    async def visits_report(patient: Patient) -> HTMLResponse:
        """PPT and LTR counts per site over a patient's visits, as a printable page."""
        return HTMLResponse(await run(patient_report, patient))

    @app.get("/api/sessions/{session_id}/report",
             responses={**HTML, **responses(404, 503)})
    async def report(session_id: SessionId) -> HTMLResponse:
        """The session report: one self-contained, printable page (the same as ``twitchd report``)."""
        return HTMLResponse(await run(session_report, session_id))
