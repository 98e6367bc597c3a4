"""What goes between a worker and the main process: messages, and the outbox that sends them.

A worker never waits for the main process. Its pipelines put messages into an
:class:`Outbox`; a thread of the worker pickles whatever has gathered and
sends it as one batch. When the main process falls behind, batches grow (fewer,
larger sends) and the outbox holds what the pipe will not take yet, up to a
bound: display traces go first (a viewer misses a frame of the trace, as with a
slow browser), then data, which is counted as lost hand-overs in the status.

Messages, worker to main (tuples, first item the kind):

- ``("display", msg)``: a hub display message (status, trace, provisional onset);
- ``("event", device, event)``: an event for the hub, which numbers it;
- ``("to_sinks", device)``: the last event of ``device`` also goes to the sinks;
- ``("stream", device, cmap, info)``: the channel map and device info that the
  data after it belong to (sent when they change, not with every read);
- ``("data", device, origin_raw, sample_index, counts, t0_us, host_s)``: one frame;
- ``("run", device, origin_raw, run)``: a run of frames (:class:`twitchd.pipeline.Run`);
- ``("button", device, t_s, device_time_us, button, count)``: the board's button.

- ``("worker", number, pid, dropped, dropped_display)``: the worker's own counters.

Main to worker: ``("params", dict)``, ``("add", device, spec, resume)``,
``("remove", device)``, ``("stop",)``.
"""

from __future__ import annotations

import collections
import logging
import pickle
import threading
from multiprocessing.connection import Connection
from typing import Any

log = logging.getLogger(__name__)

#: Messages the outbox holds before it drops display traces: about a second of
#: 64 devices' traces (20 a second each) behind.
DISPLAY_BACKLOG = 2_000
#: Messages it holds at most: about 10 s of 32 devices' reads (a read every
#: 5 ms each) while the main process does not take them; then data is dropped
#: and counted, and acquisition goes on.
HARD_LIMIT = 64_000

Message = tuple[Any, ...]


class Outbox:
    """Messages to the main process, sent in batches by a thread of their own."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._items: collections.deque[Message] = collections.deque()
        self._ready = threading.Condition()
        self._closed = False
        #: trace messages and other messages dropped because the main process was behind
        self.dropped_display = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)
        self._thread.start()

    def put(self, msg: Message, droppable: bool = False) -> None:
        """Queue one message (never blocks)."""
        with self._ready:
            backlog = len(self._items)
            if droppable and backlog >= DISPLAY_BACKLOG:
                self.dropped_display += 1
                return
            if backlog >= HARD_LIMIT:
                self.dropped += 1
                return
            self._items.append(msg)
            if backlog == 0:
                self._ready.notify()

    def close(self) -> None:
        """Send what is queued, then stop the thread."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while True:
            with self._ready:
                while not self._items and not self._closed:
                    self._ready.wait()
                if not self._items and self._closed:
                    return
                batch = list(self._items)
                self._items.clear()
            try:
                self._conn.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
            except (BrokenPipeError, EOFError, OSError):
                return  # the main process is gone: nothing to send to


def decode_batch(data: bytes) -> list[Message]:
    batch = pickle.loads(data)
    if not isinstance(batch, list):
        raise TypeError(f"a worker sent {type(batch).__name__}, not a batch of messages")
    return batch
