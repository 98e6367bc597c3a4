"""Exporting a session: CSV for ``twitchd detect``, an event list, and EDF+.

Gaps (samples lost on the link, or while a device restarted) are handled so
that no file claims data it does not have:

* CSV holds only real samples, never NaN or empty cells: ``time_s`` jumps over
  a gap (``twitchd detect`` reads it back as-is). The gaps are in the events
  export, as rows of kind ``gap``. ``unix_time`` is when each sample was
  taken, from the board's clock mapped onto the host's (twitchd.clock): free
  of arrival jitter, and following the board's drift, so two sensors (or a
  video) recorded together line up on it.
* EDF+ needs a continuous sample grid, so a gap is filled with the signal's
  digital minimum (EDF's customary "no data" value; valid samples are never
  coded as it) and announced by a ``gap`` annotation with its duration.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

from twitchd.errors import StoreError
from twitchd.recordings import EVENT_FIELDS, write_samples
from twitchd.store.sessions import SessionStore, physical

FORMATS = ("edf", "csv", "events")
#: Progress callback: (samples done, samples in all).
Progress = Callable[[int, int], None]
#: Force beyond this is clipped in EDF (the FSR 402 saturates far below it).
EDF_FORCE_MAX_N = 200.0
EDF_DMIN, EDF_DMAX = -32768, 32767


def _none(done: int, total: int) -> None:
    pass


def export_csv(store: SessionStore, session_id: int, out: TextIO, device: str | None = None,
               progress: Progress = _none) -> int:
    """``time_s,emg_v,force_n[,env_v],unix_time`` rows, time from the first recorded sample; returns rows written."""
    dev = store.device(session_id, device)
    columns = ["time_s", "emg_v"] + (["force_n"] if dev.cmap.force is not None else []) + \
        (["env_v"] if dev.cmap.env is not None else []) + ["unix_time"]
    out.write(",".join(columns) + "\n")
    done = 0

    def write(first: int, host_time: float, period: float, counts: npt.NDArray[np.uint16]) -> None:
        nonlocal done
        values = physical(dev.cmap, counts)
        steps = np.arange(counts.shape[0])
        values["time_s"] = (first + steps) / dev.rate_hz
        values["unix_time"] = host_time + steps * period
        write_samples(out, columns, values)
        done += counts.shape[0]
        progress(done, dev.samples)

    # A sample's host period is read off the next chunk's stamp (the board's true
    # rate, as the host clock sees it), so unix_time runs on across chunks.
    held: tuple[int, float, npt.NDArray[np.uint16]] | None = None
    period = 1.0 / dev.rate_hz
    for first, host_time, counts in store.timed_chunks(session_id, dev.name):
        if held is not None:
            if first > held[0] and host_time > held[1]:
                period = (host_time - held[1]) / (first - held[0])
            write(*held[:2], period, held[2])
        held = (first, host_time, counts)
    if held is not None:
        write(*held[:2], period, held[2])
    return done


def export_events(store: SessionStore, session_id: int, out: TextIO, device: str | None = None) -> int:
    """Events, markers and gaps in one CSV, by onset; returns rows written."""
    dev = store.device(session_id, device)
    rows: list[dict[str, object]] = [dict(e) for e in store.events(session_id, dev.name)]
    rows += [{"kind": "marker", "onset_s": m["t_s"], "end_s": m["t_s"], "label": m["label"]}
             for m in store.markers(session_id)]
    rows += [{"kind": "gap", "onset_s": g.onset_s, "end_s": g.onset_s + g.duration_s, "samples": g.samples}
             for g in store.gaps(session_id, dev.name)]
    rows.sort(key=lambda r: float(r["onset_s"]))  # type: ignore[arg-type]
    fields = [*EVENT_FIELDS, "device", "label", "samples"]
    writer = csv.writer(out)
    writer.writerow(fields)
    for r in rows:
        writer.writerow(["" if r.get(f) is None else _fmt(r.get(f)) for f in fields])
    return len(rows)


def _fmt(value: object) -> object:
    return round(value, 6) if isinstance(value, float) else value


def _edf_field(text: str, limit: int) -> str:
    """EDF+ header subfields are ASCII without spaces (the spec says to use '_'), and short."""
    return "".join(c if 33 <= ord(c) < 127 else "_" for c in text.strip())[:limit]


def _digital(values: npt.NDArray[np.float64], pmin: float, pmax: float) -> npt.NDArray[np.int32]:
    """Physical to digital with the header's own scale; EDF_DMIN stays reserved for gaps."""
    scale = (EDF_DMAX - EDF_DMIN) / (pmax - pmin)
    d = np.round((np.clip(values, pmin, pmax) - pmin) * scale + EDF_DMIN)
    return np.clip(d, EDF_DMIN + 1, EDF_DMAX).astype(np.int32)


