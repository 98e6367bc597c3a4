"""The practitioner files a report of the session: one HTML page that opens anywhere,
offline, whose counts, forces and thresholds are the store's own; where something is
missing (no events, no calibration, no sites) the report says so instead of failing."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from html import unescape
from pathlib import Path

import numpy as np

from tests.store.test_recorder import CMAP, INFO
from twitchd.marks import Site
from twitchd.signal.detector import detect_offline
from twitchd.signal.params import DetectorParams
from twitchd.sim.session import SessionSimulator, SimConfig
from twitchd.store.clinical import site_summaries
from twitchd.store.recorder import Recorder, SessionMeta
from twitchd.store.review import add_mark
from twitchd.store.sessions import SessionStore, physical

RATE = 2000
TWITCHD = [sys.executable, "-m", "twitchd"]


def simulated_session(data: Path, minutes: float, sites: tuple[Site, ...] = (), patient: str = "P-21",
                      ppt_at: tuple[float, ...] = (), seed: int = 3) -> int:
    """A recorded session of the simulated patient, detected as live, the sites changed at equal intervals."""
    sim = SessionSimulator(SimConfig.board(12, seed=seed))
    n = int(minutes * 60 * RATE)
    counts = np.concatenate([sim.read(min(200_000, n - k)) for k in range(0, n, 200_000)])
    values = physical(CMAP, counts)
    events = [e for e in detect_offline(values["emg_v"], values["force_n"], RATE, DetectorParams()) if e.kind != "gap"]
    rec = Recorder(data)
    rec.detector_params = DetectorParams().as_dict()
    if sites:
        rec.set_site(sites[0])
    sid = rec.start(SessionMeta(patient=patient, practitioner="Ann", technique="compression"))
    parts = len(sites) or 1
    frame = 200
    t0 = time.monotonic()  # the frames' host times run ahead of the clock: the feed is faster than real time
    for k in range(0, n, frame):
        if sites and k and k % (n // parts) < frame and k // (n // parts) < parts:
            rec.set_site(sites[k // (n // parts)])
        rec.on_data("sim-1", INFO, CMAP, 0, k, counts[k:k + frame], k * 500, t0 + k / RATE)
    for e in events:
        rec.on_event("sim-1", e)
    for t in ppt_at:
        rec.ppt_trial(1, "key", t_s=t, device="sim-1", calibration="current: test")
    rec.stop()
    return sid


def report(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWITCHD, "report", *args, "--data-dir", str(data)], capture_output=True, text=True,
                          timeout=120)


def cells(html: str, row_label: str) -> list[str]:
    """The cells of the first table row whose first cell is ``row_label``."""
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):
        found = [unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        if found and found[0] == row_label:
            return found
    raise AssertionError(f"no row {row_label!r}")


def test_the_reports_counts_forces_and_thresholds_are_the_stores(tmp_path: Path) -> None:
    sites = (Site.make("upper trapezius", "left", "TrP1"), Site.make("infraspinatus", "right"))
    sid = simulated_session(tmp_path, 2.0, sites, ppt_at=(100.0, 110.0, 115.0))
    add_mark(tmp_path, sid, 30.0, "felt_ltr", "")
    out = tmp_path / "r.html"
    run = report(tmp_path, str(sid), "--out", str(out))
    assert run.returncode == 0, run.stderr
    html = out.read_text()
    with SessionStore(tmp_path) as store:
        summary = {s["label"]: s for s in site_summaries(store, sid)}
    assert set(summary) == {"upper trapezius left TrP1", "infraspinatus right"}
    for label, s in summary.items():
        row = cells(html, label)
        assert int(row[1]) == s["ltrs"] > 0
        f = s["force_n"]
        assert row[2] == f"{f['median']:.1f} ({f['min']:.1f}–{f['max']:.1f})"
        assert row[5] == s["status"]
    site_b = summary["infraspinatus right"]["ppt"]
    ppt = site_b["summary"]
    # a trial with no force at the press (the thumb was off the point) is listed but not averaged
    assert len(site_b["trials"]) == 3 and ppt["n"] == sum((t["force_n"] or 0) > 0 for t in site_b["trials"]) >= 2
    assert cells(html, "infraspinatus right")[6].startswith(f"{ppt['mean_n']:.1f} N ± {ppt['sd_n']:.1f} (n={ppt['n']})")
    # Self-contained: nothing to fetch, nothing to run.
    assert not re.search(r"<script|<link|<img|<iframe|\b(?:src|href)=|url\(\s*['\"]?http|@import", html)
    assert html.count('class="trace"') == sum(s["ltrs"] for s in summary.values())
    assert 'class="region treated"' in html or "region treated" in html  # the body chart shows the treated sites
    assert "Agreement with your marks" in html and cells(html, "all sites")[2] == "1"
    assert "Default settings." in html


def test_a_session_without_events_calibration_or_sites_says_so(tmp_path: Path) -> None:
    rec = Recorder(tmp_path)
    sid = rec.start(SessionMeta())
    for k in range(0, 4 * RATE, 200):
        rec.on_data("sim-1", INFO, CMAP, 0, k, np.full((200, 3), 2048, dtype=np.uint16), k * 500, k / RATE)
    rec.stop()
    out = tmp_path / "r.html"
    assert report(tmp_path, str(sid), "--out", str(out)).returncode == 0
    html = unescape(out.read_text())
    assert "No LTRs were detected in this session." in html
    assert "No sites were set" in html
    assert "was not calibrated" in html and "No PPT can be measured without one" in html
    assert "no felt-LTR marks" in html


def test_a_missing_session_is_a_clear_error_and_no_file(tmp_path: Path) -> None:
    simulated_session(tmp_path, 0.2)
    out = tmp_path / "r.html"
    run = report(tmp_path, "7", "--out", str(out))
    assert run.returncode == 2 and "no session 7" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()
    run = report(tmp_path, "--patient", "P-404", "--out", str(out))
    assert run.returncode == 2 and "no sessions of patient 'P-404'" in run.stderr


def test_a_patients_visits_compare_ltrs_and_ppt_per_site_over_time(tmp_path: Path) -> None:
    site = (Site.make("upper trapezius", "left", "TrP1"),)
    first = simulated_session(tmp_path, 0.5, site, ppt_at=(10.0,), seed=3)
    second = simulated_session(tmp_path, 0.5, site, ppt_at=(12.0,), seed=5)
    simulated_session(tmp_path, 0.2, site, patient="P-other")
    out = tmp_path / "p.html"
    assert report(tmp_path, "--patient", "P-21", "--out", str(out)).returncode == 0
    html = out.read_text()
    with SessionStore(tmp_path) as store:
        counts = [site_summaries(store, sid)[0]["ltrs"] for sid in (first, second)]
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", html, re.S) if "upper trapezius left TrP1" in r]
    assert len(rows) == 2  # one table of LTRs, one of PPT
    assert [int(x) for x in re.findall(r"<td class=num>(\d+)</td>", rows[0])] == counts
    assert "2 visits" in html and "P-other" not in html
