"""Acquisition never waits for a consumer: slow viewers lose display frames, not events."""

from __future__ import annotations

import asyncio

from twitchd.events import Event
from twitchd.hub import MAX_PENDING_DISPLAY, MAX_PENDING_EVENTS, Hub


def test_a_viewer_that_never_reads_keeps_only_recent_display_and_every_event() -> None:
    hub = Hub()
    idle, active = hub.subscribe(), hub.subscribe()
    for i in range(MAX_PENDING_DISPLAY * 10):
        hub.publish_display({"kind": "trace", "n": i})
        if i % 100 == 0:
            hub.publish_event(Event("ltr", i, i + 0.1, i + 0.2), "sim-1")
    got = asyncio.run(idle.get())
    events = [m for m in got if m["kind"] == "ltr"]
    traces = [m for m in got if m["kind"] == "trace"]
    assert len(events) == 20 and [e["id"] for e in events] == list(range(1, 21))
    assert len(traces) == MAX_PENDING_DISPLAY and traces[-1]["n"] == MAX_PENDING_DISPLAY * 10 - 1
    assert idle.dropped_display == MAX_PENDING_DISPLAY * 9 and not idle.overflowed
    assert len(asyncio.run(active.get())) == len(got)


def test_a_viewer_buried_in_events_is_marked_too_slow_instead_of_growing_forever() -> None:
    hub = Hub()
    sub = hub.subscribe()
    for i in range(MAX_PENDING_EVENTS + 5):
        hub.publish_event(Event("twitch", i, i, i), "sim-1")
    assert sub.overflowed
    assert hub.events_since(MAX_PENDING_EVENTS, 100)[0].id == MAX_PENDING_EVENTS + 1  # history still has them


def test_a_viewer_behind_a_flood_of_traces_still_learns_the_recording_failed() -> None:
    # A loop that fell behind publishes seconds of traces in one go; the state
    # published before them ("disk full") must not be pushed out by them.
    hub = Hub()
    sub = hub.subscribe()
    hub.publish_display({"kind": "status", "device": "sim-1", "state": "connecting"})
    hub.publish_display({"kind": "recording", "state": "failed", "error": "the disk is full"})
    hub.publish_display({"kind": "status", "device": "sim-1", "state": "streaming"})
    hub.publish_display({"kind": "status", "device": "sim-2", "state": "lost"})
    for i in range(MAX_PENDING_DISPLAY * 4):
        hub.publish_display({"kind": "trace", "device": "sim-1", "n": i})
    got = asyncio.run(sub.get())
    states = got[:3]
    assert states == [
        {"kind": "recording", "state": "failed", "error": "the disk is full"},
        {"kind": "status", "device": "sim-1", "state": "streaming"},  # only the newest per device
        {"kind": "status", "device": "sim-2", "state": "lost"},
    ]
    assert len(got) == len(states) + MAX_PENDING_DISPLAY and got[-1]["n"] == MAX_PENDING_DISPLAY * 4 - 1


def test_a_viewer_gets_states_before_traces_and_each_box_in_publication_order() -> None:
    hub = Hub()
    sub = hub.subscribe()
    hub.publish_display({"kind": "trace", "n": 0})
    hub.publish_display({"kind": "status", "device": "sim-1", "state": "streaming"})
    hub.publish_display({"kind": "onset", "device": "sim-1", "onset_s": 1.0})
    hub.publish_display({"kind": "trace", "n": 1})
    hub.publish_display({"kind": "removed", "device": "sim-2"})
    hub.publish_event(Event("ltr", 1.0, 1.1, 1.2), "sim-1")
    assert [m["kind"] for m in asyncio.run(sub.get())] == ["ltr", "status", "removed", "trace", "onset", "trace"]
