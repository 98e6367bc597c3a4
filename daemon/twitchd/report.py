"""The session report: one self-contained, printable HTML file.

What a practitioner files or hands on: the session's facts, the sites on a
body chart, LTRs and the force that drew them per site, the pressure pain
thresholds, habituation plots, a short trace around each LTR, the detector's
version and settings, and the agreement with the practitioner's marks. No
script, no network, no external file: the body chart and plots are inline
SVG, and a PDF is the browser's print of the same page. Where something is
missing (no events, no calibration, no sites) the report says so.

``patient_report`` compares visits: PPT and LTR counts per site over time.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from html import escape
from typing import Any

from twitchd import __version__
from twitchd.errors import ReviewError, SessionNotFoundError
from twitchd.evaluate import evaluate_session
from twitchd.signal.params import DetectorParams
from twitchd.store.clinical import QUIET_PRESSES, site_summaries
from twitchd.store.sessions import SessionStore
from twitchd.store.traceview import session_trace
from twitchd.svgplot import habituation, trace, visits
from twitchd.webassets import web_root

#: Each LTR's trace: from this long before its onset to this long after (an LTR and what follows it).
TRACE_BEFORE_S, TRACE_AFTER_S = 0.3, 0.7
#: Buckets per trace: enough to see a burst's shape at print resolution, small enough that a
#: 30-minute session with hundreds of LTRs stays a light page (docs/performance.md).
TRACE_POINTS = 120

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#111;max-width:1000px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:22px 0 8px;border-bottom:1px solid #999}
h3{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:12.5px} th,td{border:1px solid #bbb;padding:3px 6px;text-align:left}
td.num,th.num{text-align:right} .muted{color:#555} .warn{color:#8a4b00;font-weight:600}
.facts td:first-child{font-weight:600;background:#f4f4f4}
.chart{display:flex;gap:18px;align-items:flex-start;flex-wrap:wrap} .chart svg.bodychart{width:480px;height:auto}
.traces{display:flex;flex-wrap:wrap;gap:8px} .traces figure{margin:0} .traces figcaption{font-size:10px}
.note{border-left:3px solid #8a4b00;padding:4px 8px;background:#fff7ec;margin:6px 0}
@media print{body{margin:10mm} h2{break-after:avoid} .site,.traces figure,table{break-inside:avoid}}
"""


def _fmt(v: float | None, digits: int = 1, unit: str = "") -> str:
    return "–" if v is None else f"{v:.{digits}f}{unit}"


def body_chart(sites: list[dict[str, Any]], current: dict[str, str] | None = None) -> str:
    """The dashboard's body chart (web/bodychart.svg) with each treated site filled, quieted ones hatched."""
    path = web_root() / "bodychart.svg"
    if not path.is_file():
        return '<p class="muted">(body chart not installed)</p>'
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    root = ET.fromstring(path.read_text())
    by_key = {(s["site"]["muscle"], s["site"]["side"]): s for s in sites if s["site"]}
    for el in root.iter():
        if "region" not in (el.get("class") or "").split():
            continue
        key = (el.get("data-muscle"), el.get("data-side"))
        found = by_key.get(key) or (by_key.get((key[0], "")) if key[0] else None)  # a site without a side
        if found is None:
            continue
        state = "quieted" if found["quieted"] else ("treated" if found["ltrs"] else "")
        classes = [c for c in (el.get("class") or "").split() if c not in ("treated", "quieted")]
        if state:
            classes.append(state)
        if current and (current.get("muscle"), current.get("side")) == key:
            classes.append("current")
        el.set("class", " ".join(classes))
        title = el.find("{http://www.w3.org/2000/svg}title")
        if title is not None:
            title.text = f"{found['label']}: {found['ltrs']} LTR, {found['status']}"
    return ET.tostring(root, encoding="unicode")


