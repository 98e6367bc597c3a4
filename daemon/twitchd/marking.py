"""Where a mark, a site change and a patient's pain press go: the store, the live view, and LSL.

Marks come from the dashboard (a key, a foot pedal, the screen), from other
programs (the API) and from the board's push button (through the pipeline,
timed by the board's sample clock). Each goes to the recording (if one is
running), to every dashboard at once, and to every device's LSL Markers
stream, so a lab's LabRecorder file has the practitioner's marks beside the
detector's flags.

During a pressure pain threshold series (twitchd.ppt) the patient's press
(the pain key, or the board's button) ends a trial instead of marking an LTR.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twitchd.errors import ReviewError, StoreError
from twitchd.hub import Hub
from twitchd.marks import Mark, Site
from twitchd.ppt import TRIALS_PER_SITE
from twitchd.store.calibrations import CalibrationBook
from twitchd.store.recorder import Recorder

if TYPE_CHECKING:
    from twitchd.lsl.outlets import LslOutlets

log = logging.getLogger(__name__)

#: A force calibration older than this is "not current": an FSR's response drifts with wear,
#: temperature and how it is mounted (Interlink's integration guide asks for calibration in the
#: final mounting), so a clinic that measures thresholds recalibrates monthly. PPT still runs,
#: and every trial and the report say so.
CALIBRATION_MAX_AGE_DAYS = 30
#: How long after the press the threshold is read: the recorder commits every 0.1 s.
READ_AFTER_S = 0.35

#: (pipeline name, device id) of the device a PPT is read from.
ForceDevice = tuple[str, str]


@dataclass
class PptSeries:
    """Trials at one site, one press each: three by default."""

    number: int
    site: Site
    device: str
    calibration: str
    trials: int = TRIALS_PER_SITE
    done: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"series": self.number, "site": self.site.to_json(), "device": self.device, "trials": self.trials,
                "done": self.done, "calibration": self.calibration}


def calibration_state(book: CalibrationBook, device_id: str, now: dt.datetime | None = None) -> tuple[bool, str]:
    """(usable, what to say): no calibration is unusable; an old one is usable and says so."""
    cal = book.get(device_id)
    if cal is None:
        return False, (f"PPT needs the force sensor of {device_id} calibrated with known weights "
                       "(twitchd calibrate; hardware/README.md): the datasheet curve can be tens of percent off")
    made = dt.datetime.fromisoformat(cal.created_at)
    age = ((now or dt.datetime.now(dt.timezone.utc)) - made).days
    if age > CALIBRATION_MAX_AGE_DAYS:
        return True, (f"not current: {cal.note}, {age} days ago (recalibrate every {CALIBRATION_MAX_AGE_DAYS} days)")
    return True, f"current: {cal.note}"


class MarkDesk:
    """Takes marks and site changes; a pipeline sink for the board's button only (``on_button``:
    twitchd.pipeline.Sinks calls it for nothing else)."""

    def __init__(self, recorder: Recorder, hub: Hub, lsl: Callable[[], LslOutlets | None],
                 force_device: Callable[[str | None], ForceDevice | None] = lambda name: None,
                 calibrations: CalibrationBook | None = None,
                 read_trial: Callable[[int, float], dict[str, Any] | None] | None = None) -> None:
        self.recorder = recorder
        self.hub = hub
        self._lsl = lsl
        self._force_device = force_device
        self._calibrations = calibrations
        self._read_trial = read_trial
        self.ppt: PptSeries | None = None
        self._series = 0
        self._session: int | None = None

    # -- pressure pain threshold ------------------------------------------------
    def start_ppt(self, trials: int = TRIALS_PER_SITE, device: str | None = None) -> PptSeries:
        """A series of ``trials`` at the current site, read from ``device`` (default: the first with a force
        sensor); ReviewError or StoreError saying what is missing."""
        if not self.recorder.recording:
            raise StoreError("not recording: start a recording before measuring a pressure pain threshold")
        if self.recorder.site.empty:
            raise ReviewError("choose the site first: a pressure pain threshold belongs to a site")
        found = self._force_device(device)
        if found is None:
            raise ReviewError(f"no connected device {device} with a force sensor" if device else
                              "no connected device has a force sensor")
        usable, said = calibration_state(self._calibrations, found[1]) if self._calibrations else (False, "")
        if not usable:
            raise ReviewError(said or "PPT needs a calibrated force sensor")
        if self._session != self.recorder.session_id:
            self._session, self._series = self.recorder.session_id, 0
        self._series += 1
        self.ppt = PptSeries(self._series, self.recorder.site, found[0], said, trials)
        self.hub.publish_record({"kind": "ppt", "state": "started", **self.ppt.to_json()})
        return self.ppt

    def stop_ppt(self) -> PptSeries | None:
        series, self.ppt = self.ppt, None
        if series is not None:
            self.hub.publish_record({"kind": "ppt", "state": "stopped", **series.to_json()})
        return series

    def pain(self, source: str, t_s: float | None = None, device_time_us: int | None = None) -> dict[str, Any]:
        """The patient's press of the running series: the trial, its threshold read a moment later."""
        series = self.ppt
        if series is None:
            raise ReviewError("no PPT series is running: start one at the current site first")
        t = self.recorder.ppt_trial(series.number, source, t_s, series.device, device_time_us, series.calibration)
        series.done += 1
        trial = {"series": series.number, "trial": series.done, "of": series.trials, "t_s": round(t, 4),
                 "source": source, "site": series.site.to_json()}
        if series.done >= series.trials:
            self.ppt = None
        self.hub.publish_record({"kind": "ppt", "state": "trial", **trial,
                                 "done": series.done, "trials": series.trials})
        return trial

    async def read_later(self, trial: dict[str, Any]) -> dict[str, Any]:
        """The trial with its threshold and ramp, once the samples around it are committed."""
        await asyncio.sleep(READ_AFTER_S)
        if self._read_trial is None:
            return trial
        try:
            reading = await asyncio.to_thread(self._read_trial, int(self._session or 0), float(trial["t_s"]))
        except Exception:
            log.exception("could not read PPT trial at %s s", trial["t_s"])
            reading = None
        result = {**trial, **(reading or {})}
        self.hub.publish_record({"kind": "ppt", "state": "result", **result})
        return result

    def mark(self, kind: str, text: str = "", source: str = "screen") -> Mark:
        """A mark now (StoreError when not recording, ConfigError if malformed)."""
        mark = self.recorder.mark(kind, text, source)
        self._announce(mark)
        return mark

    def on_button(self, name: str, t_s: float, device_time_us: int, button: int = 1, count: int = 0) -> None:
        """The board's button, from the data path: must not raise or wait.

        In a PPT series it is the patient's pain press; otherwise a felt-LTR mark.
        """
        try:
            session_t = self.recorder.session_time(name, t_s)
            if self.ppt is not None and session_t is not None:
                trial = self.pain("board", session_t, device_time_us)
                asyncio.get_running_loop().create_task(self.read_later(trial))
                return
            mark = self.recorder.board_mark(name, t_s, device_time_us)
            self._announce(mark)
        except Exception:  # a mark must never take acquisition down
            log.exception("%s: could not take the board's press", name)

    def set_site(self, site: Site) -> float | None:
        t_s = self.recorder.set_site(site)
        self.hub.publish_record({"kind": "site", "site": site.to_json(), "session_id":
                                  self.recorder.session_id if t_s is not None else None,
                                  "t_s": None if t_s is None else round(t_s, 4)})
        return t_s

    def _announce(self, mark: Mark) -> None:
        body = mark.to_json()
        self.hub.publish_record(body)
        lsl = self._lsl()
        if lsl is not None:
            for name, t_s in mark.at.items():
                lsl.on_mark(name, t_s, body)
