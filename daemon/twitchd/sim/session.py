"""A scripted practitioner session, rendered scene by scene for as long as asked.

Each scene is what a physiotherapist does at one trigger point: rest, press
(thumb lands, holds, maybe snaps across the band, lifts), rest again, and now
and then a voluntary contraction. The simulator knows the truth of every event
it renders, which is what the detector is scored against.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd.sim import sensors, shapes

Array = npt.NDArray[np.float64]

#: (fastest rate, conversions of raw, env, fsr) that the AVR firmware takes per
#: sample (firmware/twitch_sensor/board_avr.h): a 10-bit conversion takes
#: ~65 us with its interrupt, so 13 fit in a 1 kHz period, 7 in 2 kHz, and one
#: of each above. At 5 V one 10-bit code is 24 uV at the skin, more than the
#: EMG noise, and summing 4^n conversions dithered by the ADC's own noise adds
#: n bits (Atmel AVR121). Each step was measured in docs/detector.md: raw x4
#: made the Uno meet the normal-SNR targets; raw x8 and fsr x4 at 1 kHz, fsr x2
#: at 2 kHz lift the low-SNR LTRs that only the force channel can see.
AVR_TIERS: tuple[tuple[int, tuple[int, int, int]], ...] = (
    (1000, (8, 1, 4)),
    (2000, (4, 1, 2)),
)
#: The scale the AVR firmware declares at every rate: each channel as the sum
#: of its largest tier (raw 13 bits, env 10, fsr 12). A tier with fewer
#: conversions multiplies its sum up, so the scale never changes with the rate.
AVR_SUMS: tuple[int, int, int] = (
    max(t[0] for _, t in AVR_TIERS), max(t[1] for _, t in AVR_TIERS), max(t[2] for _, t in AVR_TIERS))
#: Seeds the noise of the further conversions of summed channels, apart from
#: the session's own generator (4 since stop 15, so its sessions reproduce).
OVERSAMPLE_STREAM = 4
#: The ADC's own noise per conversion, in codes: a steady input reads as a
#: code or two. The value is assumed, not measured on a board (docs/detector.md
#: says how to measure it). It is independent between conversions, which is what
#: lets summed conversions dither the quantization.
ADC_NOISE_LSB = 0.3


@dataclass(frozen=True, slots=True)
class SimConfig:
    """What kind of sensor and room the simulated session happens in."""

    seed: int = 1
    rate_hz: int = 2000
    adc_bits: int = 12
    supply_v: float = 3.3
    mains_hz: float = 50.0
    #: "normal", or "low": LTRs near the noise floor and strong hum.
    snr: str = "normal"
    #: This FSR's conductance relative to the nominal part (datasheet: +-6 % part
    #: to part, more with the mounting), and its log-log slope.
    fsr_sensitivity: float = 1.0
    fsr_exponent: float = sensors.FSR_EXPONENT
    #: Non-empty: no patient; the sensor sits on a bench and these weights (N)
    #: are placed on it one after another, as in ``twitchd calibrate``.
    rig_weights_n: tuple[float, ...] = ()
    #: Conversions' worth summed into each sample of raw, env and fsr (a channel
    #: then spans ``adc_bits + log2(sum)`` bits): ones, or AVR_SUMS as the AVR
    #: firmware declares them; how many are taken at this rate is ``conversions``.
    sums: tuple[int, int, int] = (1, 1, 1)
    #: LTRs elicited at each trigger point, drawn per press from this range. Each
    #: repeat is smaller (habituation); a long series shows whether the detector
    #: still sees the last, small ones after the first, large one.
    ltrs_per_press: tuple[int, int] = (2, 4)
    #: Above 0: a pressure pain threshold series instead of LTR scenes. The thumb
    #: ramps at about 1 kg/s (twitchd.ppt), and the patient, whose threshold is
    #: near this many newtons (each trial drawn within about ±6 %), presses the
    #: board's button when it is reached; the thumb then lifts.
    ppt_n: float = 0.0
    #: The practitioner's ramp in a PPT scene (N/s): the standard 1 kg/s by default.
    ppt_rate_n_per_s: float = 9.81

    @property
    def full_scale(self) -> int:
        """Full scale of one conversion of the ADC."""
        return (1 << self.adc_bits) - 1

    @property
    def channel_bits(self) -> tuple[int, int, int]:
        """Bits of raw, env and fsr as the board declares them in HELLO."""
        raw, env, fsr = (self.adc_bits + s.bit_length() - 1 for s in self.sums)
        return raw, env, fsr

    @property
    def volts_per_count(self) -> npt.NDArray[np.float64]:
        """Each channel's step as the daemon scales it: vref / (2^bits - 1)."""
        return self.supply_v / ((1 << np.array(self.channel_bits)) - 1)

    def conversions(self, channel: int) -> int:
        """Conversions of a channel actually taken per sample at this rate (at
        most its declared sum; the firmware multiplies the rest up)."""
        for fastest_hz, taken in AVR_TIERS:
            if self.rate_hz <= fastest_hz:
                return min(self.sums[channel], taken[channel])
        return 1

    @classmethod
    def board(cls, adc_bits: int, **kw: Any) -> SimConfig:
        """A session on one of the two boards: 10 bits is an AVR at 5 V (raw summed
        as its firmware does), 12 an ESP32 at 3.3 V."""
        if adc_bits == 10:
            kw.setdefault("sums", AVR_SUMS)
            return cls(adc_bits=10, supply_v=5.0, **kw)
        return cls(adc_bits=adc_bits, supply_v=3.3, **kw)