def _facts(summary: dict[str, Any]) -> str:
    started = summary["started_at"][:19].replace("T", " ")
    rows = [("Session", f"#{summary['id']}"), ("Patient", summary["patient"] or "(no patient code)"),
            ("Started (UTC)", started), ("Duration", f"{summary['duration_s'] / 60:.1f} min"),
            ("Practitioner", summary["practitioner"] or "–"), ("Technique", summary["technique"] or "–"),
            ("Notes", summary["notes"] or "–"),
            ("Samples", f"{summary['samples']:,} at {summary['sample_rate']} Hz; {summary['lost_samples']} lost"),
            ("Recorded with", f"twitchd {summary['app_version'] or '?'}; this report by twitchd {__version__}")]
    for d in summary["devices"]:
        rows.append((f"Device {d['name']}", f"{d['device_id']} ({d['board']}, firmware {d['firmware']}); force: "
                                            f"{d['calibration'] or 'nominal'}"))
    if not summary["complete"]:
        rows.append(("Ended", "not stopped cleanly (the daemon was killed or the disk filled); data up to the end"))
    return '<table class="facts">' + "".join(f"<tr><td>{escape(a)}</td><td>{escape(str(b))}</td></tr>"
                                             for a, b in rows) + "</table>"


def _notes(summary: dict[str, Any], sites: list[dict[str, Any]], ltrs: int) -> list[str]:
    out = []
    if ltrs == 0:
        out.append("No LTRs were detected in this session.")
    if not any(s["site"] for s in sites):
        out.append("No sites were set: every event is reported under \"no site\". Set the site on the body chart "
                   "or in the site picker while recording.")
    for d in summary["devices"]:
        if not d["calibration"] or d["calibration"].startswith("nominal"):
            out.append(f"The force sensor of {d['device_id']} was not calibrated: forces use the FSR 402 datasheet "
                       "curve and may be tens of percent off (twitchd calibrate). No PPT can be measured without one.")
    if not summary["devices"]:
        out.append("This session recorded no samples.")
    return out


