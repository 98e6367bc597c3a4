"""DNS rebinding: a page on evil.example re-points its own name at 127.0.0.1.

Its requests then reach a daemon on loopback as same-origin requests (no
foreign Origin to refuse); only the Host header still says evil.example. A
daemon without a token answers only to loopback names and to names the user
allows with ``--allow-host``; with a token, the token guards the data.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.web.served import twitchd_run
from twitchd.api import create_app
from twitchd.cli import main
from twitchd.errors import ConfigError
from twitchd.origins import host_allowed, host_name
from twitchd.settings import Settings, resolve

REBOUND = "evil.example:8000"


def client(**kw: object) -> TestClient:
    return TestClient(create_app(Settings(sources=("simulated:seed=3",), **kw)))  # type: ignore[arg-type]


@pytest.mark.parametrize("host", ["localhost", "localhost:8765", "LOCALHOST.:80", "127.0.0.1", "127.0.0.1:8765",
                                  "127.8.9.10:1", "[::1]", "[::1]:8765", "[0:0::1]:8765"])
def test_loopback_names_are_answered(host: str) -> None:
    assert host_allowed(host)


@pytest.mark.parametrize("host", [REBOUND, "evil.example", "localhost.evil.example", "127.0.0.1.evil.example",
                                  "192.168.1.20:8765", "[::2]:8765", "0.0.0.0:8765", "127.1", "localhost:", "localhost:x",
                                  "[::1", "[::1]x", "127.0.0.1:80@evil.example", "", " ", "localhost/evil"])
def test_other_names_and_malformed_hosts_are_refused(host: str) -> None:
    assert not host_allowed(host)


def test_allowed_names_are_answered_with_any_port() -> None:
    assert host_allowed("twitchd.lan:8765", ["twitchd.lan"]) and host_allowed("TWITCHD.LAN", ["twitchd.lan"])
    assert not host_allowed("evil.twitchd.lan:8765", ["twitchd.lan"])
    assert host_name("[0:0::1]:1") == "::1"


def test_a_rebound_page_gets_421_over_http_and_a_closed_socket_on_the_live_stream() -> None:
    with client() as c:
        for method, path in [("GET", "/api/health"), ("GET", "/api/events"), ("GET", "/"), ("GET", "/app.js"),
                             ("POST", "/api/recording/start"), ("DELETE", "/api/detector"), ("GET", "/openapi.json")]:
            answer = c.request(method, f"http://{REBOUND}{path}", json={} if method == "POST" else None)
            assert answer.status_code == 421, (method, path, answer.text)
            assert "--allow-host" in answer.json()["detail"] and "evil.example" in answer.json()["detail"]
        with pytest.raises(WebSocketDisconnect) as refused, c.websocket_connect(f"ws://{REBOUND}/ws/live") as ws:
            ws.receive_json()
        assert refused.value.code == 1008 and "Host" in refused.value.reason
        # The same daemon under its own names:
        for host in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765"):
            assert c.get(f"http://{host}/api/health").status_code == 200
            with c.websocket_connect(f"ws://{host}/ws/live") as ws:
                assert ws.receive_json()["kind"] == "hello"


def test_names_the_user_allows_are_answered_and_others_still_refused() -> None:
    with client(allowed_hosts=("twitchd.lan",)) as c:
        assert c.get("http://twitchd.lan:8765/api/health").status_code == 200
        with c.websocket_connect("ws://twitchd.lan:8765/ws/live") as ws:
            assert ws.receive_json()["kind"] == "hello"
        assert c.get(f"http://{REBOUND}/api/health").status_code == 421


def test_with_a_token_any_host_is_answered_and_the_token_guards_the_data() -> None:
    with client(token="t" * 24) as c:
        assert c.get(f"http://{REBOUND}/api/health").status_code == 401
        assert c.get(f"http://{REBOUND}/api/health", params={"token": "t" * 24}).status_code == 200
        with pytest.raises(WebSocketDisconnect), c.websocket_connect(f"ws://{REBOUND}/ws/live") as ws:
            ws.receive_json()
        with c.websocket_connect(f"ws://{REBOUND}/ws/live?token={'t' * 24}") as ws:
            assert ws.receive_json()["kind"] == "hello"


def test_allow_host_takes_host_names_and_addresses_only(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve(None, None, None, None, ["Twitchd.LAN.", "[::1]", "192.168.1.20"]).allowed_hosts == (
        "twitchd.lan", "::1", "192.168.1.20")
    for bad in ["evil.example:8000", "http://evil.example", "*", "*.example", "a b", "-x.example", "x" * 300]:
        with pytest.raises(ConfigError, match="--allow-host"):
            resolve(None, None, None, None, [bad])
    monkeypatch.setenv("TWITCHD_ALLOW_HOST", "a.example, b.example")
    assert resolve(None, None, None, None).allowed_hosts == ("a.example", "b.example")
    assert resolve(None, None, None, None, ["c.example"]).allowed_hosts == ("c.example",)  # the flag wins


def test_a_bad_allow_host_stops_twitchd_run_before_it_listens(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--port", "0", "--allow-host", "evil.example:8000"]) == 2
    assert "--allow-host takes a host name" in capsys.readouterr().err


@pytest.mark.slow
def test_twitchd_run_refuses_rebound_requests_on_its_socket_unless_the_name_is_allowed(tmp_path: Path) -> None:
    with twitchd_run(tmp_path, "--allow-host", "twitchd.test") as d:
        assert d.url == f"http://127.0.0.1:{d.port}/"
        status, body = d.get("/api/health", host=REBOUND)
        assert status == 421 and "DNS rebinding" in body["detail"]
        assert d.live(host=REBOUND) == 403  # a WebSocket closed before it is accepted: the handshake is refused
        assert d.get("/api/health")[0] == 200 and d.get("/api/health", host=f"localhost:{d.port}")[0] == 200
        assert d.live()["kind"] == "hello"
        assert d.get("/api/health", host=f"twitchd.test:{d.port}")[0] == 200
        assert d.live(host=f"twitchd.test:{d.port}")["kind"] == "hello"
    assert "answering to Host twitchd.test" in d.output()
