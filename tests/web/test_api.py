"""The API as the dashboard uses it, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from twitchd import api as api_module
from twitchd.api import Daemon, create_app
from twitchd.errors import ConfigError
from twitchd.events import KINDS
from twitchd.hub import frame_messages
from twitchd.settings import Settings, resolve


#: The live socket as the dashboard on 127.0.0.1 opens it (TestClient's own default host is "testserver").
LIVE = "ws://127.0.0.1/ws/live"


def client(**kw: object) -> TestClient:
    """The app as the dashboard on 127.0.0.1 reaches it (a daemon without a token answers only to loopback names)."""
    settings = Settings(sources=("simulated:speed=20,seed=3",), **kw)  # type: ignore[arg-type]
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


def test_the_live_socket_says_hello_then_streams_traces_and_an_ltr() -> None:
    with client() as c, c.websocket_connect(LIVE) as ws:
        hello = ws.receive_json()
        assert hello["kind"] == "hello" and hello["devices"][0]["id"] == "sim-1"
        seen: dict[str, dict[str, object]] = {}
        for _ in range(3000):
            for msg in frame_messages(ws.receive_text()):
                seen.setdefault(msg["kind"], msg)
            if "ltr" in seen and "trace" in seen:
                break
        ltr, trace = seen["ltr"], seen["trace"]
        assert ltr["force_n"] > 2.0 and ltr["decided_s"] > ltr["onset_s"] and ltr["id"] >= 1
        assert len(trace["emg_min_v"]) == len(trace["force_n"]) > 0  # type: ignore[arg-type]
        events = c.get("/api/events", params={"since": 0}).json()
        assert any(e["kind"] == "ltr" for e in events["events"])
        later = c.get("/api/events", params={"since": events["last_id"]}).json()
        assert all(e["id"] > events["last_id"] for e in later["events"])


def test_health_devices_and_the_dashboard_page() -> None:
    with client() as c:
        assert c.get("/api/health").json()["status"] == "ok"
        assert c.get("/api/devices").json()[0]["source"].startswith("simulated")
        page = c.get("/")
        assert page.status_code == 200 and "<html" in page.text.lower()


@pytest.mark.parametrize("query", ["since=-1", "since=abc", "limit=0", "limit=999999", "kind=bogus"])
def test_bad_queries_are_refused_not_crashed_on(query: str) -> None:
    with client() as c:
        assert c.get(f"/api/events?{query}").status_code == 422


def test_an_address_beyond_loopback_gets_a_token_and_demands_it() -> None:
    settings = resolve("0.0.0.0", 0, ["simulated"], None)
    assert settings.token and len(settings.token) >= 20
    with TestClient(create_app(settings)) as c:
        assert c.get("/api/health").status_code == 401
        assert c.get("/api/health", params={"token": settings.token}).status_code == 200
        assert c.get("/api/health", headers={"Authorization": f"Bearer {settings.token}"}).status_code == 200
        assert c.get("/app.js").status_code == 200  # the page's own files load without it
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws/live") as ws:
            ws.receive_json()
        with c.websocket_connect(f"/ws/live?token={settings.token}") as ws:
            assert ws.receive_json()["kind"] == "hello"


def test_loopback_needs_no_token() -> None:
    assert resolve(None, None, None, None).token is None


def test_the_detector_settings_can_be_read_changed_and_reset() -> None:
    with client() as c:
        got = c.get("/api/detector").json()
        assert got["values"]["press_on_n"] == 2.0
        assert all(p["reason"] for p in got["parameters"])
        changed = c.put("/api/detector", json={"press_on_n": 4.0, "press_off_n": 2.0}).json()
        assert changed["values"]["press_on_n"] == 4.0
        assert c.get("/api/devices").json()[0]["press_threshold_n"] == 4.0
        assert c.put("/api/detector", json={"press_on_n": 1000}).status_code == 422
        assert c.put("/api/detector", json={"nonsense": 1}).status_code == 422
        assert c.put("/api/detector", json={"press_on_n": "strong"}).status_code == 422
        assert c.delete("/api/detector").json()["values"]["press_on_n"] == 2.0


def test_a_second_sensor_is_connected_and_disconnected_while_running() -> None:
    with client() as c:
        made = c.post("/api/devices", json={"source": "simulated:seed=9,speed=20"})
        assert made.status_code == 201 and made.json()["id"] == "sim-2"
        assert [d["id"] for d in c.get("/api/devices").json()] == ["sim-1", "sim-2"]
        assert c.post("/api/devices", json={"source": "simulated:seed=9,speed=20"}).status_code == 409
        assert c.delete("/api/devices/sim-2").json() == {"removed": "sim-2"}
        assert [d["id"] for d in c.get("/api/devices").json()] == ["sim-1"]
        assert c.delete("/api/devices/sim-2").status_code == 404


@pytest.mark.parametrize("source", ["serial:/etc/passwd", "serial:../../dev/sda", "replay:../x.db", "ble:",
                                    "simulated:seed=$(rm)", "file:/tmp/x", "serial:/dev/ttyUSB0@fast"])
def test_a_client_cannot_make_the_daemon_open_an_arbitrary_path(source: str) -> None:
    with client() as c:
        answer = c.post("/api/devices", json={"source": source})
        assert answer.status_code == 422, answer.text
        assert len(c.get("/api/devices").json()) == 1


def test_the_serial_ports_list_answers_even_with_no_adapters() -> None:
    with client() as c:
        assert isinstance(c.get("/api/ports").json()["serial"], list)


def test_another_web_page_in_the_same_browser_cannot_read_the_live_stream_or_change_anything() -> None:
    with client() as c:
        evil = {"origin": "https://evil.example"}
        with pytest.raises(WebSocketDisconnect) as refused, c.websocket_connect(LIVE, headers=evil) as ws:
            ws.receive_json()
        assert refused.value.code == 1008 and "other web pages" in refused.value.reason
        assert c.post("/api/recording/start", json={}, headers=evil).status_code == 403
        assert c.delete("/api/detector", headers=evil).status_code == 403
        assert "access-control-allow-origin" not in c.get("/api/health", headers=evil).headers
        own = {"origin": "http://127.0.0.1"}  # the dashboard itself
        with c.websocket_connect(LIVE, headers=own) as ws:
            assert ws.receive_json()["kind"] == "hello"
        assert c.delete("/api/detector", headers=own).status_code == 200


def test_cors_is_closed_a_foreign_origin_gets_no_access_control_header() -> None:
    """No CORS middleware: a foreign page's preflight, GET or POST is never told it may read the answer."""
    from starlette.middleware.cors import CORSMiddleware

    app = create_app(Settings(sources=("simulated:seed=3",)))
    assert not any(m.cls is CORSMiddleware for m in app.user_middleware)
    with TestClient(app, base_url="http://127.0.0.1") as c:
        evil = {"origin": "https://evil.example"}
        preflight = c.options("/api/sessions", headers={**evil, "access-control-request-method": "DELETE",
                                                         "access-control-request-headers": "authorization"})
        answers = [preflight, c.get("/api/health", headers=evil), c.get("/", headers=evil),
                   c.post("/api/recording/stop", headers=evil), c.options("/api/detector", headers=evil)]
        for answer in answers:
            assert not [h for h in answer.headers if h.lower().startswith("access-control-")], answer.headers
        assert preflight.status_code == 405 and "GET" in preflight.headers["allow"]


