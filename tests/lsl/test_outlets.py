"""A lab records twitchd next to its other devices: an LSL inlet on this
machine finds each sensor's streams, gets every sample stamped from the
board's clock, and an ``ltr`` marker for every LTR, on the same time axis.

Real liblsl, real outlets and inlets, on loopback in a session of this run's
own (tests/lsl/conftest.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.lsl.conftest import device_id, resolve
from twitchd.api import Daemon
from twitchd.clock import WARMUP_S
from twitchd.lsl.streams import values
from twitchd.settings import Settings
from twitchd.signal.detector import warm_up

pytestmark = pytest.mark.lsl
RATE = 2000


@pytest.fixture(autouse=True, scope="module")
def compiled_detector() -> None:
    """As `twitchd run` does before it starts: a first-call compile would stall the loop for seconds."""
    warm_up()


class Tap:
    """A sink beside the LSL one: what the pipeline handed over, and when (LSL clock)."""

    def __init__(self, clock: Any) -> None:
        self.clock = clock
        self.frames: list[tuple[int, int, Any, Any, float, float]] = []

    def on_data(self, name: str, info: Any, cmap: Any, origin_raw: int, index: int, counts: Any, t0_us: int,
                host_s: float) -> None:
        self.frames.append((index, t0_us, counts, cmap, self.clock(), host_s))

    def on_event(self, name: str, event: Any) -> None:
        pass


def channel_meta(info: Any) -> list[tuple[str, str, str]]:
    ch = info.desc().child("channels").child("channel")
    out = []
    while not ch.empty():
        out.append((ch.child_value("label"), ch.child_value("unit"), ch.child_value("type")))
        ch = ch.next_sibling("channel")
    return out


def pull_for(inlet: Any, seconds: float) -> tuple[list[Any], list[float]]:
    samples: list[Any] = []
    stamps: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s, t = inlet.pull_chunk(timeout=0.2, max_samples=4096)
        samples.extend(s)
        stamps.extend(t)
    return samples, stamps


def pull_until(inlet: Any, ids: set[int], timeout: float = 10.0) -> tuple[list[Any], list[float]]:
    """Markers until every event id in ``ids`` has come (the LSL thread pushes within a wake-up or so)."""
    samples: list[Any] = []
    stamps: list[float] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end and not ids <= {json.loads(s[0])["id"] for s in samples}:
        s, t = inlet.pull_chunk(timeout=0.2, max_samples=4096)
        samples.extend(s)
        stamps.extend(t)
    return samples, stamps


def test_one_sensor_streams_every_sample_stamped_from_its_own_clock(pylsl: Any) -> None:
    """Real time: the board's clock and the host's must run at the same rate here."""
    dev = device_id(1)
    daemon = Daemon(Settings(sources=(f"simulated:seed=1,id={dev}",)))
    tap = Tap(pylsl.local_clock)
    daemon.sinks.add(tap)
    daemon.set_lsl(True)
    got: dict[str, Any] = {}

    async def scenario() -> None:
        await daemon.start()
        try:
            (found,) = await asyncio.to_thread(resolve, pylsl, "name", f"twitchd {dev}")
            inlet = pylsl.StreamInlet(found, processing_flags=pylsl.proc_none)
            got["info"] = await asyncio.to_thread(inlet.info, 5.0)
            await asyncio.to_thread(inlet.open_stream, 5.0)
            got["samples"], got["stamps"] = await asyncio.to_thread(pull_for, inlet, 1.5)
            got["clock"] = daemon.lsl.clock_of("sim-1")  # type: ignore[union-attr]
        finally:
            await daemon.stop()

    started = time.monotonic()
    asyncio.run(scenario())
    assert time.monotonic() - started >= WARMUP_S  # no outlet before the clock was fitted

    info = got["info"]
    assert (info.type(), info.source_id(), info.nominal_srate(), info.channel_count()) == ("EMG", dev, RATE, 3)
    assert channel_meta(info) == [("EMG raw", "volts", "EMG"), ("Force", "newtons", "Force"),
                                  ("EMG envelope", "volts", "Misc")]
    acq = info.desc().child("acquisition")
    assert acq.child_value("serial_number") == dev and acq.child_value("model") == "twitchd-sim"

    samples, stamps = np.array(got["samples"], dtype=np.float32), np.array(got["stamps"])
    assert len(stamps) >= 1.2 * RATE
    # What the pipeline handed over, per sample: values as the stream carries them, device µs.
    vals = np.concatenate([values(f[3], f[2]) for f in tap.frames])
    dev_us = np.concatenate([f[1] + np.arange(f[2].shape[0]) * 1e6 / RATE for f in tap.frames])
    k0 = next(k for k in range(len(vals) - 50) if np.array_equal(vals[k:k + 50], samples[:50]))
    assert np.array_equal(vals[k0:k0 + len(samples)], samples), "every sample, in order, none lost"

    # Stamps follow the board's clock through the fitted mapping, not the arrivals.
    mapped = np.array([got["clock"].to_host(u) for u in dev_us[k0:k0 + len(samples)]])
    agreement = np.abs(stamps - mapped).max()
    assert agreement < 1e-3
    steps = np.diff(stamps)
    assert np.all(steps > 0) and abs(np.median(steps) - 1 / RATE) < 1e-6
    assert (stamps[-1] - stamps[0]) / (len(stamps) - 1) == pytest.approx(1 / RATE, rel=2e-3)
    # A sample is never stamped after the host saw it (beyond the fit's error), nor long before.
    seen = np.array([f[4] for f in tap.frames])
    last_of_frame = np.array([f[1] + (f[2].shape[0] - 1) * 1e6 / RATE for f in tap.frames])
    lateness = seen - np.array([got["clock"].to_host(u) for u in last_of_frame])
    print(f"\nLSL stamps vs the device-clock mapping: max {agreement * 1e6:.2f} µs over {len(stamps)} samples; "
          f"drift {got['clock'].drift_ppm:.0f} ppm; frames seen {lateness.min() * 1e3:.2f} to "
          f"{lateness.max() * 1e3:.2f} ms (median {np.median(lateness) * 1e3:.2f}) after their stamp")
    assert lateness.min() > -5e-4 and np.median(lateness) < 0.05
    # The recorder's stamps (the pipeline's own StreamClock, on time.monotonic) and
    # the LSL stamps are the same times: one mapping, fed the same frames. They
    # differ only by when each reads its clock: the pipeline as a read arrives,
    # the LSL sink while the pipeline decodes it, up to a millisecond or so later
    # on a loaded machine (0.57 ms seen in CI with the fuzzers running).
    offset = pylsl.local_clock() - time.monotonic()  # 0 on Linux (both CLOCK_MONOTONIC)
    by_sample = np.concatenate([np.full(f[2].shape[0], f[5]) + np.arange(f[2].shape[0]) / RATE for f in tap.frames])
    recorder_vs_lsl = np.abs(by_sample[k0:k0 + len(samples)] + offset - stamps).max()
    assert recorder_vs_lsl < 2e-3, recorder_vs_lsl


def test_four_sensors_each_get_their_own_streams_and_an_ltr_marker_for_every_ltr(pylsl: Any) -> None:
    """Real time, about 8 s: marker stamps are checked to 1 ms against the clock fit,
    and a simulator run faster than real time on a busy machine loses device time
    whenever its catch-up is capped (SimulatedTransport), which real boards never do."""
    seeds = (1, 2, 3, 4)
    ids = {f"sim-{s}": device_id(10 + s) for s in seeds}
    daemon = Daemon(Settings(sources=tuple(f"simulated:seed={s},id={ids[f'sim-{s}']}" for s in seeds)))
    daemon.set_lsl(True)
    got: dict[str, Any] = {"markers": {}}

    async def scenario() -> None:
        await daemon.start()
        try:
            # One resolve per type finds all four devices' streams (each takes ~0.5 s).
            data = await asyncio.to_thread(resolve, pylsl, "type", "EMG", 4)
            marks = await asyncio.to_thread(resolve, pylsl, "type", "Markers", 4)
            for name, dev in ids.items():
                (d,) = [i for i in data if i.source_id() == dev]
                (m,) = [i for i in marks if i.source_id() == f"{dev}/events"]
                assert (d.name(), m.name(), m.nominal_srate()) == (f"twitchd {dev}", f"twitchd {dev} events", 0.0)
                inlet = pylsl.StreamInlet(m, processing_flags=pylsl.proc_none)
                await asyncio.to_thread(inlet.open_stream, 5.0)
                got["markers"][name] = inlet
            since = daemon.hub.last_event_id  # every event decided from now on reaches a connected inlet
            got["since"] = since
            end = time.monotonic() + 40

            def ltrs_after(name: str) -> int:
                return sum(e.device == name for e in daemon.hub.events_since(since, 5000, ["ltr"]))

            while min(ltrs_after(n) for n in ids) < 1:
                assert time.monotonic() < end, "too few LTRs"
                await asyncio.sleep(0.1)
            got["until"] = until = daemon.hub.last_event_id
            got["clocks"] = {n: daemon.lsl.clock_of(n) for n in ids}  # type: ignore[union-attr]
            expected = {n: {e.id for e in daemon.hub.events_since(since, 5000) if e.device == n and e.id <= until}
                        for n in ids}
            pulled = await asyncio.gather(*(asyncio.to_thread(pull_until, got["markers"][n], expected[n])
                                            for n in ids))
            got["pulled"] = dict(zip(ids, pulled))
        finally:
            await daemon.stop()

    asyncio.run(scenario())
    hub_events = daemon.hub.events_since(0, 5000)
    for name, dev in ids.items():
        samples, stamps = got["pulled"][name]
        markers = [json.loads(s[0]) for s in samples]
        assert markers and all(m["device_id"] == dev and m["device"] == name for m in markers), "no crosstalk"
        own = {e.id: e for e in hub_events if e.device == name}
        ids_seen = [m["id"] for m in markers if m["kind"] != "gap"]
        # every event of this device decided after its inlet connected, each once, and nothing else
        assert set(ids_seen) <= set(own) and len(ids_seen) == len(set(ids_seen))
        assert {i for i in own if got["since"] < i <= got["until"]} <= set(ids_seen)
        ltrs = [(m, t) for m, t in zip(markers, stamps) if m["kind"] == "ltr"]
        assert len(ltrs) >= 1 and all(m["onset_s"] == round(own[m["id"]].onset_s, 4) for m, _ in ltrs)
        clock = got["clocks"][name]
        for m, t in ltrs:
            # at the onset, on the data stream's axis: the sim's t0_us is sample index x 500 µs
            assert t == pytest.approx(clock.to_host(m["onset_s"] * 1e6), abs=1e-3)
            assert m["onset_lsl"] == pytest.approx(t, abs=1e-6) and m["end_lsl"] > t
        session = daemon.pipeline(name).transport.device.session  # type: ignore[union-attr]
        truth = [e.onset_s for e in session.truth if e.kind == "ltr"]
        assert sum(any(abs(m["onset_s"] - o) < 0.05 for o in truth) for m, _ in ltrs) >= len(ltrs) - 1


def test_a_felt_ltr_mark_reaches_the_markers_stream_at_the_moment_it_was_made(pylsl: Any, tmp_path: Path) -> None:
    """The practitioner presses the mark key: a LabRecorder file gets a ``mark`` marker, stamped
    on the data stream's clock at the moment of the press (not when the newest sample arrived)."""
    dev = device_id(31)
    daemon = Daemon(Settings(sources=(f"simulated:seed=5,id={dev}",)), data_dir=tmp_path)
    daemon.set_lsl(True)
    from twitchd.marks import Site
    from twitchd.store.recorder import SessionMeta

    got: dict[str, Any] = {}

    async def scenario() -> None:
        await daemon.start()
        try:
            (m,) = [i for i in await asyncio.to_thread(resolve, pylsl, "type", "Markers", 1)
                    if i.source_id() == f"{dev}/events"]
            inlet = pylsl.StreamInlet(m, processing_flags=pylsl.proc_none)
            await asyncio.to_thread(inlet.open_stream, 5.0)
            await asyncio.sleep(WARMUP_S + 0.5)  # the clock fit is ready
            daemon.marks.set_site(Site.make("infraspinatus", "right"))
            await asyncio.to_thread(daemon.recorder.start, SessionMeta())
            await asyncio.sleep(0.5)
            pressed = pylsl.local_clock()
            got["mark"] = daemon.marks.mark("felt_ltr", "", "pedal")
            end = time.monotonic() + 10
            got["markers"] = []
            while time.monotonic() < end and not any(json.loads(s[0])["kind"] == "mark" for s, _ in got["markers"]):
                s, t = await asyncio.to_thread(inlet.pull_chunk, 0.2, 64)
                got["markers"].extend(zip(s, t))
            got["pressed"] = pressed
            await asyncio.to_thread(daemon.recorder.stop)
        finally:
            await daemon.stop()

    asyncio.run(scenario())
    (body, stamp), = [(json.loads(s[0]), t) for s, t in got["markers"] if json.loads(s[0])["kind"] == "mark"]
    assert body["mark"] == "felt_ltr" and body["source"] == "pedal" and body["device_id"] == dev
    assert body["site"] == {"muscle": "infraspinatus", "side": "right", "point": ""}
    assert body["t_s"] == pytest.approx(got["mark"].t_s, abs=1e-3)
    # On the data stream's axis, at the press: within a tick of the loop and the clock fit's error.
    assert stamp == pytest.approx(got["pressed"], abs=0.03)
