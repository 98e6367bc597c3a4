"""A session's clinical picture, site by site: its LTRs, whether it still responds, its PPT.

What a practitioner asks after treating several trigger points: at each
site, how many LTRs, at what force, did they fade (habituation: each
repeat is smaller, and a treated point stops responding; Baraja-Vegas 2020
saw sEMG peak RMS fall over the first three LTRs), and what was the pressure
pain threshold. The report, the dashboard's body chart and the API all read
this one summary.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from twitchd.marks import NO_SITE, Site
from twitchd.ppt import MAX_RAMP_S, PptSummary, read_trial
from twitchd.store.sessions import SessionStore
from twitchd.store.traceview import sample_runs

#: A site is *quieted* when, after it has given at least one LTR, this many presses in a row at it
#: have given none: the practitioner's own rule for moving on (three presses without a response
#: after a series), and what habituation looks like in the detector's counts.
QUIET_PRESSES = 3


def _site(data: dict[str, Any] | None) -> Site:
    return Site.from_json(data) if data else NO_SITE


def ppt_readings(store: SessionStore, session_id: int, at_s: float | None = None) -> list[dict[str, Any]]:
    """Every PPT trial (or only the one pressed at ``at_s``, to a millisecond) with its threshold
    and ramp read off the stored force."""
    rows = store.db.execute("SELECT id, series, t_s, source, device, device_time_us, site, calibration FROM ppt_trials"
                            " WHERE session_id = ? AND (? IS NULL OR abs(t_s - ?) < 1e-3) ORDER BY t_s, id",
                            (session_id, at_s, at_s)).fetchall()
    out = []
    for trial_id, series, t_s, source, device, device_us, site, calibration in rows:
        dev = store.device(session_id, device) if device else store.device(session_id)
        rate = dev.rate_hz
        press = round(t_s * rate)
        reading: dict[str, Any] = {"force_n": None, "rate_n_per_s": None, "ramp_start_s": None,
                                   "warnings": ["no force channel on this device"]}
        if dev.cmap.force is not None:
            runs = [r for r in sample_runs(store, session_id, dev.name, dev.cmap,
                                           press - round((MAX_RAMP_S + 1) * rate), press)
                    if r[2] is not None and r[0] < press]
            if runs:
                first, _, force = runs[-1]
                assert force is not None
                reading = read_trial(force, rate, press - first).to_json()
                if reading["ramp_start_s"] is not None:  # read_trial counts from the run's first sample
                    reading["ramp_start_s"] = round(reading["ramp_start_s"] + first / rate, 3)
                if first + len(force) < press:
                    reading["warnings"].append("samples are missing at the press (a gap in the recording)")
            else:
                reading["warnings"] = ["no samples were recorded before the press"]
        out.append({"id": trial_id, "series": series, "t_s": round(t_s, 4), "source": source, "device": dev.name,
                    "device_time_us": device_us, "site": json.loads(site) if site else None,
                    "calibration": calibration, **reading})
    return out


def ppt_reading_at(store: SessionStore, session_id: int, t_s: float) -> dict[str, Any] | None:
    """The stored trial whose press is at ``t_s`` (to a millisecond), read off the force."""
    found = ppt_readings(store, session_id, t_s)  # only that trial's force is read
    return found[0] if found else None


def site_summaries(store: SessionStore, session_id: int) -> list[dict[str, Any]]:
    """Per site, in the order first worked on: LTRs (in order, with force and peak), presses, status, PPT."""
    devices = store.devices(session_id)
    events = store.events(session_id) if devices else []  # every device's: an algometer board has no LTRs
    timeline = store.site_timeline(session_id)
    marks = store.markers(session_id)
    trials = ppt_readings(store, session_id)
    order: list[Site] = []

    def note(site: Site) -> Site:
        if not site.empty and site not in order:
            order.append(site)
        return site

    for site in timeline.sites:
        note(site)
    ltrs: dict[Site, list[dict[str, Any]]] = {}
    presses: dict[Site, list[int]] = {}
    for e in events:
        site = note(_site(e.get("site")))
        if e["kind"] == "ltr":
            ltrs.setdefault(site, []).append({"onset_s": e["onset_s"], "force_n": e["force_n"],
                                              "peak_emg_v": e["peak_emg_v"], "id": e["id"]})
        elif e["kind"] == "press":
            presses.setdefault(site, []).append(int(e.get("ltr_count") or 0))
    felt: dict[Site, int] = {}
    for m in marks:
        if m["kind"] == "felt_ltr":
            site = note(_site(m["site"]))
            felt[site] = felt.get(site, 0) + 1
    by_site: dict[Site, list[dict[str, Any]]] = {}
    for t in trials:
        by_site.setdefault(note(_site(t["site"])), []).append(t)
    out = []
    for site in order:
        found = ltrs.get(site, [])
        counts = presses.get(site, [])
        forces = [x["force_n"] for x in found if x["force_n"] is not None]
        status = _status(found, counts)
        site_trials = by_site.get(site, [])
        out.append({
            "site": site.to_json(), "label": site.label(), "ltrs": len(found), "ltr_list": found,
            "force_n": None if not forces else {"median": round(float(np.median(forces)), 2),
                                                "min": round(min(forces), 2), "max": round(max(forces), 2)},
            "presses": len(counts), "presses_with_ltr": sum(c > 0 for c in counts), "felt_marks": felt.get(site, 0),
            "status": status, "quieted": status == "quieted",
            "ppt": {"trials": site_trials,
                    "summary": PptSummary.of([t["force_n"] for t in site_trials
                                               if t["force_n"] is not None and t["force_n"] > 0]).to_json()},
        })
    return out


def _status(ltrs: list[dict[str, Any]], presses: list[int]) -> str:
    """``no response`` (never an LTR), ``responding``, or ``quieted`` (QUIET_PRESSES presses without one since)."""
    if not ltrs and not any(presses):
        return "no response"
    last = max((k for k, c in enumerate(presses) if c > 0), default=-1)
    return "quieted" if len(presses) - 1 - last >= QUIET_PRESSES else "responding"
