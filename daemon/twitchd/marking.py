"""Where a mark and a site change go: the session store, the live view, and LSL.

Marks come from the dashboard (a key, a foot pedal, the screen), from other
programs (the API) and from the board's push button (through the pipeline,
timed by the board's sample clock). Each goes to the recording (if one is
running), to every dashboard at once, and to every device's LSL Markers
stream, so a lab's LabRecorder file has the practitioner's marks beside the
detector's flags.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from twitchd.hub import Hub
from twitchd.marks import Mark, Site
from twitchd.store.recorder import Recorder

if TYPE_CHECKING:
    from twitchd.lsl.outlets import LslOutlets

log = logging.getLogger(__name__)


class MarkDesk:
    """Takes marks and site changes; a pipeline sink for the board's button (``on_button``)."""

    def __init__(self, recorder: Recorder, hub: Hub, lsl: Callable[[], LslOutlets | None]) -> None:
        self.recorder = recorder
        self.hub = hub
        self._lsl = lsl

    def mark(self, kind: str, text: str = "", source: str = "screen") -> Mark:
        """A mark now (StoreError when not recording, ConfigError if malformed)."""
        mark = self.recorder.mark(kind, text, source)
        self._announce(mark)
        return mark

    def on_button(self, name: str, t_s: float, device_time_us: int, button: int = 1, count: int = 0) -> None:
        """The board's button, from the data path: must not raise or wait."""
        try:
            mark = self.recorder.board_mark(name, t_s, device_time_us)
            self._announce(mark)
        except Exception:  # a mark must never take acquisition down
            log.exception("%s: could not take the board's mark", name)

    # A sink sees every frame and event; the desk wants only the button.
    def on_data(self, *args: object) -> None:
        pass

    def on_event(self, *args: object) -> None:
        pass

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
