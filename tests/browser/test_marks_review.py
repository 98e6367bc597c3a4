"""The practitioner's ground truth from the page: marks while recording, then
review, then ``twitchd evaluate`` agreeing with a count done by hand.

The story, on the simulated patient of seed 56 at low SNR (real time): its
first press holds four true LTRs, at 3.72, 6.28, 9.09 and 12.15 s of the
simulator's clock. The detector finds the first three and misses the fourth,
a small habituated one, in every one of 40 offline runs with other noise
(the noise, unlike the scene, depends on how the samples are read). The
recording starts after the first LTR is over, so it holds LTRs 2-4. The
practitioner, with the felt-LTR key set to a foot pedal's key, marks each of
the three 250 ms after its true onset (about when a hand feels it), also
marks referred pain and a note, and changes the site once and back with [.
Then, in review: accept LTR 2 (picked in the table), reject LTR 3 (picked on
the plot; no flag of this seed is false, so a true one is rejected) and add
the missed LTR 4 (a click on the zoomed trace). Against the marks, the
detector has 2 of 3; against the review, 1 of 2 each way. The CLI's figures
equal the test's own matching of the times, and the page shows the CLI's.

Only the first scene is known in advance: ``SessionSimulator`` draws later
scenes from the same generator as the noise, so where they fall depends on
the daemon's read sizes. The recording therefore ends within the first
scene's closing rest.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import TWITCHD, Twitchd, new_page, tid

pytestmark = pytest.mark.browser

SEED = 56
SOURCE = f"simulated:seed={SEED},snr=low"  # speed 1: real time, as a practitioner's hands are
RATE_HZ = 2000
MARK_DELAY_S = 0.25           # the felt-LTR key, this long after each true onset
MARK_TOLERANCE_S = (-0.1, 0.6)  # a mark counts from 100 ms before to 600 ms after the detector's onset
REVIEW_TOLERANCE_S = (-0.1, 0.1)
RECORD_FROM_S = 5.0           # simulator time: LTR 1 (3.72-4.03 s) is decided and over by then
PEDAL_KEY = "b"               # what the foot pedal types


def scene_one_truth() -> list[Any]:
    """The first scene's true events: rendered before any noise is drawn, so the daemon's are the same."""
    from twitchd.sim.session import SessionSimulator, SimConfig

    sim = SessionSimulator(SimConfig.board(12, seed=SEED, snr="low"))
    sim.read(1)  # renders the first scene, and only it
    return sim.truth_until(math.inf)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Twitchd]:
    d = Twitchd(tmp_path_factory.mktemp("marks"), [SOURCE]).start()
    yield d
    d.stop()


class SimClock:
    """The simulator's time on this process's monotonic clock, from the samples the daemon has received.

    A sample count is at most the simulator's time, so the largest ``samples/rate - now`` over a few
    quick polls is the closest estimate; it is taken again before each mark (a slow host makes the
    simulated board fall behind real time, never ahead)."""

    def __init__(self, daemon: Twitchd) -> None:
        self.daemon = daemon
        self.offset = -math.inf

    def sync(self, polls: int = 8) -> None:
        best = -math.inf
        for _ in range(polls):
            dev = self.daemon.api("/api/devices")[0]
            best = max(best, dev["samples"] / RATE_HZ - time.monotonic())
        self.offset = best

    def now(self) -> float:
        return time.monotonic() + self.offset

    def wait_until(self, t_sim: float) -> None:
        while (left := t_sim - self.now()) > 0.6:
            time.sleep(min(left - 0.5, 1.0))
        self.sync(4)
        while (left := t_sim - self.now()) > 0:
            time.sleep(min(left, 0.01))


def pair_up(detector: list[float], reference: list[float], tol: tuple[float, float]) -> int:
    """How many one-to-one pairs with tol[0] <= reference - detector <= tol[1]: the test's own count."""
    used: set[int] = set()
    for r in sorted(reference):
        for i, d in sorted(enumerate(detector), key=lambda x: x[1]):
            if i not in used and tol[0] <= r - d <= tol[1]:
                used.add(i)
                break
    return len(used)


