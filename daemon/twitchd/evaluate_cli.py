"""``twitchd evaluate``: the command line of twitchd.evaluate.

Text table by default (one row per session and site, and a pooled row when
there are several sessions), ``--json`` for scripts. ``--redetect`` runs the
detector again with other parameters over the same sessions and prints both
agreements side by side.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from twitchd.agreement import WINDOW_S, Agreement
from twitchd.errors import ReviewError
from twitchd.evaluate import AGAINST, Evaluation, evaluate_session, format_table, pooled, table_rows
from twitchd.store.sessions import SessionStore


def _tolerance(text: str) -> tuple[float, float]:
    """``LO,HI`` in ms (``--tolerance=-100,600``) to seconds."""
    lo, sep, hi = text.partition(",")
    try:
        a, b = float(lo) / 1e3, float(hi) / 1e3
    except ValueError:
        sep = ""
    if not sep or not a < b or abs(a) > 5 or abs(b) > 5:
        raise argparse.ArgumentTypeError(f"wants LO,HI in ms with LO < HI, e.g. --tolerance=-100,600 (got {text!r})")
    return a, b


def _window(text: str) -> float:
    value = float(text)
    if not 0.1 <= value <= 60:
        raise argparse.ArgumentTypeError(f"the window is 0.1-60 s, got {text}")
    return value


def add_evaluate_command(sub: Any) -> None:
    ev = sub.add_parser(
        "evaluate", help="agreement of the detector's LTRs with your marks or your review",
        description="Sensitivity, PPV and F1 of the detector's LTRs against your felt-LTR marks (or your reviewed "
                    "labels), Cohen's kappa and PABAK on fixed windows, and how late you mark (docs/ground_truth.md).")
    ev.add_argument("sessions", nargs="*", type=int, metavar="SESSION", help="session ids")
    ev.add_argument("--all", action="store_true", help="every session that has the reference (others are listed)")
    ev.add_argument("--site", metavar="MUSCLE", help="only this site (a muscle, or 'muscle side point')")
    ev.add_argument("--against", choices=AGAINST, default="marks",
                    help="marks: felt-LTR marks made while recording (default); review: labels after review")
    ev.add_argument("--tolerance", type=_tolerance, metavar="LO,HI",
                    help="ms after the detector onset a reference may lie (default -100,600 for marks, -100,100 for "
                         "review); write it as --tolerance=-100,600")
    ev.add_argument("--window", type=_window, default=WINDOW_S, metavar="S",
                    help=f"window length for kappa and PABAK (default {WINDOW_S:g} s)")
    ev.add_argument("--redetect", metavar="PARAMS",
                    help="also run the detector with these parameters (name=value,name=value; see docs/detector.md) "
                         "and show both agreements side by side")
    ev.add_argument("--json", action="store_true", help="JSON for scripts")
    ev.add_argument("--data-dir", type=Path, help="the session store (default: ~/.local/share/twitchd)")
    ev.set_defaults(func=cmd_evaluate)


def _redetect_params(text: str) -> Any:
    """``--redetect name=value,name=value``: the detector's settings for the re-run."""
    from twitchd.signal.params import DetectorParams, parse_overrides

    return DetectorParams().updated(**parse_overrides(filter(None, (p.strip() for p in text.split(","))),
                                                      "--redetect"))


def _redetected(store: SessionStore, session_id: int, params: Any) -> list[dict[str, Any]]:
    from twitchd.store.redetect import redetect

    events, _ = redetect(store, session_id, params)
    return [{"kind": e.kind, "onset_s": e.onset_s} for e in events]


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.all and args.sessions:
        raise ReviewError("name sessions or give --all, not both")
    if not args.all and not args.sessions:
        raise ReviewError("name the sessions to evaluate (twitchd sessions list shows them), or give --all")
    params = _redetect_params(args.redetect) if args.redetect else None
    with SessionStore(args.data_dir) as store:
        ids = [int(s["id"]) for s in store.all()] if args.all else list(dict.fromkeys(args.sessions))
        if args.all and not ids:
            raise ReviewError(f"no sessions recorded yet in {store.path.parent}")
        results: list[tuple[Evaluation, Evaluation | None]] = []
        skipped: list[dict[str, Any]] = []
        for sid in ids:
            try:
                live = evaluate_session(store, sid, args.against, args.tolerance, args.window, args.site)
            except ReviewError as exc:
                if not args.all:
                    raise
                skipped.append({"session_id": sid, "why": str(exc)})
                continue
            new = None
            if params is not None:
                new = evaluate_session(store, sid, args.against, args.tolerance, args.window, args.site,
                                       events=_redetected(store, sid, params))
            results.append((live, new))
    if not results:
        raise ReviewError("no session has a reference to evaluate against:\n  " +
                          "\n  ".join(s["why"] for s in skipped))
    if args.json:
        print(json.dumps(_as_json(results, skipped, params), indent=1))
    else:
        print(_as_text(results, skipped, args.against, params is not None))
    return 0


def _as_json(results: list[tuple[Evaluation, Evaluation | None]], skipped: list[dict[str, Any]],
             params: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"against": results[0][0].against, "tolerance_s": list(results[0][0].tolerance_s),
                           "window_s": results[0][0].window_s, "sessions": [], "skipped": skipped}
    for live, new in results:
        item = live.to_json()
        if new is not None:
            item["redetect"] = new.to_json()
        out["sessions"].append(item)
    out["overall"] = pooled(e.overall for e, _ in results).to_json()
    if params is not None:
        out["redetect_params"] = params.as_dict()
        out["redetect_overall"] = pooled(n.overall for _, n in results if n is not None).to_json()
    return out


def _as_text(results: list[tuple[Evaluation, Evaluation | None]], skipped: list[dict[str, Any]], against: str,
             redetected: bool) -> str:
    first = results[0][0]
    lo, hi = first.tolerance_s
    lines = [f"detector LTRs against {'felt-LTR marks' if against == 'marks' else 'reviewed labels'}; "
             f"a hit lies {lo * 1e3:+.0f} to {hi * 1e3:+.0f} ms from the detector onset; "
             f"kappa and PABAK on {first.window_s:g} s windows"]
    for which, pick in (("live detector", 0), ("re-detected", 1)) if redetected else (("", 0),):
        rows: list[list[str]] = []
        chosen: list[Evaluation] = [pair[pick] for pair in results if pair[pick] is not None]  # type: ignore[misc]
        for e in chosen:
            rows.append(table_rows(str(e.session_id), "all sites", e.overall))
            if len(e.sites) > 1 or (e.sites and not e.sites[0][0].empty):
                rows += [table_rows("", s.label(), a) for s, a in e.sites]
        if len(chosen) > 1:
            total: Agreement = pooled(e.overall for e in chosen)
            rows.append(table_rows("pooled", f"{len(chosen)} sessions", total))
        lines += ["", which] if which else [""]
        lines.append(format_table(rows))
    for s in skipped:
        lines.append(f"skipped session {s['session_id']}: {s['why']}")
    return "\n".join(lines)

