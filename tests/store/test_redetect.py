"""A researcher re-analyses a recorded session with other detector settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.store.test_recorder import CMAP, INFO
from twitchd.cli import main
from twitchd.sim.session import SessionSimulator, SimConfig
from twitchd.store.recorder import Recorder, SessionMeta

RATE = 2000


def record_simulated(data: Path, seconds: float, hole: tuple[float, float]) -> list[float]:
    """A session of the simulated patient with a link loss over ``hole``; the true LTR onsets."""
    sim = SessionSimulator(SimConfig(seed=11, rate_hz=RATE))
    counts = sim.read(int(seconds * RATE))
    rec = Recorder(data)
    rec.start(SessionMeta(patient="P-re"))
    for index in range(0, len(counts), 20):
        if not hole[0] * RATE <= index < hole[1] * RATE:
            rec.on_data("sim-1", INFO, CMAP, 0, index, counts[index:index + 20], 0, index / RATE)
    assert rec.stop()["state"] == "idle"
    return [t.onset_s for t in sim.truth_until(seconds) if t.kind == "ltr"]


def test_redetect_finds_the_true_ltrs_across_a_gap_and_other_settings_change_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    truth = record_simulated(tmp_path, 60.0, hole=(20.0, 20.5))
    after_hole = [t for t in truth if t > 21.0]
    assert len(after_hole) >= 3
    assert main(["sessions", "redetect", "1", "--data-dir", str(tmp_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    ltrs = [e["onset_s"] for e in out["events"] if e["kind"] == "ltr"]
    for t in truth:
        if not 19.5 < t < 21.5:  # near the hole the detector may miss one
            assert min(abs(t - o) for o in ltrs) < 0.1, f"no LTR near {t:.2f} s (after the gap: times shifted?)"
    # No live events were recorded here, so all are "only new".
    assert out["comparison"]["ltr"]["live"] == 0 and out["comparison"]["ltr"]["new"] == len(ltrs)

    # Deafer settings (EMG and force bumps) find fewer LTRs.
    assert main(["sessions", "redetect", "1", "--data-dir", str(tmp_path), "--json",
                 "--detector", "onset_ratio=100", "--detector", "onset_peak_ratio=20",
                 "--detector", "onset_hold_s=0.02", "--detector", "bump_ratio=100"]) == 0
    deaf = json.loads(capsys.readouterr().out)
    assert sum(e["kind"] == "ltr" for e in deaf["events"]) < len(ltrs)
    assert main(["sessions", "redetect", "1", "--data-dir", str(tmp_path), "--detector", "bogus=1"]) == 2