def figures(detector: int, reference: int, matched: int) -> dict[str, float | None]:
    return {"sensitivity": matched / reference if reference else None,
            "ppv": matched / detector if detector else None,
            "f1": 2 * matched / (detector + reference) if detector + reference else None}


def evaluate(daemon: Twitchd, session: int, against: str) -> dict[str, Any]:
    out = subprocess.run([str(TWITCHD), "evaluate", str(session), "--json", "--data-dir", str(daemon.data_dir),
                          "--against", against], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)["overall"]  # type: ignore[no-any-return]


def plot_x(page: Any, t: float) -> tuple[float, float]:
    """Page coordinates of session time t on the review plot, by the plot's own mapping."""
    box = tid(page, "session-canvas").bounding_box()
    m = page.evaluate("(() => { const m = window.twitchd.sessionView.traces.map; return {L: m.L, plotW: m.plotW,"
                      " tStart: m.tStart, windowS: m.windowS}; })()")
    assert m["tStart"] <= t <= m["tStart"] + m["windowS"], (t, m)
    return box["x"] + m["L"] + (t - m["tStart"]) / m["windowS"] * m["plotW"], box["y"] + box["height"] * 0.3


def test_marks_while_recording_then_review_and_evaluate_agree_with_a_count_by_hand(browser: Any, daemon: Twitchd) -> None:
    truth = scene_one_truth()
    ltrs = [e.onset_s for e in truth if e.kind == "ltr"]
    assert [round(t, 2) for t in ltrs] == [3.72, 6.28, 9.09, 12.15]
    marked = [t for t in ltrs if t > RECORD_FROM_S]           # LTRs 2-4
    detected_true, missed_true = marked[:2], marked[2]          # what the detector does with them (see above)
    stop_at = max(e.end_s for e in truth) + 1.0  # the next scene opens with at least 1.5 s of rest

    errors: list[str] = []
    page = new_page(browser, daemon.url, errors)
    expect(tid(page, "link-status")).to_have_text("connected")

    # A foot pedal that types "b": set as the felt-LTR key, kept in this browser, named in the help.
    tid(page, "mark-keys-button").click()
    tid(page, "mark-key-felt").click()
    page.keyboard.press("r")  # taken already (record): refused
    expect(tid(page, "mark-keys-dialog").locator(".error")).to_contain_text("already does something")
    page.keyboard.press(PEDAL_KEY)
    expect(tid(page, "mark-key-felt")).to_have_value("B")
    tid(page, "mark-key-pedal").check()
    tid(page, "mark-keys-save").click()
    expect(tid(page, "toast")).to_contain_text("B felt LTR (pedal)")
    assert json.loads(page.evaluate("localStorage.getItem('twitchd.mark-keys')")) == {
        "felt": PEDAL_KEY, "pain": "p", "note": "n", "pedal": True}
    page.keyboard.press("?")
    assert re.search(r"B\s.*felt-LTR marker", tid(page, "help").inner_text())
    page.keyboard.press("Escape")

    # The site, from the catalog; typing the pedal's key into a field is text, not a mark.
    tid(page, "site-current").click()
    tid(page, "site-muscle").fill("upper trapez")
    tid(page, "site-muscle").press(PEDAL_KEY)
    tid(page, "site-muscle").fill("upper trapezius")
    tid(page, "site-side").select_option("left")
    tid(page, "site-point").fill("TrP1")
    tid(page, "site-set").click()
    expect(tid(page, "site-current")).to_have_text("upper trapezius left TrP1")
    expect(tid(page, "site-form")).to_be_hidden()
    assert daemon.api("/api/sites")["current"] == {"muscle": "upper trapezius", "side": "left", "point": "TrP1"}
    assert page.evaluate("window.twitchd.marks.list.length") == 0
    expect(tid(page, "felt-ltr-button")).to_be_hidden()  # only while recording

    clock = SimClock(daemon)
    clock.sync()
    assert clock.now() < RECORD_FROM_S - 0.5, "the page took too long to come up; the story needs LTR 2"
    tid(page, "record-button").click()
    dialog = tid(page, "record-dialog")
    dialog.locator("input[name=patient]").fill("P-56")
    dialog.locator("input[name=practitioner]").fill("Dr Ana Review")
    clock.wait_until(RECORD_FROM_S)
    tid(page, "record-start").click()
    expect(tid(page, "record-button")).to_have_text("■ Stop")
    expect(tid(page, "felt-ltr-button")).to_be_visible()
    expect(tid(page, "live-agreement")).to_be_visible()
    page.evaluate("document.activeElement.blur()")

    def felt_mark(n: int, t_true: float) -> None:
        clock.wait_until(t_true + MARK_DELAY_S)
        page.keyboard.press(PEDAL_KEY)
        expect(tid(page, "toast")).to_contain_text(f"Felt LTR (pedal) · Marker {n} at")

    felt_mark(1, marked[0])
    # Drawn on the live lane at once, at the daemon's own time for it on sim-1's axis.
    page.wait_for_function("window.twitchd.marks.forDevice('sim-1').some((m) => !m.pending && m.kind === 'felt_ltr')")
    at = page.evaluate("window.twitchd.marks.list.filter((m) => !m.pending).map((m) => m.at['sim-1'])")
    assert len(at) == 1 and abs(at[0] - (marked[0] + MARK_DELAY_S)) < 0.3, at
    # Referred pain (P) and a note (N, typed, Enter) between the LTRs; they are not felt LTRs.
    clock.wait_until(7.5)
    page.keyboard.press("p")
    expect(tid(page, "toast")).to_contain_text("Referred pain · Marker 2 at")
    page.keyboard.press("n")
    expect(tid(page, "note-text")).to_be_focused()
    page.keyboard.type("both shoulders, spreads to the jaw")  # the pedal's "b", "p" and "n" in it stay text
    page.keyboard.press("Enter")
    expect(tid(page, "toast")).to_contain_text("Note “both shoulders, spreads to the jaw” · Marker 3 at")
    felt_mark(4, marked[1])
    felt_mark(5, marked[2])
    # Another site, and back with "[" (the sites of this session).
    clock.wait_until(13.5)
    tid(page, "site-current").click()
    tid(page, "site-muscle").fill("levator scapulae")
    tid(page, "site-side").select_option("right")
    tid(page, "site-point").fill("TrP2")
    tid(page, "site-set").click()
    expect(tid(page, "site-current")).to_have_text("levator scapulae right TrP2")
    page.evaluate("document.activeElement.blur()")
    clock.wait_until(15.0)
    page.keyboard.press("[")
    expect(tid(page, "site-current")).to_have_text("upper trapezius left TrP1")
    # The live agreement card follows the recording (polled every 2 s).
    live_card = tid(page, "live-agreement")
    expect(live_card.locator('[data-figure="reference"]')).to_have_attribute("data-value", "3", timeout=10_000)
    expect(live_card.locator('[data-figure="detector"]')).to_have_attribute("data-value", "2")
    expect(live_card).to_contain_text("2 of 3 marks matched")
    clock.wait_until(stop_at)
    page.keyboard.press("r")
    expect(tid(page, "record-button")).to_have_text("● Record")
    expect(live_card).to_be_hidden()
    # One click on a recent site works on it again.
    tid(page, "site-recent").get_by_role("button", name="levator scapulae right TrP2").click()
    expect(tid(page, "site-current")).to_have_text("levator scapulae right TrP2")

    # Where the session's time 0 is on the simulator's clock: the first stored chunk's board time.
    status = daemon.api("/api/recording")
    session = status["session_id"]
    with sqlite3.connect(f"file:{status['database']}?mode=ro", uri=True) as db:
        first_index, t0_us = db.execute("SELECT first_index, device_t0_us FROM chunks WHERE session_id = ?"
                                        " ORDER BY first_index LIMIT 1", (session,)).fetchone()
    assert first_index == 0
    t0 = t0_us / 1e6
    assert abs(t0 - RECORD_FROM_S) < 1.0
    # The live copy of each mark gave the same moment on sim-1's stream: stream time = session time + t0.
    for m in page.evaluate("window.twitchd.marks.list.filter((m) => !m.pending)"):
        assert abs(m["at"]["sim-1"] - m["t_s"] - t0) < 0.002, m

    s = daemon.api(f"/api/sessions/{session}")
    det = [e for e in s["event_list"] if e["kind"] == "ltr"]
    det_on = [e["onset_s"] for e in det]
    marks = [m for m in s["marker_list"] if m["kind"] == "felt_ltr"]
    mark_t = [m["t_s"] for m in marks]
    assert [m["kind"] for m in sorted(s["marker_list"], key=lambda m: m["id"])] == [
        "felt_ltr", "referred_pain", "note", "felt_ltr", "felt_ltr"]
    assert {m["source"] for m in marks} == {"pedal"}
    assert all(m["site"] == {"muscle": "upper trapezius", "side": "left", "point": "TrP1"} for m in marks)
    assert [(x["muscle"], x["point"]) for x in s["sites"]] == [
        ("upper trapezius", "TrP1"), ("levator scapulae", "TrP2"), ("upper trapezius", "TrP1")]
    # The detector found LTRs 2 and 3 near their true onsets, and not LTR 4.
    assert len(det_on) == 2 and all(abs(d + t0 - t) < 0.2 for d, t in zip(det_on, detected_true, strict=True)), (det_on, t0)
    # Each mark landed where it was pressed: 250 ms after its true onset, plus the way through page and daemon.
    for t_mark, t_true in zip(mark_t, marked, strict=True):
        assert 0.2 < t_mark + t0 - t_true < 0.45, (t_mark + t0, t_true)

    # ---- review ----
    page.keyboard.press("s")
    with page.expect_response(re.compile(rf"/api/sessions/{session}/trace\?")):
        tid(page, "session-list").locator(f'li[data-session-id="{session}"] [data-testid="session-open"]').click()
    view = tid(page, "session-view")
    expect(view).to_be_visible()
    expect(tid(page, "review-author")).to_have_value("Dr Ana Review")  # the session's practitioner
    tid(page, "session-window").select_option("10")
    rows = tid(page, "session-events")
    e2, e3 = det[0], det[1]
    # Accept LTR 2, picked in the table (A).
    rows.locator(f'tr[data-ref="e{e2["id"]}"]').click()
    expect(tid(page, "review-selected")).to_contain_text(f"LTR at {e2['onset_s']:.3f} s")
    played = page.evaluate("window.twitchd.sound.played.ltr")
    tid(page, "review-cue").click()  # its cue again, though the live sound is off
    assert page.evaluate("window.twitchd.sound.played.ltr") == played + 1
    page.keyboard.press("a")
    expect(rows.locator(f'tr[data-ref="e{e2["id"]}"]')).to_have_attribute("data-review", "accepted")
    # Reject LTR 3, picked on the plot (X).
    page.mouse.click(*plot_x(page, e3["onset_s"] + 0.002))
    expect(tid(page, "review-selected")).to_contain_text(f"LTR at {e3['onset_s']:.3f} s")
    page.keyboard.press("x")
    row3 = rows.locator(f'tr[data-ref="e{e3["id"]}"]')
    expect(row3).to_have_attribute("data-review", "rejected")
    expect(row3).to_have_class(re.compile(r"\brev-rejected\b"))
    # Add the missed LTR 4: zoom in on it with the wheel (10 → 5 → 2 s about the cursor), E, click its onset.
    t_add = missed_true - t0
    page.mouse.move(*plot_x(page, t_add))
    for _ in range(2):
        page.mouse.wheel(0, -120)
    expect(tid(page, "session-window")).to_have_value("2")
    page.keyboard.press("e")
    expect(tid(page, "review-add")).to_have_attribute("aria-pressed", "true")
    x, y = plot_x(page, t_add)
    page.mouse.click(x, y)
    m = page.evaluate("window.twitchd.sessionView.traces.map")
    onset = float(tid(page, "review-add-onset").input_value())
    assert abs(onset - t_add) < 1.5 * m["windowS"] / m["plotW"] + 0.0005, (onset, t_add)  # within a pixel
    assert float(tid(page, "review-add-end").input_value()) == pytest.approx(onset + 0.1, abs=0.0011)
    expect(tid(page, "review-add-kind")).to_have_value("ltr")
    tid(page, "review-add-save").click()
    added = rows.locator('tr[data-review="added"]')
    expect(added).to_have_count(1)
    expect(tid(page, "corrections").locator("li")).to_have_count(3)
    corrections = tid(page, "corrections").inner_text()
    assert "Dr Ana Review rejected LTR" in corrections and "Dr Ana Review added LTR" in corrections

    s = daemon.api(f"/api/sessions/{session}")
    add = next(c for c in s["corrections"] if c["action"] == "add")
    assert add["author"] == "Dr Ana Review" and add["kind"] == "ltr" and abs(add["onset_s"] - onset) < 0.001
    reviewed = [r["onset_s"] for r in s["reviewed"] if r["kind"] == "ltr"]
    assert [r["status"] for r in s["reviewed"] if r["kind"] == "ltr"] == ["accepted", "added"]
    # The detector's own events are as they were.
    assert [e["onset_s"] for e in s["event_list"] if e["kind"] == "ltr"] == det_on

    # ---- the figures: the CLI, the test's own count, and the page ----
    expected = {
        "marks": (len(det_on), len(mark_t), pair_up(det_on, mark_t, MARK_TOLERANCE_S)),
        "review": (len(det_on), len(reviewed), pair_up(det_on, reviewed, REVIEW_TOLERANCE_S)),
    }
    assert expected == {"marks": (2, 3, 2), "review": (2, 2, 1)}  # the story, told in counts
    for against, (n_det, n_ref, n_match) in expected.items():
        cli = evaluate(daemon, session, against)
        assert (cli["detector"], cli["reference"], cli["matched"]) == (n_det, n_ref, n_match), (against, cli)
        for name, want in figures(n_det, n_ref, n_match).items():
            assert cli[name] == pytest.approx(want, abs=5e-5), (against, name, cli)
        # The page shows the CLI's figures: its number in data-value, two decimals in the text.
        table = tid(page, "agreement")
        cell = lambda name: table.locator(f'td[data-against="{against}"][data-figure="{name}"]')  # noqa: E731
        expect(cell("reference")).to_have_attribute("data-value", str(n_ref))
        expect(cell("matched")).to_have_attribute("data-value", str(n_match))
        for name in ("detector", "reference", "matched", "sensitivity", "ppv", "f1", "kappa", "pabak", "offset"):
            v = cli["offset_ms"]["median"] if name == "offset" and cli["offset_ms"] else None if name == "offset" else cli[name]
            raw, text = cell(name).get_attribute("data-value"), cell(name).inner_text()
            assert (None if raw == "" else float(raw)) == v, (against, name, raw, v)
            if name != "offset":
                assert text == ("–" if v is None else str(v) if isinstance(v, int) else f"{v:.2f}"), (against, name, text)

    page.keyboard.press("Escape")
    expect(view).to_be_hidden()
    page.context.close()
    assert not errors, errors