def _site_table(sites: list[dict[str, Any]]) -> str:
    rows = []
    for s in sites:
        f = s["force_n"]
        ppt = s["ppt"]["summary"]
        ppt_text = "–" if not ppt["n"] else (f"{ppt['mean_n']:.1f} N" + (f" ± {ppt['sd_n']:.1f}" if ppt["sd_n"] is not None
                                                                          else "") + f" (n={ppt['n']})")
        force = "–" if f is None else f"{f['median']:.1f} ({f['min']:.1f}–{f['max']:.1f})"
        rows.append(
            f"<tr><td>{escape(s['label'])}</td><td class=num>{s['ltrs']}</td>"
            f"<td class=num>{force}</td>"
            f"<td class=num>{s['presses_with_ltr']}/{s['presses']}</td><td class=num>{s['felt_marks']}</td>"
            f"<td>{escape(s['status'])}</td><td class=num>{escape(ppt_text)}</td></tr>")
    return ("<table><thead><tr><th>Site</th><th class=num>LTRs</th><th class=num>Force at LTR, N: median (range)</th>"
            "<th class=num>Presses with LTR</th><th class=num>Felt marks</th><th>Status</th><th class=num>PPT mean ± SD"
            "</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def _ppt_table(s: dict[str, Any]) -> str:
    trials = s["ppt"]["trials"]
    if not trials:
        return ""
    rows = "".join(
        f"<tr><td class=num>{k + 1}</td><td class=num>{t['t_s']:.1f}</td><td class=num>{_fmt(t['force_n'])}</td>"
        f"<td class=num>{_fmt(t['rate_n_per_s'])}</td><td>{escape(t['source'])}</td>"
        f"<td>{escape(t['calibration'])}</td><td class=warn>{escape('; '.join(t['warnings']))}</td></tr>"
        for k, t in enumerate(trials))
    return ("<h3>Pressure pain threshold</h3><table><thead><tr><th class=num>Trial</th><th class=num>At (s)</th>"
            "<th class=num>PPT (N)</th><th class=num>Ramp (N/s)</th><th>Signalled by</th><th>Calibration</th>"
            "<th>Warnings</th></tr></thead><tbody>" + rows + "</tbody></table>")


def _traces(store: SessionStore, session_id: int, s: dict[str, Any], device: str | None) -> str:
    figures = []
    for k, ltr in enumerate(s["ltr_list"]):
        start = max(0.0, ltr["onset_s"] - TRACE_BEFORE_S)
        t = session_trace(store, session_id, device, start, TRACE_BEFORE_S + TRACE_AFTER_S, TRACE_POINTS)
        label = f"LTR {k + 1} at {ltr['onset_s']:.2f} s, {_fmt(ltr['force_n'])} N"
        figures.append(f"<figure>{trace(t['t0_s'], t['dt_s'], t['emg_min_v'], t['emg_max_v'], t['force_n'], ltr['onset_s'], label=label)}"
                       f"<figcaption>{escape(label)}</figcaption></figure>")
    return f'<div class="traces">{"".join(figures)}</div>' if figures else ""


def _agreement(store: SessionStore, session_id: int) -> str:
    try:
        ev = evaluate_session(store, session_id, "marks")
    except ReviewError as exc:
        return f'<p class="muted">{escape(str(exc))}.</p>'
    rows = [("all sites", ev.overall)] + [(site.label(), a) for site, a in ev.sites]

    def r(x: float | None) -> str:
        return _fmt(x, 2)

    body = "".join(f"<tr><td>{escape(name)}</td><td class=num>{a.detector}</td><td class=num>{a.reference}</td>"
                   f"<td class=num>{a.matched}</td><td class=num>{r(a.sensitivity)}</td><td class=num>{r(a.ppv)}</td>"
                   f"<td class=num>{r(a.f1)}</td><td class=num>{r(a.kappa)}</td><td class=num>{r(a.pabak)}</td></tr>"
                   for name, a in rows)
    lo, hi = ev.tolerance_s
    return (f"<p>The detector's LTRs against your felt-LTR marks: a mark {lo * 1e3:+.0f} to {hi * 1e3:+.0f} ms after "
            f"the detector's onset is a hit; κ and PABAK on {ev.window_s:g} s windows (docs/ground_truth.md). "
            "Practitioners agree with each other at κ ≈ 0.12–0.57.</p><table><thead><tr><th>Site</th><th class=num>"
            "Detector</th><th class=num>Marks</th><th class=num>Hits</th><th class=num>Sens</th><th class=num>PPV</th>"
            "<th class=num>F1</th><th class=num>κ</th><th class=num>PABAK</th></tr></thead><tbody>" + body +
            "</tbody></table>")


def _settings(store: SessionStore, session_id: int) -> str:
    history = store.detector_params(session_id)
    if not history or not history[0][1]:
        return '<p class="muted">This session was recorded before twitchd kept its detector settings.</p>'
    defaults = DetectorParams().as_dict()
    first_t, first = history[0]
    changed = {k: v for k, v in first.items() if defaults.get(k) != v}
    parts = ["<p>" + ("Default settings." if not changed else "Settings that differ from the defaults: " +
                      ", ".join(f"{escape(k)} = {v:g} (default {defaults.get(k, float('nan')):g})"
                                for k, v in changed.items())) + "</p>"]
    for t_s, params in history[1:]:
        diff = {k: v for k, v in params.items() if first.get(k) != v}
        parts.append(f"<p>Changed at {t_s:.1f} s: " + (", ".join(f"{escape(k)} = {v:g}" for k, v in diff.items())
                                                       or "no difference") + "</p>")
        first = params
    parts.append(f'<details><summary>All {len(history[-1][1])} settings</summary><table>' +
                 "".join(f"<tr><td>{escape(k)}</td><td class=num>{v:g}</td></tr>" for k, v in history[-1][1].items())
                 + "</table></details>")
    return "".join(parts)


def session_report(store: SessionStore, session_id: int) -> str:
    """The whole report as one HTML string (SessionNotFoundError for an unknown session)."""
    summary = store.summary(session_id)
    sites = site_summaries(store, session_id)
    device = summary["devices"][0]["name"] if summary["devices"] else None
    ltrs = sum(s["ltrs"] for s in sites)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in _notes(summary, sites, ltrs))
    site_sections = []
    for s in sites:
        peaks = [None if x["peak_emg_v"] is None else x["peak_emg_v"] * 1e3 for x in s["ltr_list"]]
        forces = [x["force_n"] for x in s["ltr_list"]]
        quiet = (f" (quieted: {QUIET_PRESSES} presses in a row without an LTR after its last)"
                 if s["quieted"] else "")
        site_sections.append(
            f'<section class="site"><h3>{escape(s["label"])}: {s["ltrs"]} LTR, {escape(s["status"])}{escape(quiet)}</h3>'
            f"{habituation(peaks, forces, label='peak EMG and force of each LTR at ' + s['label'])}"
            f"{_ppt_table(s)}{_traces(store, session_id, s, device) if device else ''}</section>")
    title = f"twitchd session {session_id}: {summary['patient'] or 'no patient code'}, {summary['started_at'][:10]}"
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>"
            f"<p class=muted>Made {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M')} UTC by twitchd {__version__}.</p>"
            f"{notes}<h2>Session</h2>{_facts(summary)}"
            f'<h2>Sites</h2><div class="chart">{body_chart(sites)}<div>{_site_table(sites) if sites else "<p>No sites.</p>"}'
            f"<p class=muted>Filled: gave LTRs and still responding; hatched: quieted. A force is the force at the "
            f"LTR's onset; the PPT is the mean of the trials at the site.</p></div></div>"
            f"<h2>Per site: habituation, PPT and each LTR</h2>{''.join(site_sections) or '<p>No sites and no LTRs.</p>'}"
            f"<h2>Agreement with your marks</h2>{_agreement(store, session_id)}"
            f"<h2>Detector</h2><p>twitchd {escape(summary['app_version'] or '?')}.</p>{_settings(store, session_id)}"
            "</body></html>")


