"""The BLE commands of ``twitchd``: ``devices`` (what can be connected) and
``sim-ble`` (a virtual wireless sensor), and ``--ble-radio`` for ``run``."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from typing import Any

from twitchd.errors import ConfigError, TwitchdError

RADIO_HELP = ("Bluetooth stack for BLE sensors: os (default), virtual[:[HOST:]PORT] (the one `twitchd sim-ble`"
              " serves) or bumble:TRANSPORT, e.g. bumble:usb:0 (env TWITCHD_BLE_RADIO; docs/ble.md)")
DEVICE_ID = re.compile(r"TW-[0-9A-F]{6}")


def add_radio_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ble-radio", metavar="RADIO", help=RADIO_HELP)


def apply_radio_option(args: argparse.Namespace) -> None:
    """Make ``--ble-radio`` the process's radio (ConfigError if it names none)."""
    if getattr(args, "ble_radio", None):
        from twitchd.ble.radio import parse_radio, use_radio

        use_radio(parse_radio(args.ble_radio))


def cmd_devices(args: argparse.Namespace) -> int:
    from twitchd.ble.radio import current_radio
    from twitchd.ble.scan import scan
    from twitchd.transports.catalog import serial_ports

    apply_radio_option(args)
    ports = serial_ports()
    radio = current_radio()

    async def look() -> tuple[list[Any], str]:
        try:
            return await scan(radio, args.seconds), ""
        except TwitchdError as exc:
            return [], str(exc)
        finally:
            await radio.close()

    sensors, ble_error = asyncio.run(look())
    if args.json:
        print(json.dumps({"serial": [p.to_json() for p in ports], "ble": [s.to_json() for s in sensors],
                          "ble_error": ble_error}, indent=1))
        return 0
    print("serial ports:" if ports else "serial ports: none")
    for p in ports:
        print(f"  {p.port:<24} {p.description}   --source serial:{p.port}")
    print(f"BLE sensors ({args.seconds:g} s scan on {radio.label}):" if not ble_error else f"BLE: {ble_error}")
    if not sensors and not ble_error:
        print("  none in range")
    for s in sensors:
        rssi = f"{s.rssi} dBm" if s.rssi is not None else "? dBm"
        print(f"  {s.name:<12} {s.address:<20} {rssi:>8}   --source ble:{s.address}")
    return 0


def cmd_sim_ble(args: argparse.Namespace) -> int:
    from twitchd.ble.virtual import VirtualAir, serve_virtual_sensor
    from twitchd.sim.device import SimulatedDevice
    from twitchd.sim.session import SimConfig

    if not DEVICE_ID.fullmatch(args.id):
        raise ConfigError(f"--id must look like a board's device id, TW- and 6 hex digits (e.g. TW-B1E001), got {args.id!r}")
    drops = _drops(args.drops) if args.drops else None

    async def main() -> None:
        air = VirtualAir(SimulatedDevice(SimConfig(seed=args.seed), device_id=args.id))
        await serve_virtual_sensor(air, args.host, args.port, drops)

    asyncio.run(main())
    return 0


def _drops(text: str) -> tuple[float, float]:
    every, sep, down = text.partition(":")
    try:
        pair = float(every), float(down)
    except ValueError:
        sep = ""
    if not sep or not 0 < pair[1] < pair[0]:
        raise ConfigError(f"--drops wants EVERY:DOWN in seconds with DOWN < EVERY, e.g. 30:3; got {text!r}")
    return pair


def add_ble_commands(sub: Any) -> None:
    """Register ``devices`` and ``sim-ble`` on the ``twitchd`` subcommand parser."""
    dev = sub.add_parser("devices", help="list serial ports and the BLE sensors in range")
    dev.add_argument("--seconds", type=float, default=3.0, help="how long to listen for BLE sensors (default 3)")
    dev.add_argument("--json", action="store_true", help="JSON for scripts")
    add_radio_option(dev)
    dev.set_defaults(func=cmd_devices)

    sim = sub.add_parser("sim-ble", help="a virtual wireless sensor to pair with, no Bluetooth hardware needed")
    sim.add_argument("--id", default="TW-B1E001", help="its device id, which it also advertises (default TW-B1E001)")
    sim.add_argument("--seed", type=int, default=1, help="the simulated patient (default 1)")
    sim.add_argument("--host", default="127.0.0.1", help="where daemons reach its virtual air (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=9300, help="(default 9300, what --ble-radio virtual expects)")
    sim.add_argument("--drops", metavar="EVERY:DOWN",
                     help="lose the link every EVERY s and stay out of reach for DOWN s, to watch reconnects")
    sim.set_defaults(func=cmd_sim_ble)
