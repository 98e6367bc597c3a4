"""Recording from the page: start with the session details, mark a moment with
the space bar, stop with R, find the session in the list, open it, download it;
and a disk that fills up mid-recording is shown as a banner while the live
view goes on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Twitchd, new_page, tid
from tests.conftest import small_filesystem

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twitchd]:
    d = Twitchd(tmp_path_factory.mktemp("rec"), ["simulated:speed=3"]).start()
    yield d
    d.stop()


def test_a_recording_started_from_the_page_appears_in_the_session_list_and_opens(
        browser: Any, daemon: Twitchd, tmp_path: Path) -> None:
    errors: list[str] = []
    page = new_page(browser, daemon.url, errors, accept_downloads=True)
    expect(tid(page, "link-status")).to_have_text("connected")
    tid(page, "record-button").click()
    dialog = tid(page, "record-dialog")
    dialog.locator("input[name=patient]").fill("P-77")
    dialog.locator("input[name=muscle]").fill("upper trapezius")
    dialog.locator("select[name=side]").select_option("left")
    dialog.locator("input[name=technique]").fill("compression")
    tid(page, "record-start").click()
    expect(tid(page, "recording-status")).to_contain_text(re.compile(r"REC 00:0\d · session 1"))
    expect(tid(page, "record-button")).to_have_text("■ Stop")
    page.wait_for_timeout(1500)
    page.locator("body").press(" ")  # a marker
    expect(tid(page, "toast")).to_contain_text("Marker 1 at")
    page.wait_for_timeout(2500)
    page.locator("body").press("r")  # stop
    expect(tid(page, "record-button")).to_have_text("● Record")
    expect(tid(page, "toast")).to_contain_text("Session 1 saved")

    page.locator("body").press("s")
    item = tid(page, "session-list").locator('li[data-session-id="1"]')
    expect(item).to_contain_text("P-77 · upper trapezius left · compression")
    expect(item).to_contain_text("1 marker")
    with page.expect_response(re.compile(r"/api/sessions/1/trace\?")) as trace:
        item.locator('[data-testid="session-open"]').click()
    body = trace.value.json()
    assert trace.value.status == 200 and body["device"] == "sim-1"
    assert sum(v is not None for v in body["emg_max_v"]) > 0.9 * len(body["emg_max_v"]) > 500
    view = tid(page, "session-view")
    expect(view).to_be_visible()
    expect(view.locator(".title")).to_contain_text("Session #1 · P-77")
    with page.expect_download() as dl:
        tid(page, "download-edf").click()
    edf = tmp_path / "s.edf"
    dl.value.save_as(edf)
    assert dl.value.suggested_filename == "session-1.edf" and edf.read_bytes()[:8] == b"0       "
    with page.expect_download() as dl:
        tid(page, "download-csv").click()
    assert dl.value.suggested_filename == "session-1.csv"
    # Replay: the session comes back as a live device with its own lane.
    tid(page, "session-replay").click()
    expect(view).to_be_hidden()
    replayed = page.locator('[data-testid=lane][data-device^="rep-"]')
    expect(replayed.locator(".lane-state")).to_contain_text("streaming", timeout=15_000)
    page.context.close()
    assert not errors, errors


def test_the_record_form_remembers_the_patient_and_the_daemon_refuses_bad_details(browser: Any, daemon: Twitchd) -> None:
    page = new_page(browser, daemon.url)
    tid(page, "record-button").click()
    dialog = tid(page, "record-dialog")
    dialog.locator("input[name=patient]").fill("P-\u0007bell")  # a control character: refused by the daemon
    tid(page, "record-start").click()
    expect(dialog.locator(".error")).to_contain_text("patient")
    expect(dialog).to_be_visible()
    dialog.locator("input[name=patient]").fill("P-78")
    tid(page, "record-start").click()
    expect(tid(page, "record-button")).to_have_text("■ Stop")
    tid(page, "record-button").click()
    expect(tid(page, "record-button")).to_have_text("● Record")
    tid(page, "record-button").click()
    assert dialog.locator("input[name=patient]").input_value() == "P-78"
    page.context.close()


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Path]:
    with small_filesystem(tmp_path / "tiny", "600k") as where:
        yield where


def test_a_full_disk_is_a_banner_and_the_live_view_goes_on(browser: Any, tmp_path: Path, tiny_fs: Path) -> None:
    d = Twitchd(tmp_path, ["simulated:speed=20"], data_dir=tiny_fs / "data").start()
    try:
        page = new_page(browser, d.url)
        expect(tid(page, "link-status")).to_have_text("connected")
        tid(page, "record-button").click()
        tid(page, "record-start").click()
        banner = tid(page, "recording-banner")
        expect(banner).to_contain_text("full", timeout=60_000)
        expect(banner).to_contain_text("The live view goes on")
        expect(tid(page, "record-button")).to_have_text("● Record")
        # Still live: samples keep coming and the traces are not veiled.
        before = page.evaluate("window.twitchd.devices.get('sim-1').samples")
        page.wait_for_function(f"window.twitchd.devices.get('sim-1').samples > {before}")
        assert "not-live" not in (page.locator("body").get_attribute("class") or "")
        banner.locator(".dismiss").click()
        expect(banner).to_be_hidden()
        page.context.close()
    finally:
        d.stop()
