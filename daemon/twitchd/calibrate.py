"""``twitchd calibrate``: zero and known weights on the FSR, a fitted curve, stored per sensor.

The practitioner is never asked to press Enter with a weight in one hand:
each step waits for the reading to settle at a new level and takes it then.
The same procedure runs against a real sensor and against the simulated
calibration rig (``simulated:rig=1``), which places the default weights in
turn, so the whole path is tested end to end.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from twitchd.errors import CalibrationError, ConfigError
from twitchd.protocol import Command, Data, Hello, Opcode, StreamDecoder, encode_frame
from twitchd.signal.force_curve import fit_curve
from twitchd.store.calibrations import Calibration
from twitchd.transports.base import Transport

GRAVITY = 9.80665
#: 100 g to 2 kg: kitchen or calibration masses most clinics can find, spanning
#: the FSR 402's rated 0.2-20 N (2 kg = 19.6 N).
DEFAULT_MASSES_KG = (0.1, 0.2, 0.5, 1.0, 2.0)
DEFAULT_WEIGHTS_N = tuple(m * GRAVITY for m in DEFAULT_MASSES_KG)
#: A level must hold this long to be taken: a placed weight rocks for a few
#: hundred ms (the rig's wobble decays with tau 0.15 s).
SETTLE_S = 1.5
#: Sub-windows of the settling time whose means must agree.
SUBWINDOW_S = 0.25
#: ... to within this fraction of the level, or STEADY_COUNTS, whichever is
#: larger (FSR creep under a steady load is < 5 % per decade of time: slow enough).
STEADY_FRACTION = 0.004
STEADY_COUNTS = 2.0
#: A weight must read at least this many counts above the empty sensor, and
#: differ this much from the previous weight's level, to count as a new one.
LOADED_COUNTS = 8.0
#: Seconds to wait for each step before giving up with a message.
STEP_TIMEOUT_S = 120.0
HELLO_TIMEOUT_S = 5.0

_WEIGHT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(g|kg|n|lb)\s*$", re.IGNORECASE)


def parse_weight(text: str) -> float:
    """``200g``, ``0.5kg``, ``4.9N`` or ``1lb`` in newtons."""
    m = _WEIGHT.match(text)
    if not m:
        raise ConfigError(f"a weight looks like 200g, 0.5kg, 4.9N or 1lb, not {text!r}")
    value, unit = float(m.group(1)), m.group(2).lower()
    factor = {"g": GRAVITY / 1000, "kg": GRAVITY, "n": 1.0, "lb": 0.45359237 * GRAVITY}[unit]
    return value * factor


def describe_weight(newtons: float) -> str:
    grams = newtons / GRAVITY * 1000
    mass = f"{grams / 1000:g} kg" if grams >= 1000 else f"{grams:.0f} g"
    return f"{mass} ({newtons:.2f} N)"


class PlateauFinder:
    """Finds the moments the FSR reading holds still, from a stream of counts.

    Counts are consumed one sub-window at a time, so a plateau in the middle of
    a large read is seen, and what follows it is kept for the next step.
    """

    def __init__(self, rate_hz: int, settle_s: float = SETTLE_S) -> None:
        self.sub = max(1, int(SUBWINDOW_S * rate_hz))
        self.needed = max(2, int(round(settle_s / SUBWINDOW_S)))
        self._means: list[float] = []
        self._pending = np.zeros(0)

    def forget_levels(self) -> None:
        """Start judging steadiness afresh (a new step), keeping unread counts."""
        self._means = []

    def feed(self, counts: np.ndarray) -> None:
        self._pending = np.concatenate([self._pending, counts.astype(np.float64)])

    def next_level(self) -> float | None:
        """Consume sub-windows until one completes a steady stretch: its mean level; None when out of counts."""
        while len(self._pending) >= self.sub:
            self._means.append(float(self._pending[:self.sub].mean()))
            self._pending = self._pending[self.sub:]
            self._means = self._means[-self.needed:]
            if len(self._means) == self.needed:
                spread = max(self._means) - min(self._means)
                mean = float(np.mean(self._means))
                if spread <= max(STEADY_COUNTS, STEADY_FRACTION * mean):
                    return mean
        return None


@dataclass
class _Link:
    """The sensor as the calibration sees it: its HELLO and a stream of FSR counts."""

    transport: Transport
    decoder: StreamDecoder
    hello: Hello | None = None
    fsr: int = -1
    seq: int = 0

    async def command(self, opcode: Opcode) -> None:
        await self.transport.write(encode_frame(Command(self.seq, opcode, b"")))
        self.seq += 1

    async def counts(self) -> np.ndarray:
        """The FSR counts that arrived in the next read (possibly none)."""
        out = []
        for item in self.decoder.feed(await self.transport.read()):
            if isinstance(item, Hello):
                self.hello = item
                names = [c.name for c in item.channels]
                if "fsr" not in names:
                    raise CalibrationError(f"sensor {item.device_id} has no force channel (it sends {names})")
                self.fsr = names.index("fsr")
            elif isinstance(item, Data) and self.hello is not None:
                out.append(item.samples[:, self.fsr])
        return np.concatenate(out) if out else np.zeros(0, dtype=np.uint16)


async def calibrate(transport: Transport, weights_n: Sequence[float], say: Callable[[str], None],
                    settle_s: float = SETTLE_S, step_timeout_s: float = STEP_TIMEOUT_S) -> Calibration:
    """Walk through zero and each weight on an opened transport; the fitted calibration."""
    if len(weights_n) < 2:
        raise CalibrationError("calibration needs at least two known weights (three or more show the fit's error)")
    link = _Link(transport, StreamDecoder())
    await link.command(Opcode.HELLO)
    await link.command(Opcode.START)
    deadline = time.monotonic() + HELLO_TIMEOUT_S
    early = []  # counts that came in the same read as the HELLO
    while link.hello is None:
        if time.monotonic() > deadline:
            raise CalibrationError("no HELLO from the sensor: is it a twitchd sensor, at the right baud rate?")
        early.append(await link.counts())
    hello = link.hello
    full = (1 << hello.channels[link.fsr].adc_bits) - 1
    say(f"Sensor {hello.device_id} ({hello.board} {hello.firmware}, {hello.channels[link.fsr].adc_bits}-bit "
        f"force channel at {hello.rate_hz} Hz).")
    finder = PlateauFinder(hello.rate_hz, settle_s)
    finder.feed(np.concatenate(early))

    async def settle(step: str, accept: Callable[[float], bool]) -> float:
        finder.forget_levels()
        deadline = time.monotonic() + step_timeout_s
        while time.monotonic() < deadline:
            while (level := finder.next_level()) is not None:
                if accept(level):
                    return level
            finder.feed(await link.counts())
            await asyncio.sleep(0)
        raise CalibrationError(f"{step}: the reading did not settle within {step_timeout_s:.0f} s "
                               "(is the weight resting still, centred on the sensor's active area?)")

    say("Take everything off the sensor and leave it still.")
    zero = await settle("empty sensor", lambda level: True)
    say(f"  empty sensor reads {zero:.1f} counts.")
    levels: list[float] = []
    last = zero
    for w in weights_n:
        say(f"Place {describe_weight(w)} on the sensor, centred on the active area.")
        level = await settle(describe_weight(w), lambda lv: lv > zero + LOADED_COUNTS
                             and abs(lv - last) > max(LOADED_COUNTS, 0.01 * last))
        levels.append(level)
        last = level
        say(f"  {describe_weight(w)} reads {level:.1f} counts. Lift it off.")
    try:
        fit = fit_curve(zero, list(zip(weights_n, levels, strict=True)), full)
    except ConfigError as exc:
        raise CalibrationError(str(exc)) from exc
    return Calibration.from_fit(hello.device_id, hello.channels[link.fsr].adc_bits, zero, levels, fit)


def report(cal: Calibration) -> str:
    """The calibration as a table the practitioner can check at a glance."""
    lines = ["weight          counts   reads as   error"]
    for w, c, f in zip(cal.forces_n, cal.counts, cal.fitted_n, strict=True):
        lines.append(f"{describe_weight(w):<15} {c:7.1f}   {f:6.2f} N   {100 * (f - w) / w:+5.1f} %")
    curve = cal.curve
    lines.append(f"curve: (x - {curve.zero_ratio:.4f}) = {curve.k:.4f} * F^{curve.exponent:.3f},  x = c / (full - c)")
    lines.append(f"saturates at {cal.saturation_n:.1f} N: above that, readings are not forces "
                 "(see hardware/README.md, Force range)")
    return "\n".join(lines)
