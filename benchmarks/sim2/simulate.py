#!/usr/bin/env python3
"""Render one simulated twitchd recording (sim2) to CSV + truth JSONL.

    python benchmarks/sim2/simulate.py --seed 1 --minutes 4 --rate 2000 \
        --bits 12 --mains 50 --snr normal --scenario session --out /tmp/s.csv

writes /tmp/s.csv, /tmp/s.truth.jsonl and /tmp/s.meta.json.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

# Run as a script: make ``sim2`` importable as a package from benchmarks/.
_HERE = Path(__file__).resolve().parent
if str(_HERE) in sys.path:
    sys.path.remove(str(_HERE))          # our module names must not shadow anything
sys.path.insert(0, str(_HERE.parent))

from sim2.conditions import Condition  # noqa: E402
from sim2.render import simulate  # noqa: E402
from sim2.writers import meta_path, truth_path, write_csv, write_meta, write_truth  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--minutes", type=float, required=True)
    ap.add_argument("--rate", type=int, choices=[1000, 2000], default=2000)
    ap.add_argument("--bits", type=int, choices=[10, 12], default=12)
    ap.add_argument("--mains", type=int, choices=[50, 60], default=50)
    ap.add_argument("--snr", choices=["normal", "low"], default="normal")
    ap.add_argument("--scenario", choices=["session", "holds"], default="session")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--no-meta", action="store_true", help="do not write PATH.meta.json")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = simulate(Condition(a.rate, a.bits, a.mains, a.snr), a.minutes, a.seed, a.scenario)
    t1 = time.perf_counter()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(res, a.out)
    write_truth(res, truth_path(a.out))
    if not a.no_meta:
        write_meta(res, meta_path(a.out))
    t2 = time.perf_counter()
    if not a.quiet:
        counts: dict[str, int] = {}
        for d in res.truth:
            counts[d["kind"]] = counts.get(d["kind"], 0) + 1
        print(f"{a.out}: {len(res.emg_codes)} rows, render {t1 - t0:.2f} s, write {t2 - t1:.2f} s; "
              + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
