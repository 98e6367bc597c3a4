"""A practitioner's marks and review judge the detector: the figures of
``twitchd evaluate`` are the ones a person would work out by hand, and bad
requests are refused with a message, leaving the store as it was.

The session here is built through the recorder with LTRs at known times, so
every count is known before the command runs.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.conftest import require
from tests.store.test_recorder import CMAP, INFO
from twitchd.api import Daemon, create_app
from twitchd.events import Event
from twitchd.marks import Site
from twitchd.settings import Settings
from twitchd.store.recorder import Recorder, SessionMeta
from twitchd.store.review import CorrectionIn, add_correction, add_mark
from twitchd.store.sessions import SessionStore

RATE = 2000
SECONDS = 60
DETECTOR_LTRS = [5.0, 15.0, 25.0, 35.0, 45.0]
#: Felt-LTR marks: 250 ms and 300 ms late (hits), 900 ms late (too late: a miss
#: and a false flag), one where the detector saw nothing, and one 50 ms late.
MARKS = [5.25, 15.3, 25.9, 40.0, 45.05]
TWITCHD = [sys.executable, "-m", "twitchd"]


def record(data: Path, *, marks: bool = True, samples: bool = True) -> int:
    """One 60 s session: detector LTRs at DETECTOR_LTRS, a twitch, site changes, felt-LTR marks at MARKS."""
    rec = Recorder(data)
    rec.set_site(Site.make("upper trapezius", "left", "TrP1"))
    sid = rec.start(SessionMeta(patient="P-3", practitioner="Ann"))
    if samples:
        for k in range(SECONDS * RATE // 100):
            rec.on_data("sim-1", INFO, CMAP, 0, k * 100, np.full((100, 3), 2048, dtype=np.uint16), k * 50_000, k * 0.05)
        for t in DETECTOR_LTRS:
            rec.on_event("sim-1", Event("ltr", t, t + 0.2, t + 0.3, 0.001, 12.0))
        rec.on_event("sim-1", Event("twitch", 50.0, 50.1, 50.2, 0.001, 0.0))
    rec.stop()
    if marks and samples:
        for t in MARKS:
            add_mark(data, sid, t, "felt_ltr", "")
        add_mark(data, sid, 20.0, "referred_pain", "to the elbow")
    return sid


def evaluate(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TWITCHD, "evaluate", *args, "--data-dir", str(data)], capture_output=True, text=True,
                          timeout=120)


def kappa_by_hand(a: int, b: int, c: int, d: int) -> tuple[float, float]:
    n = a + b + c + d
    po = (a + d) / n
    pe = ((a + b) * (a + c) + (c + d) * (b + d)) / n**2
    return (po - pe) / (1 - pe), 2 * po - 1


def test_marks_at_known_times_give_the_sensitivity_ppv_and_kappa_worked_out_by_hand(tmp_path: Path) -> None:
    sid = record(tmp_path)
    run = evaluate(tmp_path, str(sid), "--json")
    assert run.returncode == 0, run.stderr
    overall = json.loads(run.stdout)["sessions"][0]["overall"]
    # By hand: 3 of the 5 marks lie 0-600 ms after a detector onset; the 25.9 s
    # mark is 900 ms late, the 40 s one has no onset before it.
    hits, flagged, felt = 3, 5, 5
    # 30 windows of 2 s; windows holding a flag or a mark: 2, 7, 12, 17, 20, 22.
    negatives = 30 - 6
    kappa, pabak = kappa_by_hand(hits, flagged - hits, felt - hits, negatives)
    assert overall["detector"] == flagged and overall["reference"] == felt and overall["matched"] == hits
    assert overall["sensitivity"] == pytest.approx(hits / felt, abs=1e-4)
    assert overall["ppv"] == pytest.approx(hits / flagged, abs=1e-4)
    assert overall["f1"] == pytest.approx(2 * hits / (flagged + felt), abs=1e-4)
    assert overall["kappa"] == pytest.approx(kappa, abs=1e-4) and overall["pabak"] == pytest.approx(pabak, abs=1e-4)
    assert overall["windows"] == 30 and overall["negative_windows"] == negatives
    # Offsets of the hits: 50, 250, 300 ms.
    assert overall["offset_ms"] == {"median": 250.0, "q1": 150.0, "q3": 275.0}


def test_a_wider_tolerance_takes_the_late_mark_and_the_site_shows_in_the_table(tmp_path: Path) -> None:
    sid = record(tmp_path)
    run = evaluate(tmp_path, str(sid), "--json", "--tolerance=-100,1000")
    assert json.loads(run.stdout)["overall"]["matched"] == 4
    text = evaluate(tmp_path, str(sid)).stdout
    assert "upper trapezius left TrP1" in text and "0.60" in text and "felt-LTR marks" in text


def test_the_review_rejects_a_flag_and_adds_a_missed_ltr_and_evaluate_counts_both(tmp_path: Path) -> None:
    sid = record(tmp_path)
    with SessionStore(tmp_path) as s:
        ids = {e["onset_s"]: e["id"] for e in s.events(sid)}
    first = add_correction(tmp_path, sid, CorrectionIn("accept", "Ann", event_id=ids[25.0]))
    second = add_correction(tmp_path, sid, CorrectionIn("reject", "Ann", event_id=ids[25.0], note="that was a cough"))
    assert second["replaces"] == first["id"]  # the newest word on an event says what it replaced
    add_correction(tmp_path, sid, CorrectionIn("add", "Ann", onset_s=40.0))
    add_correction(tmp_path, sid, CorrectionIn("relabel", "Ann", event_id=ids[50.0], kind="ltr"))
    with SessionStore(tmp_path) as s:
        assert [e["kind"] for e in s.events(sid)].count("ltr") == 5  # the detector's own events are as they were
    overall = json.loads(evaluate(tmp_path, str(sid), "--json", "--against", "review").stdout)["overall"]
    # Reviewed LTRs: 5, 15, 35, 45 (kept), 40 (added), 50 (relabelled) = 6; the detector's 5 LTRs
    # meet 4 of them exactly (25 s was rejected).
    assert (overall["detector"], overall["reference"], overall["matched"]) == (5, 6, 4)
    assert overall["sensitivity"] == pytest.approx(4 / 6, abs=1e-4) and overall["ppv"] == pytest.approx(4 / 5)


def test_redetect_prints_the_new_settings_agreement_beside_the_live_one(tmp_path: Path) -> None:
    sid = record(tmp_path)
    run = evaluate(tmp_path, str(sid), "--json", "--redetect", "onset_ratio=9")
    out = json.loads(run.stdout)
    assert run.returncode == 0, run.stderr
    # A flat recording: the detector run again finds no LTR at all, and says so beside the live figures.
    assert out["sessions"][0]["overall"]["detector"] == 5 and out["sessions"][0]["redetect"]["overall"]["detector"] == 0
    assert out["redetect_params"]["onset_ratio"] == 9
    text = evaluate(tmp_path, str(sid), "--redetect", "onset_ratio=9").stdout
    assert "live detector" in text and "re-detected" in text


@pytest.mark.parametrize(("build", "args", "says"), [
    ("marks", ["7"], "no session 7"),
    ("none", ["1"], "no felt-LTR marks"),
    ("empty", ["1"], "empty: no samples"),
    ("marks", ["1", "--against", "review"], "has not been reviewed"),
    ("marks", ["1", "--redetect", "onset_ratio"], "name=value"),
    ("marks", [], "name the sessions"),
])
def test_evaluate_refuses_what_it_cannot_judge_with_a_message_and_no_traceback(
        tmp_path: Path, build: str, args: list[str], says: str) -> None:
    record(tmp_path, marks=build == "marks", samples=build != "empty")
    run = evaluate(tmp_path, *args)
    assert run.returncode == 2 and says in run.stderr and "Traceback" not in run.stderr, run.stderr


def test_all_skips_sessions_without_marks_and_pools_the_rest(tmp_path: Path) -> None:
    record(tmp_path)
    record(tmp_path, marks=False)
    record(tmp_path)
    out = json.loads(evaluate(tmp_path, "--all", "--json").stdout)
    assert [s["session_id"] for s in out["sessions"]] == [1, 3] and out["skipped"][0]["session_id"] == 2
    assert out["overall"]["matched"] == 6 and out["overall"]["reference"] == 10


def rows(data: Path, table: str) -> int:
    with sqlite3.connect(data / "twitchd.sqlite3") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_the_api_refuses_bad_marks_and_corrections_and_writes_nothing(tmp_path: Path) -> None:
    sid = record(tmp_path)
    settings = Settings(sources=())
    before = rows(tmp_path, "corrections"), rows(tmp_path, "markers")
    with TestClient(create_app(settings, Daemon(settings, data_dir=tmp_path)), base_url="http://127.0.0.1") as c:
        bad: list[tuple[str, dict[str, Any], int, str]] = [
            ("/api/sessions/99/marks", {"t_s": 1.0}, 404, "no session 99"),
            ("/api/sessions/99/corrections", {"action": "reject", "event_id": 1, "author": "A"}, 404, "no session 99"),
            (f"/api/sessions/{sid}/corrections", {"action": "reject", "event_id": 999, "author": "A"}, 404, "no event 999"),
            (f"/api/sessions/{sid}/corrections", {"action": "reject", "added_id": 3, "author": "A"}, 404, "no added event"),
            (f"/api/sessions/{sid}/corrections", {"action": "relabel", "event_id": 1, "author": "A"}, 422, "new kind"),
            (f"/api/sessions/{sid}/corrections", {"action": "add", "author": "A"}, 422, "needs onset_s"),
            (f"/api/sessions/{sid}/corrections", {"action": "add", "onset_s": 500.0, "author": "A"}, 422, "after the session"),
            (f"/api/sessions/{sid}/corrections", {"action": "reject", "event_id": 1}, 422, "author"),
            (f"/api/sessions/{sid}/marks", {"t_s": 500.0}, 422, "after the session"),
            (f"/api/sessions/{sid}/marks", {"t_s": 1.0, "kind": "note"}, 422, "needs its text"),
            ("/api/recording/marks", {"kind": "felt_ltr"}, 409, "not recording"),
            ("/api/recording/marks", {"kind": "itch"}, 422, ""),
            ("/api/site", {"muscle": " "}, 422, ""),
        ]
        for path, body, status, says in bad:
            r = c.put(path, json=body) if path == "/api/site" else c.post(path, json=body)
            assert r.status_code == status and says in r.text, (path, body, r.status_code, r.text)
        assert c.get("/api/sessions/99/agreement").status_code == 404
        empty = c.get(f"/api/sessions/{sid}/agreement", params={"against": "review"}).json()
        assert "not been reviewed" in empty["note"] and empty["overall"]["reference"] == 0
    assert (rows(tmp_path, "corrections"), rows(tmp_path, "markers")) == before


def test_the_session_shows_its_marks_sites_corrections_and_reviewed_labels(tmp_path: Path) -> None:
    sid = record(tmp_path)
    settings = Settings(sources=())
    with TestClient(create_app(settings, Daemon(settings, data_dir=tmp_path)), base_url="http://127.0.0.1") as c:
        ltr = next(e for e in c.get(f"/api/sessions/{sid}").json()["event_list"] if e["kind"] == "ltr")
        made = c.post(f"/api/sessions/{sid}/corrections", json={"action": "reject", "event_id": ltr["id"], "author": "Ann"})
        assert made.status_code == 201 and made.json()["replaces"] is None
        added = c.post(f"/api/sessions/{sid}/corrections", json={"action": "add", "onset_s": 40.0, "author": "Ann"}).json()
        assert added["kind"] == "ltr" and added["end_s"] == pytest.approx(40.1)
        detail = c.get(f"/api/sessions/{sid}").json()
    event = next(e for e in detail["event_list"] if e["id"] == ltr["id"])
    assert event["review"]["action"] == "reject" and event["site"]["muscle"] == "upper trapezius"
    assert [m["kind"] for m in detail["marker_list"]].count("felt_ltr") == 5
    assert detail["sites"][0] == {"t_s": 0.0, "muscle": "upper trapezius", "side": "left", "point": "TrP1"}
    refs = [r["ref"] for r in detail["reviewed"]]
    assert f"e{ltr['id']}" not in refs and f"a{added['id']}" in refs


def test_mne_shows_detector_events_marks_and_corrections_as_their_own_descriptions(tmp_path: Path) -> None:
    require(importlib.util.find_spec("mne") is not None, "MNE is not installed (pip install -e '.[test]')")
    import mne  # type: ignore[import-untyped]

    sid = record(tmp_path)
    with SessionStore(tmp_path) as s:
        first = s.events(sid)[0]["id"]
    add_correction(tmp_path, sid, CorrectionIn("reject", "Ann", event_id=first))
    add_correction(tmp_path, sid, CorrectionIn("add", "Ann", onset_s=40.0))
    out = tmp_path / "s.edf"
    run = subprocess.run([*TWITCHD, "sessions", "export", str(sid), "--format", "edf", "--out", str(out),
                          "--data-dir", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    raw = mne.io.read_raw_edf(out, verbose="error")
    described = sorted(set(raw.annotations.description))
    assert {"ltr", "twitch", "mark: felt_ltr", "mark: referred_pain: to the elbow", "review: reject ltr (Ann)",
            "review: add ltr (Ann)", "site: upper trapezius left TrP1"} <= set(described), described
    felt = sorted(a["onset"] for a in raw.annotations if a["description"] == "mark: felt_ltr")
    assert np.allclose(felt, MARKS, atol=1e-3)


def test_the_events_and_json_exports_carry_marks_and_corrections(tmp_path: Path) -> None:
    sid = record(tmp_path)
    add_correction(tmp_path, sid, CorrectionIn("add", "Ann", onset_s=40.0))
    for fmt in ("events", "json"):
        out = tmp_path / f"s.{fmt}"
        subprocess.run([*TWITCHD, "sessions", "export", str(sid), "--format", fmt, "--out", str(out), "--data-dir",
                        str(tmp_path)], check=True, timeout=120)
    lines = (tmp_path / "s.events").read_text().splitlines()
    assert sum(line.startswith("mark,") for line in lines) == 6
    assert any(line.startswith("correction,40.0,") and ",add," in line and "Ann" in line for line in lines)
    data = json.loads((tmp_path / "s.json").read_text())
    assert len(data["marker_list"]) == 6 and data["corrections"][0]["action"] == "add"