@dataclass(frozen=True, slots=True)
class TruthEvent:
    """An event the simulator rendered, in device-time seconds from stream start."""

    kind: str
    onset_s: float
    end_s: float
    force_n: float
    detail: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "onset_s": round(self.onset_s, 4), "end_s": round(self.end_s, 4),
                "force_n": round(self.force_n, 3), **self.detail}


@dataclass(slots=True)
class _Scene:
    emg: Array
    force: Array
    truth: list[TruthEvent]


class _Composer:
    """Builds one scene with a moving cursor so that no two events overlap."""

    def __init__(self, cfg: SimConfig, rng: np.random.Generator, t0: float, length_s: float) -> None:
        self.cfg, self.rng, self.t0 = cfg, rng, t0
        n = int(length_s * cfg.rate_hz)
        self.emg = np.zeros(n)
        self.force = np.zeros(n)
        self._pending: list[tuple[str, float, float, dict[str, float]]] = []
        low = cfg.snr == "low"
        self.unit_peak = (12e-6, 25e-6) if low else (30e-6, 70e-6)

    def idx(self, t: float) -> int:
        return int(round(t * self.cfg.rate_hz))

    def record(self, kind: str, onset: float, end: float, **detail: float) -> None:
        self._pending.append((kind, onset, end, detail))

    def truth(self) -> list[TruthEvent]:
        """The scene's events, with the force at onset read off the finished force track."""
        events = []
        for kind, onset, end, detail in self._pending:
            force = detail.pop("target_n", None)
            if force is None:
                force = float(self.force[min(self.idx(onset), len(self.force) - 1)])
            events.append(TruthEvent(kind, self.t0 + onset, self.t0 + end, force, detail))
        return sorted(events, key=lambda e: e.onset_s)

    def twitch(self, t: float) -> float:
        """A spontaneous, fasciculation-like discharge of a single unit."""
        peak = self.rng.uniform(26e-6, 69e-6) * (0.6 if self.cfg.snr == "low" else 1.0)
        onset, end = shapes.unit_burst(self.emg, self.rng, self.cfg.rate_hz, t,
                                       self.rng.uniform(0.005, 0.06), 1, peak, polyphasic=False)
        self.record("twitch", onset, end)
        return end

    def ltr(self, t: float, repeat: int, bump_force: bool = True) -> float:
        """A local twitch response: polyphasic, 50-300 ms, smaller each repeat."""
        peak = self.rng.uniform(*self.unit_peak) * 0.8 ** repeat
        onset, end = shapes.unit_burst(self.emg, self.rng, self.cfg.rate_hz, t,
                                       self.rng.uniform(0.05, 0.3), int(self.rng.integers(3, 8)),
                                       peak, polyphasic=True)
        if bump_force:
            # The taut band pushes back on the thumb ~30 ms after the EMG burst.
            n = self.idx(self.rng.uniform(0.1, 0.2))
            shapes.add_at(self.force, self.idx(onset + 0.03), self.rng.uniform(0.2, 0.8) * 0.85 ** repeat * shapes.bump(n))
        self.record("ltr", onset, end, repeat=repeat)
        return end

    def contraction(self, t: float) -> float:
        """Voluntary contraction, guarding or cramp: seconds of interference pattern."""
        dur = self.rng.uniform(1.5, 5.0)
        n = self.idx(dur)
        env = np.minimum(1.0, np.minimum(np.arange(n) / self.idx(0.3), (n - np.arange(n)) / self.idx(0.3)))
        rms = self.rng.uniform(60e-6, 250e-6)
        shapes.add_at(self.emg, self.idx(t), rms * env * shapes.interference(self.rng, n, self.cfg.rate_hz))
        self.record("contraction", t, t + dur)
        return t + dur

    def artifact(self, t: float) -> float:
        """Electrode motion at a change of pressure."""
        wave, dur = shapes.motion_transient(self.rng, self.cfg.rate_hz, self.rng.uniform(0.3e-3, 1.5e-3))
        shapes.add_at(self.emg, self.idx(t), wave)
        self.record("artifact", t, t + dur)
        return t + dur

    def rest(self, t: float, dur: float) -> float:
        """Quiet muscle with the odd spontaneous twitch (about one per 8 s)."""
        end = t + dur
        t += self.rng.exponential(8.0)
        while t < end - 0.5:
            t = self.twitch(t) + 0.5 + self.rng.exponential(8.0)
        return end

    def press(self, t: float) -> float:
        """Thumb lands, holds with LTRs (and maybe a snap, a re-grip, guarding), lifts."""
        rng, rate = self.rng, self.cfg.rate_hz
        target = rng.uniform(5.0, 16.0)
        land = rng.uniform(0.4, 1.0)
        start = t
        if rng.random() < 0.85:
            self.artifact(t + rng.uniform(0.0, 0.1))
        t += land
        hold_start = t
        t += rng.uniform(0.8, 1.5)
        repeat = 0
        fewest, most = self.cfg.ltrs_per_press
        for _ in range(int(rng.integers(fewest, most + 1))):
            if rng.random() < 0.3:
                t = self._snap(t, target, repeat)
            else:
                t = self.ltr(t, repeat)
            repeat += 1
            t += rng.uniform(1.0, 2.5)
            if rng.random() < 0.3:
                t = self._regrip(t, target) + rng.uniform(0.6, 1.2)
        if rng.random() < 0.2:
            t = self.contraction(t) + rng.uniform(0.5, 1.0)
        hold_end = t + rng.uniform(0.3, 1.0)
        lift = rng.uniform(0.3, 0.6)
        i0, i1 = self.idx(start), self.idx(hold_start)
        self.force[i0:i1] += target * shapes.smooth_step(i1 - i0)
        i2 = self.idx(hold_end)
        tremor = 0.15 * np.sin(2 * np.pi * rng.uniform(1, 3) * np.arange(i2 - i1) / rate)
        self.force[i1:i2] += target + tremor
        i3 = self.idx(hold_end + lift)
        self.force[i2:i3] += target * (1 - shapes.smooth_step(i3 - i2))
        if rng.random() < 0.85:
            self.artifact(hold_end + rng.uniform(0.0, 0.1))
        self.record("press", start, hold_end + lift, ltr_count=float(repeat), target_n=target)
        return hold_end + lift

    def _snap(self, t: float, target: float, repeat: int) -> float:
        """Snapping palpation: the thumb flicks across the band; the LTR follows 20-50 ms later."""
        dip = self.idx(self.rng.uniform(0.08, 0.15))
        shapes.add_at(self.force, self.idx(t), -target * self.rng.uniform(0.3, 0.6) * shapes.bump(dip))
        return self.ltr(t + self.rng.uniform(0.02, 0.05), repeat)

    def _regrip(self, t: float, target: float) -> float:
        """The thumb shifts: a force step with electrode motion and no LTR."""
        n = self.idx(0.15)
        step = self.rng.uniform(-0.25, 0.25) * target
        shapes.add_at(self.force, self.idx(t), step * shapes.smooth_step(n))
        shapes.add_at(self.force, self.idx(t) + n, np.full(self.idx(1.5), step) * (1 - shapes.smooth_step(self.idx(1.5))))
        return self.artifact(t)