def test_a_wrong_method_or_path_under_api_is_a_json_refusal_not_a_static_file() -> None:
    with client() as c:
        wrong = c.patch("/api/detector", json={})
        assert wrong.status_code == 405 and set(wrong.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
        assert c.get("/api/recording/stop").status_code == 405
        assert c.get("/api/nonsense").json() == {"detail": "Not Found"}


@pytest.mark.parametrize(("body", "where"), [
    (b'{"seconds": NaN}', "seconds"), (b'{"seconds": Infinity}', "seconds"), (b'{"seconds": true}', "seconds"),
    (b'{"seconds": "3"}', "seconds"), (b'{"seconds": 3, "radio": "x"}', "radio")])
def test_non_finite_or_loose_numbers_in_a_body_are_a_clear_422(body: bytes, where: str) -> None:
    """Python's JSON parser takes NaN and Infinity; the 422 quoting them must still be JSON."""
    with client() as c:
        answer = c.post("/api/ble/scan", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["body", where]


@pytest.mark.parametrize("body", [{"press_on_n": float("nan")}, {"press_on_n": float("inf")}, {"press_on_n": "4"},
                                  {"press_on_n": True}, {"press_on_n": None}, {"mains_hz": 55},
                                  {"press_on_n": 3, "press_off_n": 4}])
def test_detector_settings_are_finite_numbers_in_range_and_consistent(body: dict[str, object]) -> None:
    import json

    with client() as c:
        answer = c.put("/api/detector", content=json.dumps(body).encode(), headers={"content-type": "application/json"})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["msg"]
        assert c.get("/api/detector").json()["values"]["press_on_n"] == 2.0  # unchanged


@pytest.mark.parametrize("path", ["/api/sessions/9223372036854775808", "/api/sessions/0/trace",
                                  "/api/sessions/99999999999999999999/export", "/api/events?since=9223372036854775808",
                                  "/api/events?" + "&".join(["kind=ltr"] * (len(KINDS) + 1)),
                                  "/api/sessions/1/trace?start_s=nan", "/api/sessions/1/trace?seconds=inf"])
def test_ids_and_numbers_beyond_what_the_store_holds_are_refused(path: str) -> None:
    with client() as c:
        assert c.get(path).status_code == 422


@pytest.mark.parametrize("source", ["simulated:seed=-1", "simulated:mains=inf", "simulated:mains=55",
                                    "simulated:seed=99999999999", "replay:99999999999999999999", "replay:9223372036854775808",
                                    "ble:" + "x" * 70])
def test_sources_a_client_names_are_checked_before_anything_is_built(source: str) -> None:
    with client() as c:
        answer = c.post("/api/devices", json={"source": source})
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["body", "source"]


@pytest.mark.parametrize(("path", "body"), [
    ("/api/recording/start", b'{"patient": "P-\\ud800"}'), ("/api/recording/notes", b'{"notes": "\\udfff"}'),
    ("/api/recording/marker", b'{"label": "\\ude00\\ud83d"}'), ("/api/devices", b'{"source": "simulated:\\ud800"}'),
    ("/api/ble/scan", b'{"\\ud800": 1}')])
def test_a_body_whose_strings_are_not_unicode_text_is_a_400_not_a_crash(path: str, body: bytes) -> None:
    """JSON can spell half a surrogate pair (no UTF-8 can store it, nor echo it in an error)."""
    with client() as c:
        answer = c.post(path, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400 and "Unicode" in answer.json()["detail"]
        assert c.get("/api/recording").json()["state"] == "idle"


def test_a_whole_surrogate_pair_is_just_a_character(tmp_path: Path) -> None:
    settings = Settings(sources=("simulated:seed=3",))
    with TestClient(create_app(settings, Daemon(settings, data_dir=tmp_path)), base_url="http://127.0.0.1") as c:
        started = c.post("/api/recording/start", content=b'{"patient": "P-\\ud83d\\ude00"}',
                         headers={"content-type": "application/json"})
        assert started.status_code == 200, started.text
        c.post("/api/recording/stop")
        assert c.get("/api/sessions").json()[-1]["patient"] == "P-\U0001F600"


def test_a_huge_body_a_chunked_body_and_a_short_token_are_refused() -> None:
    """A client cannot make the daemon buffer megabytes, and a hand-made token
    cannot be a guessable word."""
    settings = Settings(sources=("simulated:seed=3",))
    with TestClient(create_app(settings, Daemon(settings)), base_url="http://127.0.0.1") as c:
        big = c.post("/api/recording/notes", content=b'{"notes": "' + b"x" * 70_000 + b'"}',
                     headers={"content-type": "application/json"})
        assert big.status_code == 413
        chunked = c.post("/api/recording/notes", content=iter([b'{"notes": "a"}']),
                         headers={"content-type": "application/json"})
        assert chunked.status_code == 411
    with pytest.raises(ConfigError, match="at least 16"):
        resolve("0.0.0.0", None, None, "secret")


def test_a_client_cannot_connect_more_devices_than_one_daemon_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "MAX_DEVICES", 2)
    settings = Settings(sources=("simulated:seed=3",))
    with TestClient(create_app(settings, Daemon(settings)), base_url="http://127.0.0.1") as c:
        assert c.post("/api/devices", json={"source": "simulated:seed=4"}).status_code == 201
        refused = c.post("/api/devices", json={"source": "simulated:seed=5"})
        assert refused.status_code == 409 and "2 devices" in refused.json()["detail"]
