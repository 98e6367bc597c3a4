"""The practitioner's hands are both on the patient: a press of the button on the
sensor board marks a felt LTR in the session, at the sample the board took it at,
with the board's own clock, and shows on the dashboard at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from twitchd.api import Daemon
from twitchd.marks import Site
from twitchd.settings import Settings
from twitchd.store.recorder import SessionMeta
from twitchd.store.sessions import SessionStore

RATE = 2000


def test_a_press_of_the_board_button_is_a_felt_ltr_mark_on_the_sample_clock(tmp_path: Path) -> None:
    daemon = Daemon(Settings(sources=("simulated:seed=4,speed=4",)), data_dir=tmp_path)
    pressed: dict[str, int] = {}
    sub = daemon.hub.subscribe()

    async def scenario() -> None:
        await daemon.start()
        try:
            pipeline = daemon.pipelines[0]
            device = pipeline.transport.device  # type: ignore[attr-defined]
            daemon.marks.set_site(Site.make("gluteus medius", "left", "TrP2"))
            await asyncio.to_thread(daemon.recorder.start, SessionMeta(practitioner="Ann"))
            end = time.monotonic() + 30
            while pipeline.info.samples < 2 * RATE:
                assert time.monotonic() < end
                await asyncio.sleep(0.02)
            pressed["index"] = device._sample_index + sum(len(p) for p in device._pending)
            pressed["us"] = device._device_us()
            device.press_button()
            while pipeline.info.marks < 1 or daemon.recorder.marks < 1:
                assert time.monotonic() < end
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            await asyncio.to_thread(daemon.recorder.stop)
        finally:
            await daemon.stop()

    asyncio.run(scenario())
    with SessionStore(tmp_path) as store:
        (session,) = store.all()
        (mark,) = store.markers(session["id"])
        first_us = store.db.execute("SELECT min(device_t0_us) FROM chunks").fetchone()[0]
    assert mark["kind"] == "felt_ltr" and mark["source"] == "board" and mark["device"] == "sim-1"
    assert mark["device_time_us"] == pressed["us"]
    assert mark["site"] == {"muscle": "gluteus medius", "side": "left", "point": "TrP2"}
    # The simulated board stamps sample k at k x 500 us: the session's first sample is first_us,
    # so the press's sample sits at (pressed - first) samples of session time, exactly.
    assert mark["t_s"] == pytest.approx((pressed["index"] * 500 - first_us) / 1e6, abs=0.5 / RATE)
    shown = [m for m in sub._events if m.get("kind") == "mark"]
    assert shown and shown[0]["source"] == "board" and shown[0]["t_s"] == pytest.approx(mark["t_s"], abs=1e-4)
