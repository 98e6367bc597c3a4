"""Output files: the CSV ``twitchd detect`` reads, the truth JSONL and a meta
JSON with the realised parameters (per-event SNR, FSR part, supply...).

The CSV is formatted through lookup tables (every EMG and FSR value is one
of a few thousand converter codes), which is what makes writing 480 000 rows
take a fraction of a second instead of several seconds with ``np.savetxt``.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .force import nominal_newtons
from .render import Result


def truth_path(csv_path: Path) -> Path:
    """PATH.csv -> PATH.truth.jsonl (same stem)."""
    return Path(str(csv_path.with_suffix("")) + ".truth.jsonl")


def meta_path(csv_path: Path) -> Path:
    return Path(str(csv_path.with_suffix("")) + ".meta.json")


def write_csv(res: Result, path: Path) -> None:
    n = len(res.emg_codes)
    emg_max = int(res.emg_codes.max()) + 1
    fsr_max = int(res.fsr_codes.max()) + 1
    emg_tab = [f"{c * res.emg_scale:.6f}" for c in range(emg_max)]
    fv = nominal_newtons(np.arange(fsr_max) * res.fsr_scale, res.vs_nominal)
    fsr_tab = [f"{x:.4f}" for x in fv]
    idx = np.arange(n)
    step = 1_000_000 // res.rate
    ts = [f"{s}.{u:06d}" for s, u in zip((idx // res.rate).tolist(), ((idx % res.rate) * step).tolist())]
    e = [emg_tab[c] for c in res.emg_codes.tolist()]
    f = [fsr_tab[c] for c in res.fsr_codes.tolist()]
    with open(path, "w", newline="\n") as fh:
        fh.write("time_s,emg_v,force_n\n")
        fh.write("\n".join(map(",".join, zip(ts, e, f))))
        fh.write("\n")


def write_truth(res: Result, path: Path) -> None:
    with open(path, "w") as fh:
        for d in res.truth:
            fh.write(json.dumps(d) + "\n")


def write_meta(res: Result, path: Path) -> None:
    with open(path, "w") as fh:
        json.dump(res.meta, fh, indent=1, default=float)
