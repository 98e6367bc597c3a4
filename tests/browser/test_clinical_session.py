"""A clinical session from the page: sites picked on the body chart, LTRs counted per
site as they come, a pressure pain threshold series on a handheld algometer board,
then the printable report, whose numbers are the session store's, opened offline and
printed to PDF.

The story runs two simulated boards at twice real time: ``sim-1``, a patient whose
presses give LTRs (seed 2), and ``sim-2``, an algometer (sensor TW-PPT02, calibrated
first on the simulated weights rig) whose simulated patient presses the board's
button when the ramp (about 10 N/s) reaches about 25 N. During a PPT series that
button ends a trial; outside one it is a felt-LTR mark, as any board's button is.

A second test prints the report of a 30-minute session (tests/store/test_report.py's
simulated_session) and times the browser's print.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TWITCHD, Twitchd, new_page, tid
from tests.store.test_report import simulated_session
from twitchd.marks import Site

pytestmark = pytest.mark.browser

ALGOMETER = "TW-PPT02"
SOURCES = ["simulated:seed=2,speed=2", f"simulated:ppt=25,speed=2,id={ALGOMETER}"]
SITE_A = ("upper trapezius", "left")
SITE_B = ("infraspinatus", "right")
PDF_BUDGET_S = 5.0


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twitchd]:
    tmp = tmp_path_factory.mktemp("clinical")
    data = tmp / "data"
    # The algometer's force sensor in true newtons: without it the daemon refuses a PPT.
    cal = subprocess.run([str(TWITCHD), "calibrate", "--source", f"simulated:rig=1,speed=50,id={ALGOMETER}",
                          "--data-dir", str(data), "--json"], capture_output=True, text=True, timeout=120)
    assert cal.returncode == 0, cal.stderr
    assert json.loads(cal.stdout)["device_id"] == ALGOMETER
    d = Twitchd(tmp, SOURCES, data_dir=data).start()
    yield d
    d.stop()


def region(page: Any, site: tuple[str, str]) -> Any:
    return tid(page, "body-chart").locator(f'.region[data-muscle="{site[0]}"][data-side="{site[1]}"]')


def wait_ltrs(page: Any, label: str, at_least: int) -> None:
    """Until the body chart's list says the site has given ``at_least`` LTRs (the daemon's count)."""
    page.wait_for_function(
        "([label, n]) => Number(document.querySelector(`[data-testid=site-stats] li[data-site=\"${label}\"]"
        " [data-testid=site-ltrs]`)?.dataset.value) >= n", arg=[label, at_least], timeout=60_000)


def offline_pdf(browser: Any, html_file: Path) -> tuple[float, bytes, list[str]]:
    """The saved report in a context with no network: (seconds page.pdf took, the PDF, what went wrong)."""
    ctx = browser.new_context(offline=True)
    page = ctx.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else problems.append(f"request: {r.url}"))
    page.goto(html_file.as_uri())
    page.wait_for_load_state("load")
    t = time.perf_counter()
    pdf = page.pdf(format="A4", print_background=True)
    took = time.perf_counter() - t
    ctx.close()
    return took, pdf, problems


def report_tables(page: Any) -> dict[str, Any]:
    """What the report prints: the sites table's rows, and per site section its LTR captions and PPT rows."""
    return page.evaluate("""() => {
      const text = (el) => el.textContent.trim();
      const sites = {};
      for (const tr of document.querySelectorAll(".chart table tbody tr")) {
        const c = [...tr.cells].map(text);
        sites[c[0]] = c;
      }
      const sections = {};
      for (const s of document.querySelectorAll("section.site")) {
        const h = text(s.querySelector("h3"));
        sections[h.slice(0, h.indexOf(":"))] = {
          heading: h,
          ltrs: [...s.querySelectorAll(".traces figcaption")].map(text),
          ppt: [...s.querySelectorAll("table tbody tr")].map((tr) => [...tr.cells].map(text)),
        };
      }
      return { sites, sections };
    }""")


