"""Force calibrations, one per sensor, kept by device id in the data directory.

A JSON file per device (``calibrations/<device id>.json``) rather than a table
in the session database: a calibration belongs to the sensor, not to a
session, it is small and read once per connection, and a practitioner can see,
copy or delete it by hand. Each session stores the curve it was recorded with
(in its channel map), so recalibrating never changes an old recording.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from twitchd.errors import StoreError
from twitchd.signal.force_curve import CalibrationFit, ForceCurve
from twitchd.store.paths import default_data_dir

FOLDER = "calibrations"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True)
class Calibration:
    """What ``twitchd calibrate`` measured on one sensor, and the curve fitted to it."""

    device_id: str
    created_at: str
    adc_bits: int
    zero_counts: float
    forces_n: tuple[float, ...]
    counts: tuple[float, ...]
    fitted_n: tuple[float, ...]
    curve: ForceCurve
    saturation_n: float
    max_error_pct: float

    @classmethod
    def from_fit(cls, device_id: str, adc_bits: int, zero_counts: float, counts: list[float],
                 fit: CalibrationFit) -> Calibration:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        return cls(device_id, now, adc_bits, zero_counts, fit.forces_n, tuple(counts), fit.fitted_n,
                   fit.curve, round(fit.saturation_n, 2), round(fit.max_error_pct, 2))

    @property
    def note(self) -> str:
        """One line for the dashboard, the session record and exports."""
        day = self.created_at[:10]
        return (f"calibrated {day} with {len(self.forces_n)} weights up to {max(self.forces_n):.1f} N "
                f"(max error {self.max_error_pct:.1f} %), saturates at {self.saturation_n:.0f} N")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "note": self.note}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        data = {k: v for k, v in data.items() if k != "note"}
        for key in ("forces_n", "counts", "fitted_n"):
            data[key] = tuple(data[key])
        data["curve"] = ForceCurve(**data["curve"])
        return cls(**data)


class CalibrationBook:
    """The calibrations in one data directory."""

    def __init__(self, data_dir: Path | None) -> None:
        self.folder = (data_dir if data_dir is not None else default_data_dir()) / FOLDER

    def path(self, device_id: str) -> Path:
        safe = _SAFE.sub("_", device_id).strip("._") or "unnamed"
        return self.folder / f"{safe}.json"

    def get(self, device_id: str) -> Calibration | None:
        """This sensor's calibration, or None; a damaged file is reported, not trusted."""
        path = self.path(device_id)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read the calibration of {device_id} ({path}): {exc}") from exc
        try:
            return Calibration.from_json(data)
        except (TypeError, KeyError) as exc:
            raise StoreError(f"the calibration file {path} is not one twitchd wrote: {exc}") from exc

    def put(self, cal: Calibration) -> Path:
        """Write atomically (temp file, fsync, rename): a crash never leaves half a calibration."""
        path = self.path(cal.device_id)
        tmp = path.with_suffix(".tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tmp.open("w") as f:
                json.dump(cal.to_json(), f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot save the calibration to {path}: {exc}") from exc
        return path

    def all(self) -> list[Calibration]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                found.append(Calibration.from_json(json.loads(path.read_text())))
            except (OSError, ValueError, TypeError, KeyError):
                continue
        return found
