"""schemathesis against the API's own OpenAPI schema: no input makes a 500,
and every answer is one the schema declares, in the shape it declares.

The app runs in-process (schemathesis's ASGI transport) with a real Daemon on
the simulated sensor, a temporary data directory holding one recorded session
and one paired BLE sensor, and an access token, so every request also passes
the token check. Operations that destroy state (deleting a session, a device,
a paired sensor) run against a second, dedicated app, so they cannot pull the
ground from under the rest of the run. Each operation gets valid and invalid
input, plus the ids that exist; ``TWITCHD_FUZZ_EXAMPLES`` (default 15 per
operation and mode) bounds the run to ~15 s here on 2 cores.

Only the BLE scan is a stand-in: it answers at once instead of listening to a
radio for 1-15 s (the request is still validated by the real route).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)

from twitchd.api import Daemon, create_app
from twitchd.ble.paired import PairedSensors
from twitchd.ble.scan import FoundSensor
from twitchd.settings import Settings
from twitchd.store.recorder import SessionMeta

pytestmark = pytest.mark.slow

TOKEN = "fuzz-" + "t" * 24
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PAIRED = ("TW-B1E001", "AA:BB:CC:DD:EE:01")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = int(os.environ.get("TWITCHD_FUZZ_EXAMPLES", "15"))
DESTRUCTIVE = {"DELETE /api/sessions/{session_id}", "DELETE /api/devices/{device}", "DELETE /api/ble/paired/{address}"}
#: Path parameters naming what exists (random ids seldom do), tried first with valid input.
EXISTING = {"session_id": 1, "device": "sim-1", "address": PAIRED[1]}

# Every operation the schema declares (read from an app that never starts), each its own test: with
# valid input, and with invalid input where it takes any (parameters or a body).
PATHS = create_app(Settings(sources=())).openapi()["paths"]
CASES = [pytest.param(f"{method.upper()} {path}", mode, id=f"{method.upper()} {path} {mode.value}")
         for path, item in PATHS.items() for method, op in item.items()
         for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
         if mode is GenerationMode.POSITIVE or op.get("parameters") or op.get("requestBody")]


def seeded_data_dir(where: Path) -> Path:
    """A data directory with one short recorded session (id 1, with a marker) and one paired BLE sensor."""
    settings = Settings(sources=("simulated:speed=20,seed=3",))
    daemon = Daemon(settings, data_dir=where)
    daemon.recorder.start(SessionMeta(patient="P-1", muscle="upper trapezius", side="left"))
    with TestClient(create_app(settings, daemon), base_url="http://127.0.0.1") as c:
        end = time.monotonic() + 60
        while daemon.pipelines[0].info.samples < 4000 and time.monotonic() < end:
            time.sleep(0.05)
        assert c.post("/api/recording/marker", json={"label": "seed"}).status_code == 200
        assert c.post("/api/recording/stop").json()["session_id"] == 1
    PairedSensors(where).remember(*PAIRED)
    return where


async def no_radio_scan(radio: Any, seconds: float) -> list[FoundSensor]:
    """The scan without a radio (and without its 1-15 s wait): the paired sensor is heard."""
    return [FoundSensor(PAIRED[0], PAIRED[1], -50)]


def fuzz_schema(where: Path) -> Any:
    settings = Settings(sources=("simulated:seed=4",), token=TOKEN)
    app = create_app(settings, Daemon(settings, data_dir=seeded_data_dir(where)))
    return schemathesis.openapi.from_asgi("/openapi.json", app)  # (this starts the app's lifespan)


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("twitchd.routes.ble.scan", no_radio_scan)
        try:
            yield {"main": fuzz_schema(tmp_path_factory.mktemp("fuzz")),
                   "destructive": fuzz_schema(tmp_path_factory.mktemp("fuzz-destructive"))}
        finally:
            from schemathesis.python.asgi import shutdown_lifespans

            shutdown_lifespans()  # Daemon.stop for both apps


@pytest.mark.parametrize(("label", "mode"), CASES)
def test_no_request_makes_a_server_error_or_an_undeclared_answer(schemas: dict[str, Any], label: str,
                                                                 mode: GenerationMode) -> None:
    method, path = label.split(" ", 1)
    operation = schemas["destructive" if label in DESTRUCTIVE else "main"][path][method]

    def fuzz(case: Any) -> None:
        case.call_and_validate(headers=AUTH, checks=CHECKS)

    existing = {p.name: EXISTING[p.name] for p in operation.path_parameters}
    if existing and mode is GenerationMode.POSITIVE:
        fuzz = example(case=operation.Case(path_parameters=existing))(fuzz)
    fuzz = given(case=operation.as_strategy(generation_mode=mode))(fuzz)
    settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))(fuzz)()
