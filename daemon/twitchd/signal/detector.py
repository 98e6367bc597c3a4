"""The detector as objects: a streaming Detector per device and an offline helper.

The numba kernel (signal.kernel) does the work; this module turns its rows into
:class:`twitchd.events.Event` values and keeps the per-stream state.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from twitchd.events import KINDS, Event
from twitchd.signal import kernel
from twitchd.signal.params import DetectorParams, kernel_params

#: Kind of the provisional flag raised at a burst's onset; the final event
#: (ltr, twitch, contraction or artifact) follows at the burst's end.
PROVISIONAL = "onset"


class Detector:
    """One stream's detector. Feed blocks of any size; events come out in order."""

    def __init__(self, rate_hz: float, params: DetectorParams | None = None) -> None:
        self.rate_hz = float(rate_hz)
        self.params = params or DetectorParams()
        self._p = kernel_params(self.params, self.rate_hz)
        self._state = kernel.new_state()

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
        self._p = kernel_params(params, self.rate_hz)

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
        peak = float(row[kernel.E_PEAK])
        return Event(
            kind=kind, onset_s=float(row[kernel.E_ONSET] / r), end_s=float(row[kernel.E_END] / r),
            decided_s=float((row[kernel.E_DECIDED] + 1) / r), peak_emg_v=peak if np.isfinite(peak) else None,
            force_n=float(row[kernel.E_FORCE]), confidence=float(row[kernel.E_CONF]), extra=extra,
        )


def detect_offline(
    emg_v: npt.NDArray[np.float64], force_n: npt.NDArray[np.float64], rate_hz: float,
    params: DetectorParams | None = None, block: int = 65536, provisional: bool = False,
) -> list[Event]:
    """The streaming detector over a whole recording, block by block."""
    det = Detector(rate_hz, params)
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
