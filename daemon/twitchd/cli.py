"""The ``twitchd`` command: run the daemon, detect offline, simulate a recording."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from twitchd import __version__
from twitchd.errors import ConfigError, TwitchdError

log = logging.getLogger("twitchd")


def _cmd_run(args: argparse.Namespace) -> int:
    import uvicorn

    from twitchd.api import Daemon, create_app
    from twitchd.settings import resolve
    from twitchd.signal.detector import warm_up

    from twitchd.signal.params import DetectorParams

    settings = resolve(args.host, args.port, args.source, args.token)
    # Bad --source specs and detector settings fail here, before any port is bound.
    daemon = Daemon(settings, DetectorParams().updated(**_detector_overrides(args.detector)))
    warm_up()
    app = create_app(settings, daemon)
    print(f"twitchd {__version__}: sources {', '.join(settings.sources)}", flush=True)
    if not settings.loopback:
        print(f"listening on {settings.host}: reachable from the network, token required", flush=True)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port,
                                           log_level="warning", ws_ping_interval=10))

    async def serve() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:  # only now is the URL true: the socket is listening
            print(f"dashboard: {settings.url}", flush=True)
        await task

    asyncio.run(serve())
    return 0 if server.started else 1


def _cmd_detect(args: argparse.Namespace) -> int:
    from twitchd.recordings import read_csv, write_events
    from twitchd.signal.detector import detect_offline

    from twitchd.signal.params import DetectorParams

    params = DetectorParams().updated(**_detector_overrides(args.detector))
    rec = read_csv(args.file, args.rate)
    events = detect_offline(rec.emg_v, rec.force_n, rec.rate_hz, params)
    write_events(events, args.format, sys.stdout)
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from twitchd.recordings import simulate_csv
    from twitchd.sim.session import SimConfig

    cfg = SimConfig(seed=args.seed, rate_hz=args.rate, adc_bits=args.bits,
                    supply_v=5.0 if args.bits == 10 else 3.3, mains_hz=args.mains, snr=args.snr)
    truth_path, truth = simulate_csv(cfg, args.duration, args.out)
    ltrs = sum(e.kind == "ltr" for e in truth)
    print(f"wrote {args.out} ({args.duration:g} s at {args.rate} Hz) and {truth_path} "
          f"({len(truth)} true events, {ltrs} LTRs)", file=sys.stderr)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    import json

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
    out: dict[str, float] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"--detector wants name=number, got {pair!r}")
    return out


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
                     help="simulated[:opts] or serial:PORT[@BAUD]; repeat for several devices (default: simulated; env TWITCHD_SOURCE)")
    run.add_argument("--host", help="address to listen on (default 127.0.0.1; env TWITCHD_HOST)")
    run.add_argument("--port", type=int, help="port (default 8765; env TWITCHD_PORT)")
    run.add_argument("--token", help="access token; generated when --host is not loopback (env TWITCHD_TOKEN)")
    run.add_argument("--detector", action="append", metavar="NAME=VALUE",
                     help="override a detector parameter (see docs/detector.md); repeatable")
    run.set_defaults(func=_cmd_run)

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

    sim = sub.add_parser("simulate", help="write a simulated recording and its true events")
    sim.add_argument("--duration", type=_positive, default=120.0, help="seconds (default 120)")
    sim.add_argument("--seed", type=int, default=1)
    sim.add_argument("--out", type=Path, required=True, help="CSV to write; truth goes to NAME.truth.jsonl")
    sim.add_argument("--rate", type=int, default=2000, choices=(1000, 2000))
    sim.add_argument("--bits", type=int, default=12, choices=(10, 12))
    sim.add_argument("--mains", type=float, default=50.0, choices=(50.0, 60.0))
    sim.add_argument("--snr", default="normal", choices=("normal", "low"))
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
