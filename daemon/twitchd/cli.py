"""The ``twitchd`` command: run the daemon, detect offline, simulate a recording."""

from __future__ import annotations

import argparse
import asyncio
import logging
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from twitchd import __version__
from twitchd.errors import ConfigError, StoreError, TwitchdError

log = logging.getLogger("twitchd")


def _cmd_run(args: argparse.Namespace) -> int:
    import uvicorn

    from twitchd.api import Daemon, create_app
    from twitchd.settings import resolve
    from twitchd.signal.detector import warm_up

    from twitchd.signal.params import DetectorParams

    settings = resolve(args.host, args.port, args.source, args.token, args.allow_host, args.workers)
    from twitchd.ble.commands import apply_radio_option

    apply_radio_option(args)
    # Bad --source specs and detector settings fail here, before any port is bound.
    daemon = Daemon(settings, DetectorParams().updated(**_detector_overrides(args.detector)), data_dir=args.data_dir)
    if args.lsl or os.environ.get("TWITCHD_LSL", "").lower() in ("1", "true", "yes", "on"):
        daemon.set_lsl(True)  # without pylsl: LslError, which says "pip install twitchd[lsl]"
    warm_up()
    app = create_app(settings, daemon)
    print(f"twitchd {__version__}: sources {', '.join(settings.sources)}", flush=True)
    if daemon.lsl is not None:
        print("LSL output on: a stream 'twitchd <device id>' (EMG) and '… events' (Markers) per device", flush=True)
    if args.record:
        _start_recording(daemon, args)
    if not settings.loopback:
        print(f"listening on {settings.host}: reachable from the network, token required", flush=True)
    elif settings.checks_host and settings.allowed_hosts:
        print(f"answering to Host {', '.join(settings.allowed_hosts)} as well as loopback names", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port,
                                           log_level="warning", ws_ping_interval=10))

    async def serve() -> None:
        from twitchd.ble.paired import paired_sources

        for spec in paired_sources(daemon):  # paired BLE sensors come back at every start
            print(f"reconnecting paired sensor {spec}", flush=True)
            await daemon.add_source(spec)
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:  # only now is the URL true: the socket is listening
            print(f"dashboard: {settings.url}", flush=True)
        await task

    asyncio.run(serve())
    return 0 if server.started else 1


# -- recording and sessions (twitchd.store) ----------------------------------
def _start_recording(daemon: Any, args: argparse.Namespace) -> None:
    """``run --record``: a store that cannot be written is reported, and acquisition goes on."""
    from twitchd.store.recorder import SessionMeta

    meta = SessionMeta(args.patient or "", args.muscle or "", args.side or "", args.technique or "",
                       args.practitioner or "", args.notes or "")
    try:
        session_id = daemon.recorder.start(meta)
    except TwitchdError as exc:
        print(f"twitchd: {exc} (acquisition goes on without recording)", file=sys.stderr, flush=True)
        return
    print(f"recording session {session_id} into {daemon.recorder.path}", flush=True)


def _cmd_report(args: argparse.Namespace) -> int:
    from twitchd.report import patient_report, session_report
    from twitchd.store.sessions import SessionStore

    if (args.session is None) == (args.patient is None):
        raise ConfigError("give a session id, or --patient ID, not both")
    with SessionStore(args.data_dir) as store:
        html = session_report(store, args.session) if args.session is not None else patient_report(store, args.patient)
    try:
        args.out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    print(f"wrote {args.out} ({len(html) // 1024} KiB); open it in a browser and print to PDF", file=sys.stderr)
    return 0


def _cmd_sessions(args: argparse.Namespace) -> int:

    from twitchd.store.detail import session_detail
    from twitchd.store.export import export_to
    from twitchd.store.sessions import SessionStore

    with SessionStore(args.data_dir) as store:
        if args.action == "list":
            rows = [r for r in store.all() if args.patient is None or r["patient"] == args.patient]
            if args.json:
                print(json.dumps(rows, indent=1))
            else:
                for r in rows:
                    who = " ".join(x for x in (r["patient"], r["muscle"], r["side"], r["technique"]) if x)
                    print(f"{r['id']:>5}  {r['started_at'][:19]}  {r['duration_s']:>8.1f} s  {r['sample_rate']:>5} Hz"
                          f"  {r['ltrs']:>4} LTRs  {who}{'' if r['complete'] else '  (not stopped cleanly)'}")
        elif args.action == "show":
            detail = session_detail(store, args.id)
            if args.json:
                print(json.dumps(detail, indent=1))
            else:
                for key, value in detail.items():
                    if key.endswith("_list") or key in ("gaps", "devices"):
                        value = len(value)
                    print(f"{key:>14}: {value}")
        elif args.action == "redetect":
            _redetect(store, args)
        elif args.action == "delete":
            store.delete(args.id)
            print(f"deleted session {args.id}", file=sys.stderr)
        else:
            show = _progress_printer() if args.format != "events" else None
            written = export_to(store, args.id, args.format, args.out, show)
            if show is not None:
                print(file=sys.stderr)
            print(f"wrote {args.out} ({written} {'rows' if args.format == 'events' else 'samples'})", file=sys.stderr)
    return 0


