"""The built-in simulated sensor as a transport: the default source.

Options after the colon, comma-separated: ``seed=N``, ``rate=HZ``, ``bits=10|12``,
``mains=50|60``, ``snr=normal|low``, ``speed=X`` (run X times faster than real
time, for tests and demos), ``id=TW-…``, ``fsr=X`` (this FSR's sensitivity
relative to the nominal part, 0.3-3), ``rig=1`` (no patient: a calibration rig
that places the weights of ``twitchd calibrate``'s default set in turn),
``ppt=N`` (a pressure pain threshold series: the thumb ramps at 1 kg/s and the
patient, whose threshold is near N newtons, presses the board's button).
Example: ``simulated:seed=7,speed=4``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path

from twitchd.errors import SourceSpecError, TransportError
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.session import SimConfig
from twitchd.transports.base import Transport, parse_options

OPTIONS = ("seed", "rate", "bits", "mains", "snr", "speed", "id", "fsr", "rig", "ppt")
USAGE = ("simulated[:seed=0-4294967295,rate=250-4000,bits=10|12,mains=50|60,snr=normal|low,speed=0.01-1000,id=TW-…,"
         "fsr=0.3-3,rig=0|1,ppt=5-80]")

#: How often the simulated board hands over bytes (a USB-serial adapter with a
#: low latency timer delivers every few ms; 10 ms keeps the loop light).
TICK_S = 0.01
#: The most host time one read hands over. A real link's read returns what its
#: buffer holds, so a loop that fell behind gets a bounded chunk, never one read
#: that holds the loop for seconds (at speed=40 a second of catch-up is 80 000
#: samples). When the host cannot keep up, the simulated session runs slower.
MAX_READ_S = 0.05


class SimulatedTransport(Transport):
    def __init__(self, device: SimulatedDevice, speed: float = 1.0, spec: str = "simulated") -> None:
        self.device = device
        self.speed = speed
        self.spec = spec
        self._last: float | None = None

    @classmethod
    def from_spec(cls, rest: str, data_dir: Path | None = None) -> SimulatedTransport:
        opts = parse_options(rest.split(","), OPTIONS, USAGE)
        try:
            cfg = SimConfig.board(
                int(opts.pop("bits", 12)), seed=int(opts.pop("seed", 1)), rate_hz=int(opts.pop("rate", 2000)),
                mains_hz=float(opts.pop("mains", 50)), snr=opts.pop("snr", "normal"),
            )
            speed = float(opts.pop("speed", 1.0))
            device_id = opts.pop("id", f"TW-SIM{cfg.seed:03d}")
            sensitivity = float(opts.pop("fsr", 1.0))
            rig = opts.pop("rig", "0")
            ppt = float(opts.pop("ppt", 0))
        except ValueError as exc:
            raise SourceSpecError(f"bad simulated source option: {exc}") from exc
        if cfg.snr not in ("normal", "low") or cfg.adc_bits not in (10, 12) or not 250 <= cfg.rate_hz <= 4000 \
                or not 0.01 <= speed <= 1000 or not 0.3 <= sensitivity <= 3.0 or rig not in ("0", "1") \
                or cfg.mains_hz not in (50.0, 60.0) or not 0 <= cfg.seed < 2**32 or not (ppt == 0 or 5 <= ppt <= 80):
            raise SourceSpecError(USAGE)
        from twitchd.calibrate import DEFAULT_WEIGHTS_N

        cfg = dataclasses.replace(cfg, fsr_sensitivity=sensitivity,
                                  rig_weights_n=DEFAULT_WEIGHTS_N if rig == "1" else (), ppt_n=ppt)
        spec = "simulated" + (f":{rest}" if rest else "")
        return cls(SimulatedDevice(cfg, device_id=device_id), speed, spec)

    async def open(self) -> None:
        self._last = time.monotonic()

    async def read(self) -> bytes:
        if self._last is None:
            raise TransportError("simulated sensor is not open")
        await asyncio.sleep(TICK_S)
        now = time.monotonic()
        elapsed = min(now - self._last, MAX_READ_S)
        self._last = now
        return self.device.advance(elapsed * self.speed)

    async def write(self, data: bytes) -> None:
        self.device.receive(data)

    async def close(self) -> None:
        self._last = None
