#!/usr/bin/env python3
"""Self-check of sim2: render one condition, print event counts, per-kind
durations and measured SNRs, verify the truth's invariants, and save a 20 s
plot (emg_v, force_n, truth spans) to /tmp/sim2_check.png if matplotlib is
available.

    python benchmarks/sim2/check.py [--seed 1 --minutes 4 --rate 2000 --bits 12
                                     --mains 50 --snr normal --scenario session]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent
if str(_HERE) in sys.path:
    sys.path.remove(str(_HERE))
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402
from scipy import signal  # noqa: E402

from sim2.conditions import Condition  # noqa: E402
from sim2.render import simulate  # noqa: E402

EVENTS = ("ltr", "twitch", "contraction")
COLOURS = {"ltr": "tab:red", "twitch": "tab:orange", "contraction": "tab:purple",
           "artifact": "tab:grey", "press": "tab:blue", "hold": "tab:green"}


def verify(truth: list[dict], force: np.ndarray, rate: int, scenario: str) -> list[str]:
    """Invariants the brief asks for; returns a list of violations."""
    bad = []
    ev = sorted([d for d in truth if d["kind"] in EVENTS], key=lambda d: d["onset_s"])
    for a, b in zip(ev, ev[1:]):
        if b["onset_s"] - a["end_s"] < 0.3 - 1e-6:
            bad.append(f"events closer than 300 ms: {a} {b}")
    presses = [d for d in truth if d["kind"] == "press"]
    for d in truth:
        dur = d["end_s"] - d["onset_s"]
        k = d["kind"]
        if k in ("ltr", "twitch") and not 0.03 <= dur <= 0.5:
            bad.append(f"{k} duration {dur:.3f}")
        if k == "contraction" and dur < 1.5:
            bad.append(f"contraction duration {dur:.3f}")
        if k == "twitch":
            i0, i1 = int(d["onset_s"] * rate), int(d["end_s"] * rate)
            if force[i0:i1].max() > 0:
                bad.append(f"twitch under pressure at {d['onset_s']}")
        if k == "hold" and not any(p["onset_s"] <= d["onset_s"] and d["end_s"] <= p["end_s"] for p in presses):
            bad.append(f"hold outside a press at {d['onset_s']}")
        if k == "ltr" and not any(p["onset_s"] - 0.3 <= d["onset_s"] <= p["end_s"] + 0.1 for p in presses):
            bad.append(f"ltr without pressure at {d['onset_s']}")
    if scenario == "holds" and ev:
        bad.append(f"holds scenario has {len(ev)} events")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--minutes", type=float, default=4)
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--bits", type=int, default=12)
    ap.add_argument("--mains", type=int, default=50)
    ap.add_argument("--snr", default="normal")
    ap.add_argument("--scenario", default="session")
    ap.add_argument("--png", default="/tmp/sim2_check.png")
    ap.add_argument("--start", type=float, default=None, help="plot window start (s)")
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    res = simulate(Condition(a.rate, a.bits, a.mains, a.snr), a.minutes, a.seed, a.scenario)
    print(f"render: {time.perf_counter() - t0:.2f} s for {a.minutes} min at {a.rate} Hz, {a.bits} bit")
    emg, force, rate = res.emg_v, res.force_n, res.rate
    mins = a.minutes
    print(f"{'kind':12s} {'n':>4s} {'/min':>6s} {'dur min':>8s} {'median':>8s} {'max':>8s}")
    for k in ("ltr", "twitch", "contraction", "artifact", "press", "hold"):
        ds = np.array([d["end_s"] - d["onset_s"] for d in res.truth if d["kind"] == k])
        if len(ds):
            print(f"{k:12s} {len(ds):4d} {len(ds) / mins:6.2f} {ds.min():8.3f} {np.median(ds):8.3f} {ds.max():8.3f}")
        else:
            print(f"{k:12s} {0:4d}")
    hold_min = sum(d["end_s"] - d["onset_s"] for d in res.truth if d["kind"] == "hold") / 60
    print(f"hold time: {hold_min:.2f} min")

    # measured SNR: burst rms / rms of quiet, no-press, no-event stretches,
    # both after a 20-450 Hz band-pass and a notch of the hum (what a detector does)
    b, aa = signal.butter(4, [20, 450], "bandpass", fs=rate)
    y = signal.filtfilt(b, aa, emg - emg.mean())
    for h in (1, 2, 3, 5, 7, 9):
        f0 = a.mains * h
        if f0 < rate / 2 - 5:
            bn, an = signal.iirnotch(f0, 30, fs=rate)
            y = signal.filtfilt(bn, an, y)
    busy = np.zeros(len(y), bool)
    for d in res.truth:
        if d["kind"] in EVENTS + ("artifact", "press"):
            busy[max(0, int((d["onset_s"] - 0.5) * rate)): int((d["end_s"] + 0.5) * rate)] = True
    for s0, s1 in res.meta["tonic_spans"]:
        busy[int(s0 * rate): int(s1 * rate)] = True
    quiet = y[~busy]
    nrms = float(np.sqrt(np.mean(quiet ** 2))) if len(quiet) > rate else float("nan")
    print(f"quiet floor (after band-pass + notches): {nrms * 1e3:.3f} mV at RAW "
          f"= {nrms / 200 * 1e6:.2f} uV at skin; model floor {res.meta['floor_rms_skin_v'] * 1e6:.2f} uV")
    for k in EVENTS:
        r = [float(np.sqrt(np.mean(y[int(d["onset_s"] * rate): int(d["end_s"] * rate)] ** 2)) / nrms)
             for d in res.truth if d["kind"] == k]
        if r:
            print(f"measured {k:11s} (rms incl. noise)/floor: min {min(r):5.1f} median {np.median(r):5.1f} max {max(r):5.1f}")
    bad = verify(res.truth, force, rate, a.scenario)
    print("invariants:", "OK" if not bad else f"{len(bad)} violations")
    for x in bad[:20]:
        print("  ", x)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not available: no plot")
        return 1 if bad else 0
    if a.start is None:   # the 20 s window with the most events
        ons = np.array([d["onset_s"] for d in res.truth if d["kind"] in EVENTS])
        cands = np.arange(0, max(a.minutes * 60 - 20, 1), 1.0)
        score = [np.sum((ons >= c) & (ons < c + 20)) for c in cands]
        start = float(cands[int(np.argmax(score))])
    else:
        start = a.start
    i0, i1 = int(start * rate), int((start + 20) * rate)
    t = np.arange(i0, i1) / rate
    fig, ax = plt.subplots(3, 1, figsize=(16, 9), sharex=True, gridspec_kw={"height_ratios": [3, 2, 2]})
    ax[0].plot(t, emg[i0:i1], lw=0.4, color="k")
    ax[0].set_ylabel("emg_v (V, RAW)")
    ax[1].plot(t, y[i0:i1] * 1e3, lw=0.4, color="k")
    ax[1].set_ylabel("band-passed + notched (mV)")
    ax[2].plot(t, force[i0:i1], lw=0.7, color="tab:blue")
    ax[2].set_ylabel("force_n (N)")
    for d in res.truth:
        if d["end_s"] < start or d["onset_s"] > start + 20:
            continue
        k = d["kind"]
        if k in ("press", "hold"):
            ax[2].axvspan(d["onset_s"], d["end_s"], color=COLOURS[k], alpha=0.12 if k == "press" else 0.2)
        else:
            for axis in ax[:2]:
                axis.axvspan(d["onset_s"], d["end_s"], color=COLOURS[k], alpha=0.3)
            ax[0].text(d["onset_s"], ax[0].get_ylim()[1], k, fontsize=7, va="top", color=COLOURS[k])
    ax[2].set_xlabel("time (s)")
    ax[2].set_xlim(start, start + 20)
    ax[0].set_title(f"sim2 seed {a.seed} {a.scenario} {a.rate} Hz {a.bits} bit {a.mains} Hz snr={a.snr}")
    fig.tight_layout()
    fig.savefig(a.png, dpi=110)
    print("plot:", a.png, f"({start:.0f}-{start + 20:.0f} s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
