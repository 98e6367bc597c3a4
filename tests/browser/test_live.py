"""The practitioner's live view in Chromium, against a real daemon on the
simulated patient (3x real time, so the first LTR comes within seconds).

The daemon demands a token, as it does when it listens beyond loopback: every
test here works only if the page passes ``?token=`` on to every call.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Twitchd, new_page, tid
from tests.conftest import ROOT
from twitchd.hub import frame_messages

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token-123"
SCREENSHOT = ROOT / "docs" / "screenshot.png"


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twitchd]:
    d = Twitchd(tmp_path_factory.mktemp("live"), ["simulated:speed=3"], token=TOKEN).start()
    yield d
    d.stop()


@pytest.fixture
def page(browser: Any, daemon: Twitchd) -> Iterator[Any]:
    errors: list[str] = []
    p = new_page(browser, daemon.url, errors)
    yield p
    p.context.close()
    assert not errors, errors


def ltr_count(page: Any) -> int:
    return int(tid(page, "ltr-count").inner_text())


def test_an_ltr_shows_in_the_counter_the_event_list_and_its_lane_and_every_call_carries_the_token(
        browser: Any, daemon: Twitchd) -> None:
    requests: list[str] = []
    sockets: list[str] = []
    ctx = browser.new_context(viewport={"width": 1400, "height": 860})
    ctx.on("request", lambda r: requests.append(r.url))
    page = ctx.new_page()
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(daemon.url)
    page.wait_for_function("Number(document.querySelector('[data-testid=ltr-count]').textContent) >= 1", timeout=30_000)
    row = tid(page, "event-list").locator('tr[data-kind="ltr"]').first
    assert "LTR" in row.inner_text()
    assert re.fullmatch(r"LTR [1-9]\d*", tid(page, "lane-ltr").inner_text())
    assert re.fullmatch(r"\d+\.\d N", tid(page, "force-n").inner_text())
    assert "streaming" in tid(page, "device-status").inner_text()
    assert "connected" in tid(page, "link-status").inner_text()
    api = [u for u in requests if "/api/" in u]
    assert api and all(f"token={TOKEN}" in u for u in api), api
    assert sockets and all(u.endswith(f"/ws/live?token={TOKEN}") for u in sockets), sockets
    ctx.close()


def test_the_live_view_screenshot_for_the_readme(page: Any) -> None:
    """docs/screenshot.png is this page as a practitioner sees it: a press with LTRs flagged."""
    form = tid(page, "target-form")
    form.locator("input[name=lo]").fill("8")
    form.locator("input[name=hi]").fill("16")
    form.locator("button[type=submit]").click()
    # Wait until the 10 s window is full, a press is on and at least two LTRs of it are on screen.
    page.wait_for_function("[...window.twitchd.bufs.values()].some((b) => b.endT - b.startT > 10.5)"
                           " && Number(document.querySelector('[data-testid=press-ltr-count]').textContent) >= 2"
                           " && document.body.classList.contains('pressing')", timeout=60_000)
    page.wait_for_timeout(400)
    assert re.search(r"(in|below|above) target.*8–16 N", tid(page, "target-note").inner_text())
    assert "not-live" not in (page.locator("body").get_attribute("class") or "")
    page.screenshot(path=str(SCREENSHOT))
    head = SCREENSHOT.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1400, 860)


def test_picking_an_event_holds_its_lane_there_until_back_to_live(page: Any) -> None:
    # An LTR that happened while the page was open, so its trace is on hand.
    expect(tid(page, "link-status")).to_have_text("connected")
    page.wait_for_timeout(1000)  # the backfill of older events is done by now
    before = ltr_count(page)
    page.wait_for_function(f"Number(document.querySelector('[data-testid=ltr-count]').textContent) > {before}",
                           timeout=30_000)
    row = tid(page, "event-list").locator('tr[data-kind="ltr"]').first
    row.click()
    lane = tid(page, "lane").first
    expect(lane).to_have_class(re.compile(r"\bpaused\b"))
    expect(row).to_have_class(re.compile(r"\bpicked\b"))
    expect(lane.locator(".lane-live")).to_be_visible()
    page.keyboard.press("l")
    expect(lane).not_to_have_class(re.compile(r"\bpaused\b"))
    expect(lane.locator(".lane-live")).to_be_hidden()


def test_the_force_target_band_is_kept_in_this_browser(browser: Any, daemon: Twitchd) -> None:
    page = new_page(browser, daemon.url)
    form = tid(page, "target-form")
    form.locator("input[name=lo]").fill("4")
    form.locator("input[name=hi]").fill("9.5")
    form.locator("button[type=submit]").click()
    page.wait_for_function("document.querySelector('[data-testid=force-n]').textContent !== '– N'")
    note = tid(page, "target-note")
    assert re.search(r"(in|below|above) target.*4–9\.5 N", note.inner_text()), note.inner_text()
    page.reload()
    assert form.locator("input[name=lo]").input_value() == "4"
    assert form.locator("input[name=hi]").input_value() == "9.5"
    form.locator("input[name=lo]").fill("9")
    form.locator("input[name=hi]").fill("3")  # upside down: refused, the band stays
    form.locator("button[type=submit]").click()
    expect(tid(page, "toast")).to_contain_text("Target: give a range")
    assert json.loads(page.evaluate("localStorage.getItem('twitchd.target')")) == {"lo": 4, "hi": 9.5}
    page.context.close()


def test_sound_is_off_by_default_and_m_turns_it_on_for_the_next_ltr(page: Any) -> None:
    button = tid(page, "sound-button")
    assert button.get_attribute("aria-pressed") == "false"
    page.wait_for_function("Number(document.querySelector('[data-testid=ltr-count]').textContent) >= 1", timeout=30_000)
    assert page.evaluate("window.twitchd.sound.played.ltr") == 0
    page.locator("body").press("m")
    expect(button).to_have_attribute("aria-pressed", "true")
    start = page.evaluate("window.twitchd.sound.played.ltr")
    page.wait_for_function(f"window.twitchd.sound.played.ltr > {start}", timeout=30_000)
    assert page.evaluate("window.twitchd.sound.ctx.state") == "running"
    assert json.loads(page.evaluate("localStorage.getItem('twitchd.sound')"))["on"] is True
    page.locator("body").press("m")
    expect(button).to_have_attribute("aria-pressed", "false")


def test_device_warnings_in_status_messages_are_shown_in_words_and_cleared(browser: Any, daemon: Twitchd) -> None:
    """Status messages pass through a proxy that adds warnings to sim-1's status until told to stop."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 860})
    page = ctx.new_page()
    warn = {"on": True}
    warnings = [{"code": "force_saturated", "message": "the force sensor is at its limit: press less or use a larger sensor"},
                {"code": "electrode_dry", "message": "a code this page has never heard of"}]

    def proxy(ws: Any) -> None:
        server = ws.connect_to_server()

        def to_page(message: str | bytes) -> None:
            msgs = frame_messages(message)
            for msg in msgs:
                if msg.get("kind") == "status" and warn["on"]:
                    msg["warnings"] = warnings
            ws.send(json.dumps(msgs))

        server.on_message(to_page)
        ws.on_message(lambda m: server.send(m))

    page.route_web_socket(re.compile(r".*/ws/live.*"), proxy)
    page.goto(daemon.url)
    banner = tid(page, "device-warnings")
    banner.locator('[data-code="force_saturated"]').wait_for(timeout=15_000)
    text = banner.inner_text()
    assert "Force sensor saturated" in text and "press less or use a larger sensor" in text
    assert "electrode_dry" in text and "never heard of" in text  # unknown codes are shown, not dropped
    assert "⚠" in text
    lane = tid(page, "lane").first
    expect(lane).to_have_class(re.compile(r"\bwarned\b"))
    expect(lane.locator(".lane-warn")).to_contain_text("force saturated")
    warn["on"] = False
    banner.wait_for(state="hidden", timeout=5_000)
    expect(lane).not_to_have_class(re.compile(r"\bwarned\b"))
    ctx.close()


