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
import json
import math
from collections.abc import Callable
from pathlib import Path
import contextlib
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from twitchd.errors import StoreError
from twitchd.recordings import EVENT_FIELDS, write_samples
from twitchd.store.sessions import SessionStore, physical

FORMATS = ("edf", "csv", "events", "json")
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


#: The events export's columns after the detector's own: where each row came from.
#: Detector events are ``ltr``, ``twitch``, …; the practitioner's marks are
#: ``mark`` rows (their kind under ``mark``); review corrections are
#: ``correction`` rows (what they did under ``action``, the event they judge
#: under ``event_id`` or ``added_id``, the kind they give under ``new_kind``).
EXTRA_FIELDS = ("device", "id", "site", "label", "mark", "source", "action", "event_id", "added_id", "new_kind",
                "author", "created_at", "replaces", "samples")


def _site(site: dict[str, str] | None) -> str:
    return " ".join(v for v in (site or {}).values() if v)


def placed_corrections(events: list[dict[str, Any]],
                       corrections: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Each correction with where it sits on the time axis: ``(correction, what it judges)``.

    An added event sits where it was added; any other correction at the event
    (detector's or added) it judges. Corrections of another device's events
    are left out.
    """
    by_id = {e["id"]: e for e in events}
    added = {c["id"]: c for c in corrections if c["action"] == "add"}
    out = []
    for c in corrections:
        target = c if c["action"] == "add" else (
            by_id.get(c["event_id"]) if c["event_id"] is not None else added.get(c["added_id"]))
        if target is not None:
            out.append((c, target))
    return out


def timeline_rows(store: SessionStore, session_id: int, device: str) -> list[dict[str, object]]:
    """Detector events, marks, corrections and gaps of one device's session, by onset."""
    events = store.events(session_id, device)
    rows: list[dict[str, object]] = [{**e, "site": _site(e["site"])} for e in events]
    rows += [{"kind": "mark", "onset_s": m["t_s"], "end_s": m["t_s"], "id": m["id"], "label": m["text"],
              "mark": m["kind"], "source": m["source"], "site": _site(m["site"])} for m in store.markers(session_id)]
    for c, target in placed_corrections(events, store.corrections(session_id)):
        rows.append({"kind": "correction", "onset_s": target["onset_s"], "end_s": target["end_s"], "id": c["id"],
                     "action": c["action"],
                     "event_id": c["event_id"], "added_id": c["added_id"], "new_kind": c["kind"],
                     "author": c["author"], "created_at": c["created_at"], "replaces": c["replaces"],
                     "label": c["note"]})
    rows += [{"kind": "gap", "onset_s": g.onset_s, "end_s": g.onset_s + g.duration_s, "samples": g.samples}
             for g in store.gaps(session_id, device)]
    rows.sort(key=lambda r: float(r["onset_s"]))  # type: ignore[arg-type]
    return rows


def export_events(store: SessionStore, session_id: int, out: TextIO, device: str | None = None) -> int:
    """Events, marks, corrections and gaps in one CSV, by onset; returns rows written."""
    dev = store.device(session_id, device)
    rows = timeline_rows(store, session_id, dev.name)
    fields = [*EVENT_FIELDS, *EXTRA_FIELDS]
    writer = csv.writer(out)
    writer.writerow(fields)
    for r in rows:
        writer.writerow(["" if r.get(f) is None else _fmt(r.get(f)) for f in fields])
    return len(rows)


def edf_annotations(store: SessionStore, session_id: int, device: str) -> list[tuple[float, float, str]]:
    """``(onset, duration, text)``: each source under its own prefix, so a reader can tell them apart.

    Detector events keep their bare kind (``ltr``); marks are ``mark: felt_ltr``
    (a note's text after it); corrections ``review: reject ltr (author)``; site
    changes ``site: upper trapezius left TrP1``; gaps ``gap``.
    """
    out: list[tuple[float, float, str]] = []
    events = store.events(session_id, device)
    for e in events:
        out.append((max(0.0, e["onset_s"]), max(0.0, e["end_s"] - e["onset_s"]), e["kind"]))
    for m in store.markers(session_id):
        out.append((max(0.0, m["t_s"]), -1, f"mark: {m['kind']}" + (f": {m['text']}" if m["text"] else "")))
    for c, target in placed_corrections(events, store.corrections(session_id)):
        old = target["kind"]
        what = {"add": f"add {old}", "relabel": f"relabel {old} as {c['kind']}"}.get(c["action"], f"{c['action']} {old}")
        onset, end = target["onset_s"], target["end_s"]
        out.append((max(0.0, onset), max(0.0, end - onset), f"review: {what} ({c['author']})"))
    for s in store.sites(session_id):
        label = " ".join(v for v in (s["muscle"], s["side"], s["point"]) if v) or "none"
        out.append((max(0.0, s["t_s"]), -1, f"site: {label}"))
    for g in store.gaps(session_id, device):
        out.append((g.onset_s, g.duration_s, "gap"))
    return out


def export_json(store: SessionStore, session_id: int, out: TextIO, device: str | None = None) -> int:
    """The session's facts and whole timeline (no samples) as one JSON object; returns timeline rows."""
    from twitchd.store.detail import session_detail

    store.device(session_id, device)
    detail = session_detail(store, session_id)
    json.dump(detail, out, indent=1)
    out.write("\n")
    return len(detail["event_list"]) + len(detail["marker_list"]) + len(detail["corrections"])


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
        for onset, duration, text in edf_annotations(store, session_id, dev.name):
            writer.writeAnnotation(onset, duration, text)
    finally:
        writer.close()
    return done


def export_to(s: SessionStore, session_id: int, fmt: str, out: Path, progress: Any = None) -> int:
    """One export into ``out``; the CLI and the API share it."""
    kw = {"progress": progress} if progress is not None else {}
    s.device(session_id)  # an unknown session fails before any file is made
    if fmt == "edf":
        return export_edf(s, session_id, out, **kw)
    try:
        with out.open("w", newline="") as fh:
            if fmt == "csv":
                return export_csv(s, session_id, fh, **kw)
            if fmt == "json":
                return export_json(s, session_id, fh)
            return export_events(s, session_id, fh)
    except StoreError:
        raise
    except OSError as exc:
        with contextlib.suppress(OSError):
            out.unlink()
        raise StoreError(f"cannot write {out}: {exc.strerror or exc}") from exc
