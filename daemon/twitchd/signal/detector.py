"""The detector as objects: a streaming Detector per device and an offline helper.

The numba kernel (signal.kernel) does the work; this module turns its rows into
:class:`twitchd.events.Event` values and keeps the per-stream state.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twitchd.events import KINDS, Event
from twitchd.signal import kernel
from twitchd.signal.params import P_FLOOR_MIN, P_LF_FLOOR_MIN, P_PEAK_MIN, P_RATE, DetectorParams, kernel_params

#: Kind of the provisional flag raised at a burst's onset; the final event
#: (ltr, twitch, contraction or artifact) follows at the burst's end.
PROVISIONAL = "onset"


class Detector:
    """One stream's detector. Feed blocks of any size; events come out in order.

    ``adc_lsb_v`` is the EMG channel's ADC step in volts, when known. The noise
    floor never drops below the energy that quantization alone produces: a
    quiet muscle on a 10-bit ADC sits on one or two codes, and without that
    bound a single code flip would look like a burst.
    """

    def __init__(self, rate_hz: float, params: DetectorParams | None = None, adc_lsb_v: float = 0.0) -> None:
        self.rate_hz = float(rate_hz)
        self.adc_lsb_v = float(adc_lsb_v)
        self.params = params or DetectorParams()
        self._p = self._kernel_params(self.params)
        self._state = kernel.new_state()

    def _kernel_params(self, params: DetectorParams) -> npt.NDArray[np.float64]:
        p = kernel_params(params, self.rate_hz)
        if self.adc_lsb_v > 0:
            p[P_FLOOR_MIN], p[P_PEAK_MIN], p[P_LF_FLOOR_MIN] = quantization_floor(p, self.adc_lsb_v)
        return p

    @property
    def mains_hz(self) -> int:
        """The hum being notched: fixed by the parameters, or detected."""
        return 60 if self._state[kernel.S_USE60] == 1.0 else 50

    @property
    def samples_seen(self) -> int:
        return int(self._state[kernel.S_N])

    def set_params(self, params: DetectorParams) -> None:
        """New settings take effect at the next sample; filter memory is kept."""
        self.params = params
        self._p = self._kernel_params(params)

    def process(
        self, emg_v: npt.NDArray[np.float64], force_n: npt.NDArray[np.float64]
    ) -> tuple[list[Event], npt.NDArray[np.float64]]:
        """Events decided within this block, and the band-passed EMG for display."""
        emg = np.ascontiguousarray(emg_v, dtype=np.float64)
        force = np.ascontiguousarray(force_n, dtype=np.float64)
        filtered = np.empty_like(emg)
        out = np.empty((kernel.max_events(len(emg), self.rate_hz), kernel.E_COLS))
        count = kernel.detect_block(emg, force, self._p, self._state, filtered, out)
        return [self._event(row) for row in out[:count]], filtered

    def _event(self, row: npt.NDArray[np.float64]) -> Event:
        code = int(row[kernel.E_KIND])
        kind = PROVISIONAL if code == kernel.K_ONSET else KINDS[code - 1]
        r = self.rate_hz
        extra: dict[str, float] = {}
        if kind == PROVISIONAL:
            extra = {"likely_ltr": float(row[kernel.E_X1])}
        elif kind == "press":
            extra = {"peak_force_n": float(row[kernel.E_X1]), "ltr_count": float(row[kernel.E_X2])}
        elif kind == "artifact":
            extra = {"force_slope_n_per_s": float(row[kernel.E_X2])}
        elif kind in ("ltr", "felt") and row[kernel.E_X2] > 0.0:
            # Seen by the thumb; emg_stir: the EMG's largest energy around it over what noise reaches.
            extra = {"force_bump_n": round(float(row[kernel.E_X2]), 3), "emg_stir": round(float(row[kernel.E_X1]), 2)}
        peak = float(row[kernel.E_PEAK])
        return Event(
            kind=kind, onset_s=float(row[kernel.E_ONSET] / r), end_s=float(row[kernel.E_END] / r),
            decided_s=float((row[kernel.E_DECIDED] + 1) / r), peak_emg_v=peak if np.isfinite(peak) else None,
            force_n=float(row[kernel.E_FORCE]), confidence=float(row[kernel.E_CONF]), extra=extra,
        )


def quantization_floor(p: npt.NDArray[np.float64], lsb_v: float) -> tuple[float, float, float]:
    """Energy floor, quiet maximum and motion floor of pure quantization noise
    (uniform, one LSB wide) through this very filter chain: measured with the
    kernel itself, so no formula can drift from the code."""
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, 4 * int(p[P_RATE])) * lsb_v
    state = kernel.new_state()
    rows = np.empty((kernel.max_events(len(noise), p[P_RATE]), kernel.E_COLS))
    kernel.detect_block(noise, np.zeros_like(noise), p, state, np.empty_like(noise), rows)
    return float(state[kernel.S_FLOOR]), float(state[kernel.S_QPEAK]), float(state[kernel.S_LFFLOOR])


def estimate_lsb(emg_v: npt.NDArray[np.float64]) -> float:
    """The ADC step of a recording in volts, if its values sit on a grid (else 0).

    CSV recordings carry volts, not counts; a quantized signal shows its step as
    the smallest common difference between neighbouring values.
    """
    diffs = np.abs(np.diff(emg_v[: 200_000]))
    diffs = diffs[diffs > 1e-9]
    if len(diffs) < 20:
        return 0.0
    step = float(np.percentile(diffs, 5))
    on_grid = np.abs(diffs / step - np.round(diffs / step)) < 0.05
    return step if on_grid.mean() > 0.95 else 0.0


def detect_offline(
    emg_v: npt.NDArray[np.float64], force_n: npt.NDArray[np.float64], rate_hz: float,
    params: DetectorParams | None = None, block: int = 65536, provisional: bool = False,
) -> list[Event]:
    """The streaming detector over a whole recording, block by block."""
    det = Detector(rate_hz, params, estimate_lsb(emg_v))
    events: list[Event] = []
    for start in range(0, len(emg_v), block):
        found, _ = det.process(emg_v[start:start + block], force_n[start:start + block])
        events.extend(e for e in found if provisional or e.kind != PROVISIONAL)
    return events


def warm_up() -> None:
    """Load (or compile, the first time) the kernels before the first sample arrives."""
    from twitchd.protocol import StreamDecoder

    detect_offline(np.zeros(64), np.zeros(64), 1000.0)
    StreamDecoder().feed(b"\x01\x00")
