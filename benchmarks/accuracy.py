"""Accuracy of `twitchd detect` on simulated sessions it was not tuned on.

For each condition (sample rate x ADC bits x mains x SNR) and seed, it writes a
session with `twitchd simulate`, runs `twitchd detect` on it, and scores the
events against the simulator's truth. An event matches a true one of the same
kind when their onsets are within 100 ms (press: 500 ms); events in the
detector's first ``warmup_s`` (0.5 s) are not scored. It prints precision,
recall and F1 per kind, the LTRs wrongly flagged on artifacts, twitches and
contractions, the latency from true LTR onset to the final decision, and the
LTRs found by their place in a series at one trigger point (they habituate:
each repeat is smaller, so a detector that a large first LTR blinds misses the
later ones; ``--ltrs-per-press 6`` makes every series six long).

Usage: .venv/bin/python benchmarks/accuracy.py [--seeds 900 901] [--minutes 5] [--json] [--only TEXT] [--list]
       [--ltrs-per-press N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from twitchd.signal.matching import match_onsets
from twitchd.signal.params import DetectorParams

KINDS = ("ltr", "twitch", "contraction", "artifact", "press")
#: The detector learns the noise before it judges anything (``warmup_s``, a
#: documented limit); a true event the simulator placed in that time is scored
#: neither way.
WARMUP_S = DetectorParams().warmup_s
CONDITIONS = [
    {"rate": r, "bits": b, "mains": m, "snr": s}
    for r, b, m, s in itertools.product((1000, 2000), (10, 12), (50, 60), ("normal", "low"))
]


@dataclass
class Score:
    tp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    fp: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    fn: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    ltr_on: dict[str, int] = field(default_factory=lambda: {"artifact": 0, "twitch": 0, "contraction": 0})
    true_count: dict[str, int] = field(default_factory=lambda: {"artifact": 0, "twitch": 0, "contraction": 0})
    latency: list[float] = field(default_factory=list)
    #: LTRs by their place in the series at one trigger point: [found, true].
    by_repeat: dict[int, list[int]] = field(default_factory=dict)

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for k in KINDS:
            tp, fp, fn = self.tp[k], self.fp[k], self.fn[k]
            out[k] = {"precision": round(tp / max(1, tp + fp), 3), "recall": round(tp / max(1, tp + fn), 3),
                      "f1": round(2 * tp / max(1, 2 * tp + fp + fn), 3), "tp": tp, "fp": fp, "fn": fn}
        out["ltr_flagged_on"] = {k: f"{self.ltr_on[k]}/{self.true_count[k]}" for k in self.ltr_on}
        lat = np.array(self.latency)
        out["ltr_latency_ms"] = ({"median": round(float(np.median(lat)) * 1000), "p95": round(float(np.percentile(lat, 95)) * 1000)}
                                 if len(lat) else None)
        out["ltr_found_by_repeat"] = {str(r + 1): f"{hit}/{n}" for r, (hit, n) in sorted(self.by_repeat.items())}
        return out


def twitchd(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "twitchd", *args], capture_output=True, text=True, check=True)
    return done.stdout


def near(events: list[dict[str, float]], at_s: float, within_s: float = 0.6) -> str:
    """What else happened around a miss or a false flag, for the listing."""
    return ", ".join(f"{e['kind']} {e['onset_s'] - at_s:+.3f} s ({e['end_s'] - e['onset_s']:.3f} s long)"
                     for e in events if e["kind"] != "press"
                     and (abs(e["onset_s"] - at_s) < within_s or e["onset_s"] <= at_s <= e["end_s"])) or "nothing"


def score(truth: list[dict[str, float]], found: list[dict[str, float]], end_s: float, into: Score,
          listing: str | None = None) -> None:
    """Add one session to ``into``; with ``listing`` (a label), print each miss and false flag."""
    truth = [t for t in truth if WARMUP_S <= t["onset_s"] and t["end_s"] < end_s - 0.5]
    found = [f for f in found if WARMUP_S <= f["onset_s"] < end_s - 0.5]
    for kind in KINDS:
        tol = 0.5 if kind == "press" else 0.1
        wanted = [t for t in truth if t["kind"] == kind]
        got = [f for f in found if f["kind"] == kind]
        pairs = match_onsets([t["onset_s"] for t in wanted], [f["onset_s"] for f in got], tol)
        into.tp[kind] += len(pairs)
        into.fn[kind] += len(wanted) - len(pairs)
        into.fp[kind] += len(got) - len(pairs)
        if listing is not None and kind in ("ltr", "twitch", "contraction"):
            hit, flagged = {i for i, _ in pairs}, {j for _, j in pairs}
            for t in (t for i, t in enumerate(wanted) if i not in hit):
                print(f"  {listing} missed {kind} at {t['onset_s']:.3f} s ({t['end_s'] - t['onset_s']:.3f} s long, "
                      f"{t['force_n']:.1f} N); flagged near it: {near(found, t['onset_s'])}")
            for f in (f for j, f in enumerate(got) if j not in flagged):
                print(f"  {listing} false {kind} at {f['onset_s']:.3f} s ({f['end_s'] - f['onset_s']:.3f} s long); "
                      f"true near it: {near(truth, f['onset_s'])}")
        if kind == "ltr":
            hit = {i for i, _ in pairs}
            for i, t in enumerate(wanted):
                tally = into.by_repeat.setdefault(int(t.get("repeat", 0)), [0, 0])
                tally[0] += i in hit
                tally[1] += 1
            into.latency += [got[j]["decided_s"] - wanted[i]["onset_s"] for i, j in pairs]
    for kind in into.ltr_on:
        others = [t for t in truth if t["kind"] == kind]
        into.true_count[kind] += len(others)
        for t in others:
            if any(f["kind"] == "ltr" and f["onset_s"] <= t["end_s"] and f["end_s"] >= t["onset_s"] for f in found):
                into.ltr_on[kind] += 1


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="+", default=[900, 901])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", default="", help='run the conditions whose label holds this text, e.g. "1000 Hz, 12-bit"')
    ap.add_argument("--list", action="store_true",
                    help="print each missed and each falsely flagged LTR, twitch and contraction, with what was near it")
    ap.add_argument("--ltrs-per-press", type=int, help="LTRs at every trigger point (default: the simulator's 2 to 4)")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for cond in CONDITIONS:
            label = f"{cond['rate']} Hz, {cond['bits']}-bit, {cond['mains']} Hz mains, {cond['snr']} SNR"
            if args.only not in label:
                continue
            total = Score()
            for seed in args.seeds:
                csv = Path(tmp) / f"s{seed}.csv"
                twitchd("simulate", "--duration", str(args.minutes * 60), "--seed", str(seed), "--out", str(csv),
                        "--rate", str(cond["rate"]), "--bits", str(cond["bits"]), "--mains", str(cond["mains"]),
                        "--snr", str(cond["snr"]),
                        *(["--ltrs-per-press", str(args.ltrs_per_press)] if args.ltrs_per_press else []))
                truth = [json.loads(line) for line in csv.with_name(csv.stem + ".truth.jsonl").read_text().splitlines()]
                found = [json.loads(line) for line in twitchd("detect", str(csv)).splitlines()]
                score(truth, found, args.minutes * 60, total, f"seed {seed}:" if args.list and not args.json else None)
            results[label] = total.summary()
            if not args.json:
                s = results[label]
                f1s = "  ".join(f"{k} {s[k]['f1']:.2f}" for k in KINDS)  # type: ignore[index]
                print(f"{label:42s} F1: {f1s}  LTR on artifact/twitch/contraction {s['ltr_flagged_on']}  "
                      f"latency {s['ltr_latency_ms']}  LTRs found by place in series {s['ltr_found_by_repeat']}", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
