"""Channel health: what the practitioner must be told about the signal itself.

A saturated FSR reads a force that is not the force; an EMG channel that sits
on one code (cable out, sensor unpowered) or hits the ADC's rails (electrode
off, lead loose) makes every detector decision meaningless. These are judged
on raw ADC counts in half-second windows and raised or cleared as a whole
window shows them, so a warning neither flickers nor lags by more than ~1 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from twitchd.signal.calibration import ChannelMap
from twitchd.signal.force_curve import saturation

WINDOW_S = 0.5
#: Share of a window's force samples at or above the saturation count that raises the warning.
SATURATED_SHARE = 0.10
#: Share of a window's EMG samples on the ADC's first or last code that means clipping
#: (a healthy MyoWare RAW centred on Vs/2 never reaches the rails, even in a strong contraction).
CLIPPED_SHARE = 0.01
#: Whole windows on one EMG code before it is called flat (real ADCs and the
#: sensor's noise always move by a count or two).
FLAT_WINDOWS = 2


@dataclass(frozen=True, slots=True)
class Warning_:
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


class ChannelHealth:
    """Watches one device's counts; ``update`` says whether the warnings changed."""

    def __init__(self, rate_hz: int, cmap: ChannelMap, emg_full_scale: int, saturation_n: float | None = None) -> None:
        """``saturation_n`` from the sensor's calibration; without one, the nominal curve's limit."""
        self.cmap = cmap
        self.window = max(1, int(WINDOW_S * rate_hz))
        # An AVR's raw channel is the sum of eight 10-bit conversions, so its top
        # is 8184 of a declared 8191: a rail is anything within 1/1024 of it.
        self.emg_rail = emg_full_scale - (emg_full_scale >> 10)
        full = cmap.force_full_scale
        if saturation_n is None:
            self.sat_count, self.sat_n = saturation(cmap.force_curve, full)
        else:
            self.sat_count, self.sat_n = int(np.ceil(cmap.force_curve.counts_for(saturation_n, full))), saturation_n
        self.warnings: dict[str, Warning_] = {}
        self._blocks: list[npt.NDArray[np.uint16]] = []
        self._n = 0
        self._flat_windows = 0

    def update(self, counts: npt.NDArray[np.uint16]) -> bool:
        """Account for a block of samples; True when a window closed and the warnings changed.

        Frames are only kept until a window is full and judged there in one
        pass: this runs on the data path, once per (10-sample) frame.
        """
        self._blocks.append(counts)
        self._n += len(counts)
        if self._n < self.window:
            return False
        window = np.concatenate(self._blocks)
        self._blocks, self._n = [], 0
        before = set(self.warnings)
        self._judge(window)
        return set(self.warnings) != before

    def _judge(self, window: npt.NDArray[np.uint16]) -> None:
        n = len(window)
        emg = window[:, self.cmap.emg]
        flat = bool(emg.min() == emg.max())
        clipped = int(np.count_nonzero((emg == 0) | (emg >= self.emg_rail)))
        saturated = 0 if self.cmap.force is None else int(np.count_nonzero(window[:, self.cmap.force] >= self.sat_count))
        self._flat_windows = self._flat_windows + 1 if flat else 0
        self._set("emg_flat", self._flat_windows >= FLAT_WINDOWS,
                  "EMG channel is flat: is the sensor powered and its cable plugged in?")
        self._set("emg_clipping", clipped >= CLIPPED_SHARE * n and not flat,
                  "EMG is clipping at the ADC's limits: check the electrodes are on the skin and the leads are tight")
        self._set("force_saturated", saturated >= SATURATED_SHARE * n,
                  f"force is beyond what this sensor measures (saturates at {self.sat_n:.0f} N): "
                  "readings are not forces any more; ease off, or use a larger-range sensor (hardware/README.md)")

    def _set(self, code: str, on: bool, message: str) -> None:
        if on:
            self.warnings[code] = Warning_(code, message)
        else:
            self.warnings.pop(code, None)

    def to_json(self) -> list[dict[str, str]]:
        return [w.to_json() for w in self.warnings.values()]
