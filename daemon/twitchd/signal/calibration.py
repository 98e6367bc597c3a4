"""ADC counts to physical units: EMG volts at the sensor output, force in newtons.

An uncalibrated FSR uses the nominal FSR 402 curve (twitchd.sim.sensors), which
can be off by tens of percent (+-6 % part to part, +10 % hysteresis, and the
mounting); ``twitchd calibrate`` fits the curve to known weights
(twitchd.signal.force_curve) and every later session with that sensor uses it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from twitchd.errors import ProtocolError
from twitchd.protocol.frames import Hello
from twitchd.signal.force_curve import ForceCurve


@dataclass(frozen=True, slots=True)
class ChannelMap:
    """Where each signal sits in a DATA frame, and how to scale it."""

    emg: int
    force: int | None
    env: int | None
    emg_scale: float
    force_supply_v: float
    force_full_scale: int
    env_scale: float
    force_curve: ForceCurve = field(default_factory=ForceCurve.nominal)

    @property
    def nominal_force(self) -> bool:
        return self.force_curve == ForceCurve.nominal()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ChannelMap:
        """A stored map; maps stored before calibration existed used the nominal curve."""
        values = {k: v for k, v in data.items() if k != "nominal_force"}
        curve = values.pop("force_curve", None)
        return cls(**values, force_curve=ForceCurve(**curve) if curve else ForceCurve.nominal())

    @classmethod
    def from_hello(cls, hello: Hello, force_curve: ForceCurve | None = None) -> ChannelMap:
        names = [c.name for c in hello.channels]
        if "raw" not in names:
            raise ProtocolError(f"device {hello.device_id} has no 'raw' EMG channel (has {names})")
        raw = hello.channels[names.index("raw")]
        force = names.index("fsr") if "fsr" in names else None
        env = names.index("env") if "env" in names else None
        fsr = hello.channels[force] if force is not None else raw
        env_ch = hello.channels[env] if env is not None else raw
        return cls(
            emg=names.index("raw"), force=force, env=env,
            emg_scale=raw.vref_mv / 1000.0 / ((1 << raw.adc_bits) - 1),
            force_supply_v=fsr.vref_mv / 1000.0, force_full_scale=(1 << fsr.adc_bits) - 1,
            env_scale=env_ch.vref_mv / 1000.0 / ((1 << env_ch.adc_bits) - 1),
            force_curve=force_curve or ForceCurve.nominal(),
        )

    def emg_volts(self, counts: npt.NDArray[np.uint16]) -> npt.NDArray[np.float64]:
        return counts[:, self.emg].astype(np.float64) * self.emg_scale

    def env_volts(self, counts: npt.NDArray[np.uint16]) -> npt.NDArray[np.float64]:
        if self.env is None:
            return np.full(counts.shape[0], np.nan)
        return counts[:, self.env].astype(np.float64) * self.env_scale

    def force_newtons(self, counts: npt.NDArray[np.uint16]) -> npt.NDArray[np.float64]:
        if self.force is None:
            return np.full(counts.shape[0], np.nan)
        full = self.force_full_scale
        return _force_table(self.force_curve, full)[np.minimum(counts[:, self.force], full)]


@lru_cache(maxsize=256)
def _force_table(curve: ForceCurve, full_scale: int) -> npt.NDArray[np.float64]:
    """Newtons for counts 0..full_scale, worked out once per curve: the curve on
    each read's few dozen samples cost 7 % of the daemon's time with 16 boards
    (py-spy, issue 20); a table lookup gives the same values (the curve reads a
    count above full scale as full scale)."""
    table = curve.newtons(np.arange(full_scale + 1), full_scale)
    table.flags.writeable = False
    return table
