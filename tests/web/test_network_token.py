"""``twitchd run --host 0.0.0.0``: reachable from the network, so never without a token.

The daemon generates one, prints it once (in the dashboard URL), and refuses
the API and the live WebSocket without it. The page's own files load without
it: they are not secret, and the page passes ``?token=`` on to every call.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.served import token_in, twitchd_run

pytestmark = pytest.mark.slow


def test_an_open_address_gets_a_printed_token_that_http_and_the_live_socket_demand(tmp_path: Path) -> None:
    with twitchd_run(tmp_path, "--host", "0.0.0.0") as d:
        token = token_in(d.url)
        assert len(token) >= 20 and d.url == f"http://127.0.0.1:{d.port}/?token={token}"
        assert "reachable from the network, token required" in d.output()
        # Over HTTP: 401 without it, or with a wrong one; the query parameter or a Bearer header with it.
        assert d.get("/api/health")[0] == 401
        assert d.get("/api/sessions?token=" + "x" * len(token))[0] == 401
        assert d.get("/api/health", headers={"Authorization": f"Bearer {token[:-1]}"})[0] == 401
        assert d.get(f"/api/health?token={token}")[0] == 200
        assert d.get("/api/devices", headers={"Authorization": f"Bearer {token}"})[0] == 200
        assert d.get("/")[0] == 200  # the dashboard page itself
        # The live socket: refused without it (closed before accepting), open with it.
        assert d.live() == 403
        assert d.live("/ws/live?token=wrong") == 403
        assert d.live(f"/ws/live?token={token}")["kind"] == "hello"
        assert d.live(headers={"Authorization": f"Bearer {token}"})["kind"] == "hello"
        # Any Host will do once the token guards the data (a LAN address, a host name).
        assert d.get(f"/api/health?token={token}", host=f"192.168.1.20:{d.port}")[0] == 200
    assert d.output().count(token) == 1, d.output()  # printed once, in the URL


def test_a_token_given_for_an_open_address_is_used_and_not_printed_elsewhere(tmp_path: Path) -> None:
    token = "a-token-the-practice-chose-42"
    with twitchd_run(tmp_path, "--host", "0.0.0.0", "--token", token) as d:
        assert token_in(d.url) == token
        assert d.get("/api/health")[0] == 401 and d.get(f"/api/health?token={token}")[0] == 200
    assert d.output().count(token) == 1