def test_sites_on_the_body_chart_ppt_on_an_algometer_and_a_report_that_is_the_stores(
        browser: Any, daemon: Twitchd, tmp_path: Path) -> None:
    errors: list[str] = []
    page = new_page(browser, daemon.url, errors)
    expect(tid(page, "link-status")).to_have_text("connected")
    tid(page, "record-button").click()
    tid(page, "record-dialog").locator("input[name=patient]").fill("P-31")
    tid(page, "record-start").click()
    expect(tid(page, "record-button")).to_have_text("■ Stop")
    session = daemon.api("/api/recording")["session_id"]

    # Site A, from the body chart (W): the header's site and the chart's highlight follow.
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("w")
    expect(tid(page, "body-panel")).to_be_visible()
    region(page, SITE_A).click()
    expect(tid(page, "site-current")).to_have_text("upper trapezius left")
    expect(region(page, SITE_A)).to_have_class(re.compile(r"\bcurrent\b"))
    assert daemon.api("/api/sites")["current"] == {"muscle": "upper trapezius", "side": "left", "point": ""}
    wait_ltrs(page, "upper trapezius left", 2)

    # Site B: A keeps its count on the chart, B becomes current.
    region(page, SITE_B).click()
    expect(tid(page, "site-current")).to_have_text("infraspinatus right")
    expect(region(page, SITE_B)).to_have_class(re.compile(r"\bcurrent\b"))
    expect(region(page, SITE_A)).not_to_have_class(re.compile(r"\bcurrent\b"))
    expect(region(page, SITE_A)).to_have_class(re.compile(r"\btreated\b|\bquieted\b"))
    wait_ltrs(page, "infraspinatus right", 2)
    page.keyboard.press("Escape")
    expect(tid(page, "body-panel")).to_be_hidden()

    # PPT on the first device with a force sensor (sim-1, uncalibrated): refused, and the page says why.
    expect(tid(page, "ppt-device").locator('option[value="sim-2"]')).to_have_count(1)
    page.keyboard.press("t")
    expect(tid(page, "ppt-error")).to_contain_text("twitchd calibrate")
    expect(tid(page, "ppt-panel")).to_be_hidden()
    # On the algometer: three trials, each ended by the board's button.
    tid(page, "ppt-device").select_option("sim-2")
    tid(page, "ppt-start").click()
    panel = tid(page, "ppt-panel")
    expect(panel).to_be_visible()
    expect(tid(page, "ppt-what")).to_contain_text("infraspinatus right · sim-2")
    expect(tid(page, "ppt-error")).to_be_hidden()
    expect(tid(page, "ppt-pain")).to_be_visible()
    expect(tid(page, "ppt-trials").locator("tr[data-force-n]")).to_have_count(3, timeout=60_000)
    expect(tid(page, "ppt-status")).to_have_text("Done: 3 of 3 trials")
    expect(tid(page, "ppt-summary")).to_have_attribute("data-n", "3")
    shown_trials = tid(page, "ppt-trials").locator("tr[data-force-n]").evaluate_all(
        "(rows) => rows.map((r) => [Number(r.dataset.forceN), Number(r.dataset.rate)])")
    shown_mean = float(tid(page, "ppt-summary").get_attribute("data-mean") or "nan")

    page.keyboard.press("r")
    expect(tid(page, "record-button")).to_have_text("● Record")
    link = tid(page, "report-link")
    expect(link).to_be_visible()
    href = link.get_attribute("href")
    assert href and href.endswith(f"/api/sessions/{session}/report")

    # ---- the store's picture, and the page's ----
    sites = {s["label"]: s for s in daemon.api(f"/api/sessions/{session}/sites")}
    a, b = sites["upper trapezius left"], sites["infraspinatus right"]
    assert a["ltrs"] >= 2 and b["ltrs"] >= 2
    trials = b["ppt"]["trials"]
    assert [t["source"] for t in trials] == ["board"] * 3 and {t["device"] for t in trials} == {"sim-2"}
    for t in trials:  # calibrated newtons: near the simulated patient's ~25 N, on a ~10 N/s ramp
        assert 25 * 0.75 < t["force_n"] < 25 * 1.25 and 7 < t["rate_n_per_s"] < 13 and t["warnings"] == [], t
    assert shown_trials == [[t["force_n"], t["rate_n_per_s"]] for t in trials]
    assert shown_mean == b["ppt"]["summary"]["mean_n"]
    assert a["ppt"]["summary"]["n"] == 0
    # The body chart after the stop: the final counts, as the daemon gives them.
    page.keyboard.press("w")
    for label, site in (("upper trapezius left", SITE_A), ("infraspinatus right", SITE_B)):
        item = tid(page, "site-stats").locator(f'li[data-site="{label}"]')
        expect(item.locator('[data-testid="site-ltrs"]')).to_have_attribute("data-value", str(sites[label]["ltrs"]))
        assert json.loads(item.locator('[data-testid="site-forces"]').get_attribute("data-values") or "[]") == [
            x["force_n"] for x in sites[label]["ltr_list"]]
        expect(item.locator("svg.habituation .ltr-point")).to_have_count(sites[label]["ltrs"])
        expect(region(page, site)).to_have_attribute("aria-label", re.compile(rf": {sites[label]['ltrs']} LTRs\b"))
    page.keyboard.press("Escape")

    # ---- the report, from the page's link ----
    with page.context.expect_page() as opened:
        link.click()
    report = opened.value
    report.wait_for_load_state("load")
    assert report.url == href
    printed = report_tables(report)
    for label, s in sites.items():
        row = printed["sites"][label]
        f = s["force_n"]
        assert int(row[1]) == s["ltrs"], (label, row)
        assert row[2] == f"{f['median']:.1f} ({f['min']:.1f}–{f['max']:.1f})", (label, row, f)
        assert row[5] == s["status"]
        # Each LTR's force, as the report captions its trace.
        assert printed["sections"][label]["ltrs"] == [
            f"LTR {k + 1} at {x['onset_s']:.2f} s, {x['force_n']:.1f} N" for k, x in enumerate(s["ltr_list"])]
    ppt = b["ppt"]["summary"]
    assert ppt["n"] == 3
    assert printed["sites"]["infraspinatus right"][6] == f"{ppt['mean_n']:.1f} N ± {ppt['sd_n']:.1f} (n=3)"
    assert [(r[2], r[3]) for r in printed["sections"]["infraspinatus right"]["ppt"]] == [
        (f"{t['force_n']:.1f}", f"{t['rate_n_per_s']:.1f}") for t in trials]
    report.close()

    # The same report from the session's review, and the patient's visits compared, from the Sessions panel.
    page.keyboard.press("s")
    tid(page, "patient-filter").select_option("P-31")
    listed = tid(page, "session-list")
    expect(listed.locator("li[data-session-id]")).to_have_count(1)
    compare = listed.locator('li.patient-head[data-patient="P-31"] [data-testid="compare-visits"]')
    expect(compare).to_have_attribute("href", re.compile(r"/api/patients/report\?patient=P-31$"))
    expect(compare).to_have_attribute("target", "_blank")
    listed.locator(f'li[data-session-id="{session}"] [data-testid="session-open"]').click()
    expect(tid(page, "session-report")).to_have_attribute("href", href)
    page.keyboard.press("Escape")

    # ---- offline, and printed ----
    saved = tmp_path / f"session-{session}-report.html"
    saved.write_text(page.context.request.get(href).text(), encoding="utf-8")
    took, pdf, problems = offline_pdf(browser, saved)
    print(f"\nreport of session {session} ({saved.stat().st_size / 1024:.0f} KiB): page.pdf took {took:.2f} s")
    assert not problems, problems
    assert pdf[:5] == b"%PDF-" and took < PDF_BUDGET_S, took
    page.context.close()
    assert not errors, errors


def test_the_report_of_a_30_minute_session_prints_to_pdf_in_under_5_s(browser: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sites = (Site.make("upper trapezius", "left", "TrP1"), Site.make("infraspinatus", "right"))
    session = simulated_session(data, 30.0, sites=sites, ppt_at=(1000.0, 1010.0, 1020.0))
    out = tmp_path / "report.html"
    t = time.perf_counter()
    run = subprocess.run([str(TWITCHD), "report", str(session), "--out", str(out), "--data-dir", str(data)],
                         capture_output=True, text=True, timeout=240)
    written = time.perf_counter() - t
    assert run.returncode == 0, run.stderr
    html = out.read_text(encoding="utf-8")
    figures = html.count("<figcaption>")
    took, pdf, problems = offline_pdf(browser, out)
    print(f"\n30-minute session: twitchd report took {written:.1f} s ({out.stat().st_size / 1024:.0f} KiB, "
          f"{figures} LTR traces); page.pdf took {took:.2f} s ({len(pdf) / 1024:.0f} KiB)")
    assert figures > 100  # a long session's many LTRs, each with its trace
    assert not problems, problems
    assert pdf[:5] == b"%PDF-" and took < PDF_BUDGET_S, took
