"""Reading and writing recordings as CSV (``time_s,emg_v,force_n,…``).

The same form comes out of ``twitchd simulate`` (and later, session exports)
and goes into ``twitchd detect``, so a recording can be re-analysed anywhere.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from twitchd.errors import InputFileError
from twitchd.events import Event
from twitchd.sim import sensors
from twitchd.sim.session import SessionSimulator, SimConfig, TruthEvent

#: How each recording column is printed (µV resolution for volts, mN for force).
CSV_FORMATS = {"time_s": "%.6f", "emg_v": "%.6f", "env_v": "%.6f", "force_n": "%.4f", "unix_time": "%.6f"}

EVENT_FIELDS = ("kind", "onset_s", "end_s", "decided_s", "peak_emg_v", "force_n", "confidence")


@dataclass(frozen=True)
class Recording:
    emg_v: npt.NDArray[np.float64]
    force_n: npt.NDArray[np.float64]
    rate_hz: float


def read_csv(path: Path, rate_hz: float | None = None) -> Recording:
    """Columns by header name; ``time_s`` gives the rate unless ``rate_hz`` is set."""
    try:
        with path.open(newline="") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
            if "emg_v" not in header:
                raise InputFileError(f"{path}: no 'emg_v' column in the header (found: {', '.join(header) or 'nothing'})")
            data = np.loadtxt(fh, delimiter=",", ndmin=2, dtype=np.float64)
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InputFileError(f"{path}: not a numeric CSV below the header ({exc})") from exc
    if data.shape[0] == 0:
        raise InputFileError(f"{path}: no samples below the header")
    if data.shape[1] != len(header):
        raise InputFileError(f"{path}: {data.shape[1]} values per row but {len(header)} column names")
    emg = data[:, header.index("emg_v")]
    force = data[:, header.index("force_n")] if "force_n" in header else np.full(len(emg), np.nan)
    if rate_hz is None:
        if "time_s" not in header:
            raise InputFileError(f"{path}: no 'time_s' column; give the sample rate with --rate")
        steps = np.diff(data[:, header.index("time_s")])
        if len(steps) == 0 or not np.all(steps > 0):
            raise InputFileError(f"{path}: time_s must increase from row to row")
        rate_hz = float(1.0 / np.median(steps))
    if not np.isfinite(emg).all():
        raise InputFileError(f"{path}: emg_v has empty or non-numeric values")
    return Recording(emg, force, float(rate_hz))


def write_events(events: list[Event], fmt: str, out: TextIO) -> None:
    if fmt == "jsonl":
        for e in events:
            out.write(json.dumps({k: v for k, v in e.to_json().items() if k not in ("id", "device")}) + "\n")
        return
    writer = csv.writer(out)
    writer.writerow(EVENT_FIELDS)
    for e in events:
        row = e.to_json()
        writer.writerow(["" if row[f] is None else row[f] for f in EVENT_FIELDS])


def write_samples(out: TextIO, columns: Sequence[str], values: Mapping[str, npt.NDArray[np.float64]]) -> None:
    """Rows of a recording CSV, in ``columns`` order; the caller writes the header once."""
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([values[c] for c in columns]), delimiter=",",
               fmt=[CSV_FORMATS[c] for c in columns])
    out.write(buf.getvalue())


def simulate_csv(cfg: SimConfig, duration_s: float, out: Path) -> tuple[Path, list[TruthEvent]]:
    """A simulated recording as the daemon would calibrate it, and its truth beside it."""
    sim = SessionSimulator(cfg)
    n = int(round(duration_s * cfg.rate_hz))
    lsb = cfg.volts_per_count
    truth_path = out.with_name(out.stem + ".truth.jsonl")
    columns = ("time_s", "emg_v", "env_v", "force_n")
    with out.open("w", newline="") as fh:
        fh.write(",".join(columns) + "\n")
        for start in range(0, n, 200_000):
            counts = sim.read(min(200_000, n - start))
            volts = counts.astype(np.float64) * lsb
            write_samples(fh, columns, {
                "time_s": (start + np.arange(len(counts))) / cfg.rate_hz, "emg_v": volts[:, 0],
                "env_v": volts[:, 1], "force_n": sensors.fsr_newtons(volts[:, 2], cfg.supply_v)})
    truth = sim.truth_until(n / cfg.rate_hz)
    with truth_path.open("w") as fh:
        for event in truth:
            fh.write(json.dumps(event.as_dict()) + "\n")
    return truth_path, truth