def test_the_help_lists_the_keyboard_shortcuts(page: Any) -> None:
    page.locator("body").press("?")
    help_ = tid(page, "help")
    assert help_.is_visible()
    text = help_.inner_text()
    for key, what in [("Space", "marker"), ("R", "record"), ("M", "sound"), ("Esc", "live")]:
        assert re.search(rf"{key}\s.*{what}", text), (key, text)
    page.keyboard.press("Escape")
    assert not help_.is_visible()


def test_detector_settings_show_their_reasons_change_and_reset(page: Any, daemon: Twitchd) -> None:
    page.locator("body").press("k")
    panel = tid(page, "detector-panel")
    row = panel.locator('.param[data-name="press_on_n"]')
    row.wait_for()
    assert "default 2" in row.inner_text()
    assert row.locator(".why p").text_content()
    row.locator("input").fill("1000")
    tid(page, "detector-apply").click()
    expect(tid(page, "detector-error")).to_contain_text("press_on_n")  # the daemon's own range check, shown
    row.locator("input").fill("3")
    tid(page, "detector-apply").click()
    page.wait_for_function("document.querySelector('[data-testid=force-note]').textContent.includes('3 N')")
    assert daemon.api("/api/detector")["values"]["press_on_n"] == 3.0
    expect(row).to_contain_text("changed")
    tid(page, "detector-reset").click()
    page.wait_for_function("document.querySelector('[data-testid=force-note]').textContent.includes('2 N')")
    assert daemon.api("/api/detector")["values"]["press_on_n"] == 2.0


