"""The API as the dashboard uses it, in-process."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from twitchd.api import create_app
from twitchd.settings import Settings, resolve


def client(**kw: object) -> TestClient:
    settings = Settings(sources=("simulated:speed=20,seed=3",), **kw)  # type: ignore[arg-type]
    return TestClient(create_app(settings))


def test_the_live_socket_says_hello_then_streams_traces_and_an_ltr() -> None:
    with client() as c, c.websocket_connect("/ws/live") as ws:
        hello = ws.receive_json()
        assert hello["kind"] == "hello" and hello["devices"][0]["id"] == "sim-1"
        seen: dict[str, dict[str, object]] = {}
        for _ in range(3000):
            msg = ws.receive_json()
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
        with pytest.raises(WebSocketDisconnect), c.websocket_connect("/ws/live", headers=evil) as ws:
            ws.receive_json()
        assert c.post("/api/recording/start", json={}, headers=evil).status_code == 403
        assert c.delete("/api/detector", headers=evil).status_code == 403
        assert "access-control-allow-origin" not in c.get("/api/health", headers=evil).headers
        own = {"origin": "http://testserver"}  # the dashboard itself
        with c.websocket_connect("/ws/live", headers=own) as ws:
            assert ws.receive_json()["kind"] == "hello"
        assert c.delete("/api/detector", headers=own).status_code == 200
