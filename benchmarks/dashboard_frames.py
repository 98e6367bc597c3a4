"""Frame time of the live dashboard in Chromium with several devices streaming.

Starts ``twitchd run`` with N simulated devices (real time), opens the page in
Debian's headless Chromium through Playwright, waits until every lane
streams, and reads the page's own frame figures: each frame's drawing is
wrapped in a performance mark and measure (web/framestats.js), and only
frames that drew something count.

    .venv/bin/python benchmarks/dashboard_frames.py --devices 4 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def sources(devices: int, speed: float = 1.0) -> list[str]:
    """``simulated``, ``simulated:seed=2``, ...: different patients, one per lane."""
    extra = f"speed={speed:g}" if speed != 1.0 else ""
    out = []
    for k in range(devices):
        opts = ",".join(o for o in (f"seed={k + 1}" if k else "", extra) if o)
        out.append("simulated" + (":" + opts if opts else ""))
    return out


def measure_frames(page: Any, devices: int, seconds: float) -> dict[str, Any]:
    """Waits for ``devices`` streaming lanes, then times ``seconds`` of frames."""
    page.wait_for_function(
        f"document.querySelectorAll('[data-testid=lane]').length === {devices}"
        " && [...window.twitchd.devices.values()].every((d) => d.state === 'streaming')"
        " && [...window.twitchd.bufs.values()].filter((b) => b.len > 0).length === " + str(devices),
        timeout=60_000)
    page.wait_for_timeout(1500)  # past the first layout and the backfill
    page.evaluate("window.twitchd.frames.reset()")
    started = time.monotonic()
    page.wait_for_timeout(seconds * 1000)
    s: dict[str, Any] = page.evaluate("window.twitchd.frames.summary()")
    s["seconds"] = round(time.monotonic() - started, 2)
    s["fps"] = round(s["ticks"] / s["seconds"], 1)          # animation frames per second
    s["drawn_per_s"] = round(s["frames"] / s["seconds"], 1)  # a lane redraws once it has moved a device pixel
    s["devices"] = devices
    return s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=860)
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--json", action="store_true", help="one JSON line instead of text")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data:
        cmd = [str(Path(sys.executable).with_name("twitchd")), "run", "--port", str(args.port), "--data-dir", data]
        for s in sources(args.devices):
            cmd += ["--source", s]
        log = Path(data) / "twitchd.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        try:
            end = time.monotonic() + 120
            while "dashboard:" not in log.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > end:
                    print(log.read_text(), file=sys.stderr)
                    return 1
                time.sleep(0.05)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page(viewport={"width": args.width, "height": args.height})
                page.goto(f"http://127.0.0.1:{args.port}/")
                s = measure_frames(page, args.devices, args.seconds)
                s["viewport"] = f"{args.width}x{args.height}"
                s["chromium"] = browser.version
                browser.close()
        finally:
            proc.terminate()
            proc.wait(10)
    if args.json:
        print(json.dumps(s))
    else:
        print(f"dashboard frames, {s['devices']} devices streaming, {s['viewport']}, Chromium {s['chromium']} headless:")
        print(f"  {s['fps']} animation frames/s; {s['frames']} frames drew in {s['seconds']} s ({s['drawn_per_s']}/s,"
              " a lane redraws once it has scrolled by a device pixel)")
        print(f"  draw time per drawn frame: median {s['median']:.2f} ms, p95 {s['p95']:.2f} ms,"
              f" p99 {s['p99']:.2f} ms, max {s['max']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