def _redetect(store: Any, args: argparse.Namespace) -> None:
    """``sessions redetect``: the detector with other parameters, compared with the live events."""

    from twitchd.signal.params import DetectorParams
    from twitchd.store.redetect import redetect

    params = DetectorParams().updated(**_detector_overrides(args.detector))
    new, comparison = redetect(store, args.id, params)
    if args.json:
        print(json.dumps({"events": [e.to_json() for e in new],
                          "comparison": {k: c.__dict__ for k, c in comparison.items()}}, indent=1))
        return
    print(f"{'kind':<12}{'live':>6}{'new':>6}{'both':>6}  only live / only new (onset s)")
    for kind, c in comparison.items():
        print(f"{kind:<12}{c.live:>6}{c.new:>6}{c.both:>6}  {c.only_live} / {c.only_new}")


def _progress_printer() -> Any:
    """A one-line progress bar on stderr (every 5 % when stderr is not a terminal)."""
    tty = sys.stderr.isatty()
    last = [-1]

    def show(done: int, total: int) -> None:
        pct = int(100 * done / total) if total else 100
        step = pct if tty else pct // 5 * 5
        if step != last[0]:
            last[0] = step
            bar = "#" * (pct // 4)
            print(f"\rexporting [{bar:<25}] {pct:3d} %", end="" if tty else "\n", file=sys.stderr, flush=True)

    return show


def _cmd_detect(args: argparse.Namespace) -> int:
    from twitchd.recordings import read_csv, write_events
    from twitchd.signal.detector import detect_offline

    from twitchd.signal.params import DetectorParams

    params = DetectorParams().updated(**_detector_overrides(args.detector))
    rec = read_csv(args.file, args.rate)
    events = detect_offline(rec.emg_v, rec.force_n, rec.rate_hz, params)
    write_events(events, args.format, sys.stdout)
    return 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    """Zero and known weights on the FSR; the fitted curve is stored for this sensor's id."""

    from twitchd.calibrate import DEFAULT_MASSES_KG, DEFAULT_WEIGHTS_N, calibrate, parse_weight, report
    from twitchd.store.calibrations import CalibrationBook
    from twitchd.transports import open_source

    book = CalibrationBook(args.data_dir)
    if args.list:
        cals = book.all()
        if args.json:
            print(json.dumps([c.to_json() for c in cals], indent=2))
        for c in [] if args.json else cals:
            print(f"{c.device_id}: {c.note}")
        if not cals and not args.json:
            print(f"no calibrations in {book.folder}")
        return 0
    if not args.source:
        raise ConfigError("calibrate needs --source (the sensor to calibrate), or --list")
    text = args.weights
    if text is None and sys.stdin.isatty() and not args.json:
        default = " ".join(f"{m * 1000:g}g" if m < 1 else f"{m:g}kg" for m in DEFAULT_MASSES_KG)
        text = input(f"Known weights you will place, lightest first [{default}]: ").strip() or None
    weights = [parse_weight(w) for w in text.replace(",", " ").split()] if text else list(DEFAULT_WEIGHTS_N)
    say = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else (lambda line: print(line, flush=True))

    async def go() -> Any:
        transport = open_source(args.source, args.data_dir)
        await transport.open()
        try:
            return await calibrate(transport, weights, say)
        finally:
            await transport.close()

    cal = asyncio.run(go())
    path = book.put(cal)
    if args.json:
        print(json.dumps({**cal.to_json(), "path": str(path)}, indent=2))
    else:
        print(report(cal))
        print(f"saved for sensor {cal.device_id} in {path}; every later session with it uses this curve")
    return 0


def _cmd_sim_device(args: argparse.Namespace) -> int:
    """The simulated board as a separate process on a pty; its path is the first line printed."""
    from twitchd.sim.device import SimulatedDevice
    from twitchd.sim.pty_board import Faults, PtyBoard, run_boards
    from twitchd.sim.session import SimConfig

    kind, _, link = args.link.partition(":")
    if kind != "pty":
        raise ConfigError(f"--link must be pty or pty:SYMLINK, got {args.link!r}")
    if args.unplug_at is None and args.replug_after is not None:
        raise ConfigError("--replug-after needs --unplug-at")
    if args.count > 1 and not link:
        raise ConfigError("--count needs --link pty:SYMLINK (the boards are SYMLINK-1, SYMLINK-2, …)")
    wrap_us = 0 if args.clock_wrap_in is None else (1 << 32) - round(args.clock_wrap_in * 1e6)
    if args.replug_as is not None and (args.unplug_at is None or args.count > 1):
        raise ConfigError("--replug-as needs --unplug-at, and one board")
    faults = Faults(args.corrupt, args.stall_after, args.unplug_at,
                    args.replug_after if args.replug_after is not None else 2.0,
                    args.replug_as.absolute() if args.replug_as is not None else None)
    boards = []
    for k in range(args.count):
        seed = args.seed + k
        cfg = SimConfig.board(args.bits, seed=seed, rate_hz=args.rate)
        device_id = (args.id or f"TW-SIM{args.seed:03d}") if args.count == 1 else f"{args.id or 'TW-SIM'}{seed:03d}"
        device = SimulatedDevice(cfg, device_id=device_id, clock_drift_ppm=args.clock_drift, clock_start_us=wrap_us)
        where = Path(link).absolute() if link else None
        if where is not None and args.count > 1:
            where = where.with_name(f"{where.name}-{k + 1}")
        boards.append(PtyBoard(device, where, faults, seed=seed, quiet_until_host=args.wait_for_host))
    import signal
    import threading

    # Stopped by a service manager or Ctrl-C: finish the tick, let the host read
    # what was sent, remove the link. An exception raised from the handler could
    # land between taking a tick's samples and writing them, and the report
    # would then count a frame the host never had a chance to read.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    run_boards(boards, lambda path: print(path, flush=True), stop)
    if args.report:
        # What each board did, for benchmarks and soak tests: when it began, what it sent, the truth.
        for board in boards:
            dev = board.device
            sent = dev._sample_index
            print(json.dumps({"link": str(board.link or board.path), "device_id": dev.device_id,
                              "started_at": board.started_at, "samples": sent, "dropped_bytes": board.dropped_bytes,
                              "truth": [t.as_dict() for t in dev.session.truth_until(sent / dev.rate_hz)]}), flush=True)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from twitchd.recordings import simulate_csv
    from twitchd.sim.session import SimConfig

    cfg = SimConfig.board(args.bits, seed=args.seed, rate_hz=args.rate, mains_hz=args.mains, snr=args.snr,
                          **({"ltrs_per_press": (args.ltrs_per_press,) * 2} if args.ltrs_per_press else {}))
    truth_path, truth = simulate_csv(cfg, args.duration, args.out)
    ltrs = sum(e.kind == "ltr" for e in truth)
    print(f"wrote {args.out} ({args.duration:g} s at {args.rate} Hz) and {truth_path} "
          f"({len(truth)} true events, {ltrs} LTRs)", file=sys.stderr)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:

    from twitchd.bench import detector_bench

    result = detector_bench(args.minutes, args.neurokit_minutes)
    if args.json:
        print(json.dumps(result))
    else:
        nk = f", {result['vs_neurokit2']}x NeuroKit2" if result.get("vs_neurokit2") else f" ({result['neurokit2']})"
        print(f"detector: {result['samples_per_s'] / 1e6:.1f} M samples/s per core in 1 s blocks "
              f"({result['x_real_time']:,}x real time for one 2 kHz device), "
              f"{result['samples_per_s_frame_blocks'] / 1e6:.1f} M in 10-sample frames{nk}")
    return 0


def _detector_overrides(pairs: list[str] | None) -> dict[str, float]:
    """``--detector name=value`` pairs; names and ranges are checked by DetectorParams."""
    from twitchd.signal.params import parse_overrides

    return parse_overrides(pairs or [], "--detector")


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="twitchd", description="Flags local twitch responses in EMG against applied pressure.")
    p.add_argument("--version", action="version", version=f"twitchd {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon and the dashboard")
    run.add_argument("--source", action="append", metavar="SPEC",
                     help="simulated[:opts], serial:PORT[@BAUD], ble:NAME|ADDRESS or replay:SESSION[,speed=X] (a recorded session); repeat for several devices (default: simulated; env TWITCHD_SOURCE)")
    run.add_argument("--host", help="address to listen on (default 127.0.0.1; env TWITCHD_HOST)")
    run.add_argument("--port", type=int, help="port (default 8765; env TWITCHD_PORT)")
    run.add_argument("--token", help="access token; generated when --host is not loopback (env TWITCHD_TOKEN)")
    run.add_argument("--allow-host", action="append", metavar="NAME",
                     help="without a token the daemon answers only to localhost, 127.0.0.1 and [::1] in the Host"
                     " header (against DNS rebinding); also answer to NAME, e.g. a name in /etc/hosts; repeatable"
                     " (env TWITCHD_ALLOW_HOST, comma-separated)")
    run.add_argument("--workers", type=int, metavar="N",
                     help="acquire serial and simulated sensors in N worker processes (default 0: in the daemon"
                          " itself; one event loop carries about 16-24 sensors at 2 kHz; env TWITCHD_WORKERS)")
    run.add_argument("--detector", action="append", metavar="NAME=VALUE",
                     help="override a detector parameter (see docs/detector.md); repeatable")
    run.add_argument("--data-dir", type=Path, help="where sessions are stored (default: ~/.local/share/twitchd;"
                     " env TWITCHD_DATA_DIR)")
    run.add_argument("--lsl", action="store_true",
                     help="stream every device to Lab Streaming Layer (needs twitchd[lsl]; see docs/lsl.md;"
                     " env TWITCHD_LSL=1)")
    from twitchd.ble.commands import add_ble_commands, add_radio_option
    from twitchd.evaluate_cli import add_evaluate_command

    add_radio_option(run)
    rec = run.add_argument_group("recording", "record a session from the start (or use the dashboard / API)")
    rec.add_argument("--record", action="store_true", help="record everything acquired into the session store")
    rec.add_argument("--patient", help="patient code (not a name)")
    rec.add_argument("--muscle", help="e.g. upper trapezius")
    rec.add_argument("--side", choices=("left", "right", "bilateral"))
    rec.add_argument("--technique", help="e.g. compression, dry-needling")
    rec.add_argument("--practitioner")
    rec.add_argument("--notes")
    run.set_defaults(func=_cmd_run)
    add_ble_commands(sub)
    add_evaluate_command(sub)
    rep = sub.add_parser("report", help="a printable HTML report of a session, or of a patient's visits")
    rep.add_argument("session", nargs="?", type=int, help="the session id")
    rep.add_argument("--patient", metavar="ID", help="compare this patient's visits instead")
    rep.add_argument("--out", type=Path, required=True, help="the HTML file to write (print it to PDF in a browser)")
    rep.add_argument("--data-dir", type=Path, help="the session store (default: ~/.local/share/twitchd)")
    rep.set_defaults(func=_cmd_report)

    ses = sub.add_parser("sessions", help="list, show, export or delete recorded sessions")
    ses_sub = ses.add_subparsers(dest="action", required=True)
    data_dir_help = "the session store (default: ~/.local/share/twitchd; env TWITCHD_DATA_DIR)"
    for action, text in (("list", "every session"), ("show", "one session and its events"),
                         ("export", "write a session as EDF+, CSV or an event list"),
                         ("redetect", "run the detector again, e.g. with other parameters, and compare"),
                         ("delete", "delete a session")):
        a = ses_sub.add_parser(action, help=text)
        a.add_argument("--data-dir", type=Path, help=data_dir_help)
        if action != "list":
            a.add_argument("id", type=int)
        if action in ("list", "show", "redetect"):
            a.add_argument("--json", action="store_true", help="JSON for scripts")
        if action == "list":
            a.add_argument("--patient", metavar="ID", help="only this patient's sessions (their visits)")
        if action == "redetect":
            a.add_argument("--detector", action="append", metavar="NAME=VALUE",
                           help="override a detector parameter (see docs/detector.md); repeatable")
        if action == "export":
            a.add_argument("--format", choices=("edf", "csv", "events", "json"), default="csv")
            a.add_argument("--out", type=Path, required=True)
        a.set_defaults(func=_cmd_sessions)

    det = sub.add_parser("detect", help="run the detector over a CSV recording")
    det.add_argument("file", type=Path)
    det.add_argument("--rate", type=_positive, help="sample rate in Hz if the file has no time_s column")
    det.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    det.add_argument("--detector", action="append", metavar="NAME=VALUE",
                     help="override a detector parameter (see docs/detector.md); repeatable")
    det.set_defaults(func=_cmd_detect)

    bench = sub.add_parser("bench", help="measure the detector's speed (and NeuroKit2's, if installed)")
    bench.add_argument("what", choices=("detector",))
    bench.add_argument("--minutes", type=_positive, default=60.0, help="length of the simulated recording (default 60)")
    bench.add_argument("--neurokit-minutes", type=_positive, default=2.0, help="slice that NeuroKit2 processes (default 2)")
    bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    bench.set_defaults(func=_cmd_bench)

    cal = sub.add_parser("calibrate", help="calibrate a sensor's force channel with known weights")
    cal.add_argument("--source", metavar="SPEC", help="the sensor, e.g. serial:/dev/ttyACM0 (simulated:rig=1 is a test rig)")
    cal.add_argument("--weights", metavar="LIST", help="known weights in the order you will place them, "
                     "e.g. 100g,200g,500g,1kg,2kg (the default; at least two)")
    cal.add_argument("--data-dir", type=Path, help="where calibrations are kept (default: ~/.local/share/twitchd;"
                     " env TWITCHD_DATA_DIR)")
    cal.add_argument("--list", action="store_true", help="list the stored calibrations instead")
    cal.add_argument("--json", action="store_true", help="JSON on stdout (prompts go to stderr)")
    cal.set_defaults(func=_cmd_calibrate)

    dev = sub.add_parser("sim-device", help="run the simulated board on a pseudo-terminal, like a USB serial sensor")
    dev.add_argument("--link", default="pty", metavar="pty[:SYMLINK]",
                     help="pty, or pty:SYMLINK to keep a stable name for it, like /dev/serial/by-id/…")
    dev.add_argument("--seed", type=int, default=1)
    dev.add_argument("--id", help="device id in its HELLO (default TW-SIM<seed>)")
    dev.add_argument("--count", type=int, default=1, choices=range(1, 65), metavar="N",
                     help="N boards in this one process, on SYMLINK-1 … SYMLINK-N (seeds SEED … SEED+N-1)")
    dev.add_argument("--wait-for-host", action="store_true",
                     help="start sampling when the daemon first speaks (sample 0 is the first it sees)")
    dev.add_argument("--report", action="store_true",
                     help="on exit, print one JSON line per board: when it began, samples sent, the true events")
    dev.add_argument("--rate", type=int, default=2000, choices=(500, 1000, 2000, 4000))
    dev.add_argument("--bits", type=int, default=12, choices=(10, 12))
    faults = dev.add_argument_group("faults", "what a real cable and board do")
    faults.add_argument("--corrupt", type=float, default=0.0, metavar="RATE", help="per-byte chance of a flipped, dropped or inserted byte")
    faults.add_argument("--stall-after", type=_positive, metavar="S", help="stop sending after S seconds (the port stays open)")
    faults.add_argument("--unplug-at", type=_positive, metavar="S", help="close the pty after S seconds…")
    faults.add_argument("--replug-after", type=_positive, metavar="S", help="…and open a new one S seconds later (default 2)")
    faults.add_argument("--replug-as", type=Path, metavar="SYMLINK",
                        help="…behind this other name (a USB adapter that comes back as ttyUSB1)")
    faults.add_argument("--clock-drift", type=float, default=0.0, metavar="PPM",
                        help="the board's crystal runs this fast (a real one: within ±200 ppm)")
    faults.add_argument("--clock-wrap-in", type=_positive, metavar="S",
                        help="start the board's µs counter S seconds before it wraps (a real one wraps every 71.6 min)")
    dev.set_defaults(func=_cmd_sim_device)

    sim = sub.add_parser("simulate", help="write a simulated recording and its true events")
    sim.add_argument("--duration", type=_positive, default=120.0, help="seconds (default 120)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--out", type=Path, required=True, help="CSV to write; truth goes to NAME.truth.jsonl")
    sim.add_argument("--rate", type=int, default=2000, choices=(1000, 2000))
    sim.add_argument("--bits", type=int, default=12, choices=(10, 12))
    sim.add_argument("--mains", type=float, default=50.0, choices=(50.0, 60.0))
    sim.add_argument("--snr", default="normal", choices=("normal", "low"))
    sim.add_argument("--ltrs-per-press", type=int, choices=range(1, 13), metavar="1-12",
                     help="LTRs at each trigger point, each smaller than the last (default: 2 to 4, drawn per press)")
    sim.set_defaults(func=_cmd_simulate)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except TwitchdError as exc:
        print(f"twitchd: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `twitchd detect … | head`: the reader has what it wanted.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