def export_edf(store: SessionStore, session_id: int, path: Path, device: str | None = None,
               progress: Progress = _none) -> int:
    """EDF+ (continuous) with events, markers and gaps as annotations; returns samples written.

    EMG (raw and envelope) in mV over the ADC's whole range, force in N over
    0..EDF_FORCE_MAX_N. One data record per second, so the rate must be whole.
    """
    import pyedflib

    dev = store.device(session_id, device)
    summary = store.summary(session_id)
    rate = dev.rate_hz
    full = dev.cmap.force_full_scale
    signals: list[tuple[str, str, str, float, float]] = [("emg_v", "EMG raw", "mV", 0.0, dev.cmap.emg_scale * full * 1e3)]
    if dev.cmap.force is not None:
        signals.append(("force_n", "Force", "N", 0.0, EDF_FORCE_MAX_N))
    if dev.cmap.env is not None:
        signals.append(("env_v", "EMG envelope", "mV", 0.0, dev.cmap.env_scale * full * 1e3))
    records = max(1, math.ceil((dev.end_index - dev.first_index) / rate))
    force_transducer = "FSR 402 (nominal curve)" if dev.cmap.nominal_force else "FSR 402 (calibrated with known weights)"
    try:
        writer = pyedflib.EdfWriter(str(path), len(signals), file_type=pyedflib.FILETYPE_EDFPLUS)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc}") from exc
    try:
        writer.setSignalHeaders([{
            "label": label, "dimension": unit, "sample_frequency": rate, "physical_min": pmin,
            "physical_max": round(pmax, 3), "digital_min": EDF_DMIN, "digital_max": EDF_DMAX,
            "transducer": "MyoWare 2.0" if unit == "mV" else force_transducer, "prefilter": "",
        } for _, label, unit, pmin, pmax in signals])
        writer.setPatientCode(_edf_field(summary["patient"], 60))
        writer.setEquipment(_edf_field(f"{dev.board} {dev.firmware} {dev.device_id}", 24))
        writer.setRecordingAdditional(_edf_field(f"{summary['muscle']} {summary['side']} {summary['technique']}", 32))
        writer.setStartdatetime(dt.datetime.fromisoformat(summary["started_at"]).replace(tzinfo=None, microsecond=0))
        block = np.full((len(signals), rate), EDF_DMIN, dtype=np.int32)
        record = 0
        done = 0
        origin = dev.first_index

        def flush_until(upto: int) -> None:
            nonlocal record
            while record < upto:
                writer.writeSamples([np.ascontiguousarray(row) for row in block], digital=True)
                block.fill(EDF_DMIN)
                record += 1

        for first, counts in store.chunks(session_id, dev.name):
            values = physical(dev.cmap, counts)
            digital = [_digital(values[key] * (1e3 if unit == "mV" else 1.0), pmin, pmax)
                       for key, _, unit, pmin, pmax in signals]
            pos, n = first - origin, counts.shape[0]
            k = 0
            while k < n:
                rec, offset = divmod(pos + k, rate)
                flush_until(rec)
                take = min(n - k, rate - offset)
                for s, d in enumerate(digital):
                    block[s, offset:offset + take] = d[k:k + take]
                k += take
            done += n
            progress(done, dev.samples)
        flush_until(records)
        for e in store.events(session_id, dev.name):
            writer.writeAnnotation(max(0.0, e["onset_s"]), max(0.0, e["end_s"] - e["onset_s"]), e["kind"])
        for m in store.markers(session_id):
            writer.writeAnnotation(max(0.0, m["t_s"]), -1, f"marker: {m['label']}")
        for g in store.gaps(session_id, dev.name):
            writer.writeAnnotation(g.onset_s, g.duration_s, "gap")
    finally:
        writer.close()
    return done