def test_a_second_sensor_from_the_device_panel_gets_its_own_lane_and_goes_when_disconnected(page: Any) -> None:
    page.locator("body").press("d")
    panel = tid(page, "device-panel")
    page.wait_for_function("document.querySelector('[data-testid=ble-note]').textContent.length > 0")
    ble = tid(page, "ble-note").inner_text()
    ports = tid(page, "serial-ports").inner_text()
    assert ports and "…" not in ports
    panel.locator("input[name=seed]").fill("5")
    tid(page, "connect-simulated").click()
    lanes = tid(page, "lane")
    page.wait_for_function("document.querySelectorAll('[data-testid=lane]').length === 2")
    second = page.locator('[data-testid=lane][data-device="sim-2"]')
    second.locator(".lane-state").filter(has_text="streaming").wait_for(timeout=15_000)
    row = tid(page, "connected-devices").locator('tr[data-device="sim-2"]')
    assert "simulated:seed=5" in row.inner_text() and "2,000 Hz" in row.inner_text()
    # The same source twice is refused, and the daemon's reason is shown.
    tid(page, "connect-simulated").click()
    expect(tid(page, "device-error")).to_contain_text("already connected")
    row.locator('[data-testid="disconnect"]').click()
    page.wait_for_function("document.querySelectorAll('[data-testid=lane]').length === 1")
    assert lanes.first.get_attribute("data-device") == "sim-1"
    assert "BLE" in ble or "sensor" in ble.lower()


def test_lsl_output_is_switched_on_and_off_from_the_device_panel(page: Any, daemon: Twitchd) -> None:
    page.locator("body").press("d")
    toggle = tid(page, "lsl-toggle")
    expect(tid(page, "lsl-note")).to_have_text("off", timeout=10_000)
    toggle.check()
    expect(tid(page, "lsl-note")).to_contain_text("on:", timeout=15_000)
    expect(toggle).to_be_checked()
    toggle.uncheck()
    expect(tid(page, "lsl-note")).to_have_text("off", timeout=15_000)