def patient_report(store: SessionStore, patient: str) -> str:
    """A patient's visits side by side: LTR count and PPT per site over time."""
    sessions = [s for s in store.all() if s["patient"] == patient]
    if not sessions:
        raise SessionNotFoundError(f"no sessions of patient {patient!r}")
    labels = [f"#{s['id']} {s['started_at'][:10]}" for s in sessions]
    per = {s["id"]: site_summaries(store, s["id"]) for s in sessions}
    names = list(dict.fromkeys(x["label"] for s in sessions for x in per[s["id"]]))

    def value(sid: int, name: str, what: str) -> float | None:
        for x in per[sid]:
            if x["label"] == name:
                return float(x["ltrs"]) if what == "ltrs" else x["ppt"]["summary"]["mean_n"]
        return None

    ltr_series = {n: [value(s["id"], n, "ltrs") for s in sessions] for n in names}
    ppt_series = {n: [value(s["id"], n, "ppt") for s in sessions] for n in names}

    def table(series: dict[str, list[float | None]], digits: int) -> str:
        head = "".join(f"<th class=num>{escape(lab)}</th>" for lab in labels)
        body = "".join(f"<tr><td>{escape(n)}</td>" + "".join(f"<td class=num>{_fmt(v, digits)}</td>" for v in vals) +
                       "</tr>" for n, vals in series.items())
        return f"<table><thead><tr><th>Site</th>{head}</tr></thead><tbody>{body}</tbody></table>"

    title = f"twitchd patient {patient}: {len(sessions)} visit{'s' if len(sessions) != 1 else ''}"
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body><h1>{escape(title)}</h1>"
            f"<p class=muted>Made by twitchd {__version__}. One column per visit (session), oldest first; a dash: "
            "the site was not treated or not measured at that visit.</p>"
            f"<h2>LTRs per site</h2>{table(ltr_series, 0)}{visits(labels, ltr_series, 'LTR')}"
            f"<h2>Pressure pain threshold per site (mean, N)</h2>{table(ppt_series, 1)}{visits(labels, ppt_series, 'N')}"
            "</body></html>")