class SessionSimulator:
    """Endless simulated session in ADC counts: columns raw, env, fsr.

    Scenes are rendered lazily, so a daemon can run for hours with bounded
    memory; the analogue front end carries its filter state across scenes.
    """

    CHANNELS = ("raw", "env", "fsr")

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = cfg = config or SimConfig()
        self.rng = np.random.default_rng(cfg.seed)
        self._oversample_rng = np.random.default_rng([cfg.seed, OVERSAMPLE_STREAM])
        self.truth: list[TruthEvent] = []
        self._made_s = 0.0
        self._emg = np.zeros(0)
        self._force = np.zeros(0)
        self._pos = 0
        self._index = 0
        self._front = np.zeros(3)
        rate = cfg.rate_hz
        self._coeffs = (sensors.one_pole_coeff(sensors.MYOWARE_HP_HZ, rate),
                        sensors.one_pole_coeff(sensors.MYOWARE_LP_HZ, rate),
                        sensors.one_pole_coeff(sensors.MYOWARE_ENV_LP_HZ, rate))
        low = cfg.snr == "low"
        #: Session sample numbers at which the simulated patient presses the board's button.
        self.button_presses: list[int] = []
        self._noise_v = 6e-6 if low else 2.5e-6
        self._hum_v = 25e-6 if low else 5e-6

    def _scene(self) -> None:
        if self.config.rig_weights_n:
            self._rig_scene()
            return
        if self.config.ppt_n > 0:
            self._ppt_scene()
            return
        first = self._made_s == 0.0
        comp = _Composer(self.config, self.rng, self._made_s, 60.0)
        t = comp.rest(0.0, 1.5 if first else self.rng.uniform(1.5, 4.0))
        t = comp.press(t)
        t = comp.rest(t, self.rng.uniform(1.5, 4.0))
        if self.rng.random() < 0.4:
            t = comp.contraction(t)
            t = comp.rest(t, self.rng.uniform(1.0, 2.0))
        n = comp.idx(t)
        self._emg = np.concatenate([self._emg[self._pos:], comp.emg[:n]])
        self._force = np.concatenate([self._force[self._pos:], comp.force[:n]])
        self._pos = 0
        self.truth.extend(comp.truth())
        self._made_s += n / self.config.rate_hz

    def _rig_scene(self) -> None:
        """A calibration rig: empty for 3 s, then each weight placed (a wobble as it
        settles, slow creep under the load, as FSRs do), held 4 s, lifted, 2.5 s empty."""
        rate = self.config.rate_hz
        parts = [np.zeros(int(3.0 * rate))]
        for w in self.config.rig_weights_n:
            ramp = np.linspace(0.0, w, int(0.4 * rate))
            t = np.arange(int(4.0 * rate)) / rate
            wobble = 0.08 * w * np.exp(-t / 0.15) * np.sin(2 * np.pi * 6 * t)
            creep = w * 0.01 * np.log10(1 + t / 0.1)
            parts += [ramp, w + wobble + creep, np.linspace(w, 0.0, int(0.3 * rate)), np.zeros(int(2.5 * rate))]
        force = np.concatenate(parts)
        self._emg = np.concatenate([self._emg[self._pos:], np.zeros(len(force))])
        self._force = np.concatenate([self._force[self._pos:], force])
        self._pos = 0
        self._made_s += len(force) / rate

    def _ppt_scene(self) -> None:
        """One PPT trial: rest, a steady ramp to the patient's threshold, the button, the thumb lifts.

        The force carries a thumb's tremor; the EMG stays quiet (a relaxed patient).
        """
        cfg, rate = self.config, self.config.rate_hz
        rest_s = 3.0 if self._made_s == 0.0 else self.rng.uniform(4.0, 6.0)
        threshold = cfg.ppt_n * float(np.clip(1.0 + self.rng.normal(0.0, 0.06), 0.85, 1.15))
        slope = cfg.ppt_rate_n_per_s * self.rng.uniform(0.95, 1.05)
        ramp = np.arange(int(threshold / slope * rate)) / rate * slope
        t = np.arange(len(ramp)) / rate
        ramp = ramp + 0.1 * np.sin(2 * np.pi * 9.0 * t + self.rng.uniform(0, 6.3)) * np.minimum(1.0, ramp / 2.0)
        lift = np.linspace(ramp[-1] if len(ramp) else 0.0, 0.0, int(0.5 * rate))
        start = len(self._emg) - self._pos + self._index + int(rest_s * rate)
        self.button_presses.append(start + len(ramp))
        self.truth.append(TruthEvent("ppt", self._made_s + rest_s, self._made_s + rest_s + len(ramp) / rate,
                                     float(threshold), {"rate_n_per_s": slope}))
        force = np.concatenate([np.zeros(int(rest_s * rate)), ramp, lift])
        self._emg = np.concatenate([self._emg[self._pos:], np.zeros(len(force))])
        self._force = np.concatenate([self._force[self._pos:], force])
        self._pos = 0
        self._made_s += len(force) / rate

    def read(self, n: int) -> npt.NDArray[np.uint16]:
        """The next n samples as the ADC would see them, shape (n, 3)."""
        while len(self._emg) - self._pos < n:
            self._scene()
        cfg = self.config
        skin = self._emg[self._pos:self._pos + n].copy()
        force = self._force[self._pos:self._pos + n]
        self._pos += n
        t = (self._index + np.arange(n)) / cfg.rate_hz
        self._index += n
        skin += self.rng.normal(0.0, self._noise_v, n)
        hum = np.sin(2 * np.pi * cfg.mains_hz * t) + 0.3 * np.sin(2 * np.pi * 3 * cfg.mains_hz * t + 0.7)
        skin += self._hum_v * hum
        raw, env = np.empty(n), np.empty(n)
        a_hp, a_lp, a_env = self._coeffs
        sensors.myoware_stage(skin, self._front, a_hp, a_lp, a_env, raw, env)
        fsr = sensors.fsr_volts(np.maximum(force, 0.0) + self.rng.normal(0, 0.02, n), cfg.supply_v,
                                cfg.fsr_sensitivity, cfg.fsr_exponent)
        volts = np.stack([raw + cfg.supply_v / 2, env, fsr], axis=1)
        codes = volts / cfg.supply_v * cfg.full_scale
        counts = np.clip(np.rint(codes + self.rng.normal(0, ADC_NOISE_LSB, (n, 3))), 0, cfg.full_scale)
        for c, total in enumerate(cfg.sums):
            if total == 1:
                continue
            # The further conversions of a pin follow within ~0.2 ms: the same
            # voltage (the MyoWare's output is band-limited, force is slow) and
            # fresh ADC noise. Their noise has a generator of its own, so a
            # session's scenes do not depend on how many conversions the board takes.
            k = cfg.conversions(c)
            extra = codes[:, c] + self._oversample_rng.normal(0, ADC_NOISE_LSB, (k - 1, n))
            counts[:, c] += np.clip(np.rint(extra), 0, cfg.full_scale).sum(axis=0)
            counts[:, c] *= total // k
        return counts.astype(np.uint16)

    def truth_until(self, t_s: float) -> list[TruthEvent]:
        """True events that have ended by device time ``t_s``."""
        return [e for e in self.truth if e.end_s <= t_s]
