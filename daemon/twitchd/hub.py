"""Fan-out from the device pipelines to every consumer, never waiting on one.

Each consumer has its own bounded mailbox. Traces (and provisional flags) are
dropped oldest-first when a consumer lags. A message that says how something
*is* (a device's status, the recording's state) is only ever replaced by a
newer one of its kind, never pushed out by traces: a loop that falls behind
hands a viewer hundreds of traces at once, and "recording failed: disk full"
must still reach the screen. Events are never dropped silently: a consumer
that lets thousands of events pile up is cut off and told so, and can catch up
from the event history (``GET /api/events?since=``).
"""

from __future__ import annotations

import asyncio
import collections
import json
from collections.abc import Iterable
from typing import Any

from twitchd.events import Event

Message = dict[str, Any]


def live_frame(batch: list[Message]) -> Message | list[Message]:
    """What one ``/ws/live`` frame carries for a viewer's waiting messages: the
    message alone, or a JSON array of them in order when several were waiting.
    One frame per trace message was a sixth of the daemon's time with 16
    boards (issue 20)."""
    return batch[0] if len(batch) == 1 else batch


def frame_messages(data: str | bytes) -> list[Message]:
    """The messages of one ``/ws/live`` frame, in order (see :func:`live_frame`)."""
    got = json.loads(data)
    return got if isinstance(got, list) else [got]


#: ~10 s of traces for one device at 20 messages/s: a browser tab in the
#: background catches up on recent data instead of replaying minutes of lag.
MAX_PENDING_DISPLAY = 200
#: Display kinds where only the newest per device matters (see the module docstring).
STATE_KINDS = frozenset({"status", "recording", "removed"})
#: Events a consumer may leave unread before it is declared too slow.
MAX_PENDING_EVENTS = 5000
#: Events kept for /api/events (hours of a normal session).
HISTORY = 20_000


class Subscriber:
    """One consumer's mailbox; filled synchronously, drained asynchronously."""

    def __init__(self) -> None:
        self._display: collections.deque[Message] = collections.deque(maxlen=MAX_PENDING_DISPLAY)
        self._states: dict[tuple[str, object], Message] = {}
        self._events: collections.deque[Message] = collections.deque()
        self._ready = asyncio.Event()
        self.dropped_display = 0
        self.overflowed = False

    def offer_display(self, msg: Message) -> None:
        if msg.get("kind") in STATE_KINDS:
            key = (msg["kind"], msg.get("device"))
            self._states.pop(key, None)  # re-inserted at the end: the dict keeps publication order
            self._states[key] = msg
        else:
            if len(self._display) == self._display.maxlen:
                self.dropped_display += 1
            self._display.append(msg)
        self._ready.set()

    def offer_event(self, msg: Message) -> None:
        if len(self._events) >= MAX_PENDING_EVENTS:
            self.overflowed = True
        else:
            self._events.append(msg)
        self._ready.set()

    async def get(self) -> list[Message]:
        """Everything pending: events, then states, then traces and flags.

        What matters most goes first: a viewer that is behind drains a batch one
        message per loop turn, and a frame of trace can wait behind "disk full".
        (A trace of a device already removed is ignored by the dashboard.)
        """
        await self._ready.wait()
        self._ready.clear()
        out = list(self._events) + list(self._states.values()) + list(self._display)
        self._events.clear()
        self._display.clear()
        self._states.clear()
        return out


class Hub:
    """Numbers events, keeps their history, and copies every message to subscribers."""

    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._history: collections.deque[Event] = collections.deque(maxlen=HISTORY)
        self._next_id = 1

    def subscribe(self) -> Subscriber:
        sub = Subscriber()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self._subscribers.discard(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish_event(self, event: Event, device: str) -> Event:
        numbered = event.with_ids(device, self._next_id)
        self._next_id += 1
        self._history.append(numbered)
        msg = numbered.to_json()
        for sub in self._subscribers:
            sub.offer_event(msg)
        return numbered

    def publish_display(self, msg: Message) -> None:
        for sub in self._subscribers:
            sub.offer_display(msg)

    def publish_record(self, msg: Message) -> None:
        """A message every viewer must get, like an event (a practitioner's mark, a site change):
        never dropped for a slow viewer, who is disconnected instead and catches up."""
        for sub in self._subscribers:
            sub.offer_event(msg)

    @property
    def last_event_id(self) -> int:
        return self._next_id - 1

    def events_since(self, since: int, limit: int, kinds: Iterable[str] | None = None) -> list[Event]:
        """Events numbered after ``since``, oldest first. Ids rise by one, so the
        walk starts at the newest end and stops at ``since``: a client catching
        up after a reconnect costs what it missed, not the whole history."""
        wanted = set(kinds) if kinds else None
        newer = []
        for event in reversed(self._history):
            if event.id <= since:
                break
            if wanted is None or event.kind in wanted:
                newer.append(event)
        newer.reverse()
        return newer[:limit]
