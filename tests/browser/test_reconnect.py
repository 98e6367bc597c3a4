"""The daemon dies (SIGKILL, as in a crash) and comes back on the same port:
the page says so at once, never shows the frozen traces as live, reconnects by
itself, and starts counting the new session's LTRs afresh."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Twitchd, new_page, tid

pytestmark = pytest.mark.browser


def test_the_page_recovers_after_the_daemon_is_killed_and_restarted(browser: Any, tmp_path: Path) -> None:
    d = Twitchd(tmp_path, ["simulated:speed=4"]).start()
    try:
        page = new_page(browser, d.url)
        link, body = tid(page, "link-status"), page.locator("body")
        expect(link).to_have_text("connected")
        page.wait_for_function("Number(document.querySelector('[data-testid=ltr-count]').textContent) >= 2",
                               timeout=40_000)
        force_before = tid(page, "force-n").inner_text()
        assert re.fullmatch(r"\d+\.\d N", force_before)

        d.kill()
        expect(link).to_have_text("reconnecting…", timeout=10_000)
        expect(body).to_have_class(re.compile(r"\bnot-live\b"))
        expect(tid(page, "force-n")).to_have_text("– N")       # no stale number posing as current
        expect(tid(page, "lane-state")).to_contain_text("last known: streaming")
        page.wait_for_timeout(2500)                              # a few failed retries with backoff
        expect(link).to_have_text("reconnecting…")

        d.start()
        expect(link).to_have_text("connected", timeout=20_000)
        expect(body).not_to_have_class(re.compile(r"\bnot-live\b"), timeout=10_000)
        expect(tid(page, "force-n")).to_have_text(re.compile(r"\d+\.\d N"))
        # The new daemon numbers its events from 1 again: the page drops the old count and
        # counts exactly the new daemon's LTRs (caught up over /api/events, then live).
        # Were the old events kept, the new ones with the same ids would be dropped as repeats.
        rows = tid(page, "event-list").locator("tr")
        deadline = time.monotonic() + 30
        while True:
            before = d.api("/api/events?since=0")["events"]
            shown, listed = int(tid(page, "ltr-count").inner_text()), rows.count()
            after = d.api("/api/events?since=0")["events"]
            ltrs = sum(e["kind"] == "ltr" for e in after)
            if before == after and ltrs >= 1 and shown == ltrs and listed == len(after):
                break
            assert time.monotonic() < deadline, (shown, ltrs, listed, len(after))
            page.wait_for_timeout(100)
        assert page.evaluate("window.twitchd.devices.size") == 1
        page.context.close()
    finally:
        d.stop()
