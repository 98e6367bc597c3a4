"""The simulated board on a pty loses bytes only where a real adapter would.

A raw pty takes about 16 KB before writes go short; a USB-serial port buffers
64 KB. These stories hold the pty board to the real one: a host that looks
away for a few seconds misses nothing, and a board that stops lets the host
read its last frame before the line closes.
"""

from __future__ import annotations

import os
import threading

import numpy as np
from twitchd.protocol.decoder import SequenceGap, StreamDecoder
from twitchd.protocol.frames import Data
from twitchd.sim.device import SimulatedDevice
from twitchd.sim.pty_board import BACKLOG_BYTES, TICK_S, PtyBoard, run_boards, until_settled
from twitchd.sim.session import SimConfig


def read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    out = bytearray()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return bytes(out)
        if not chunk:
            return bytes(out)
        out += chunk


def read_until_settled(board: PtyBoard, fd: int) -> bytes:
    """The host reads again until the board holds nothing back and the line has
    stayed empty: a write to the master reaches the slave a moment later, so one
    empty look right after the board hands over its backlog proves nothing."""
    data = bytearray()

    def busy() -> bool:
        chunk = read_all(fd)
        data.extend(chunk)
        board.flush()
        return bool(chunk) or board.unread() > 0

    until_settled(busy, 10.0)
    return bytes(data)


def samples_and_gaps(data: bytes) -> tuple[list[int], int]:
    """Each DATA frame's first sample number, and how many frames went missing."""
    firsts: list[int] = []
    missed = 0
    for item in StreamDecoder().feed(data):
        if isinstance(item, Data):
            firsts.append(item.sample_index)
        elif isinstance(item, SequenceGap):
            missed += item.missed
    return firsts, missed


def board_at(rate_hz: int) -> PtyBoard:
    device = SimulatedDevice(SimConfig(seed=5, rate_hz=rate_hz))
    board = PtyBoard(device)
    board.plug()
    return board


def test_a_host_that_looks_away_for_three_seconds_still_gets_every_frame_whole() -> None:
    board = board_at(2000)
    slave = os.open(board.path, os.O_RDWR | os.O_NOCTTY)
    try:
        for k in range(int(3.0 / TICK_S)):  # 3 s at 2 kHz: far more than the pty alone holds
            board.step(k * TICK_S, TICK_S)
        assert board.unread() > 0 and board.dropped_bytes == 0
        firsts, missed = samples_and_gaps(read_until_settled(board, slave))  # the board hands over what it held
    finally:
        os.close(slave)
        board.unplug()
    spf = board.device.samples_per_frame
    assert missed == 0
    assert firsts == list(range(0, len(firsts) * spf, spf))
    assert len(firsts) * spf >= 3.0 * 2000 - 2 * spf


def test_a_host_gone_for_good_costs_whole_frames_and_the_gap_says_how_many() -> None:
    board = board_at(2000)
    slave = os.open(board.path, os.O_RDWR | os.O_NOCTTY)
    try:
        ticks = 0
        while board.dropped_bytes == 0:
            board.step(ticks * TICK_S, TICK_S)
            ticks += 1
            assert ticks < 10_000
        for k in range(ticks, ticks + 40):
            board.step(k * TICK_S, TICK_S)
        data = bytearray(read_until_settled(board, slave))
        for k in range(ticks + 40, ticks + 60):  # the host reads again: the stream goes on
            board.step(k * TICK_S, TICK_S)
            data += read_all(slave)
        decoder = StreamDecoder()
        items = decoder.feed(bytes(data))
    finally:
        os.close(slave)
        board.unplug()
    assert board.dropped_bytes > 0 and BACKLOG_BYTES > 0
    missed = sum(i.missed for i in items if isinstance(i, SequenceGap))
    assert missed > 0, "the frames that did not fit show as a sequence gap"
    assert decoder.stats.bad_frames == 0, "no frame was cut: what was lost, was lost whole"


def stop_with_a_reader(seconds: float) -> tuple[SimulatedDevice, bytes]:
    """A board run for ``seconds`` and stopped while a host reads it: what the host got."""
    device = SimulatedDevice(SimConfig(seed=6, rate_hz=2000))
    board = PtyBoard(device)
    got = bytearray()
    plugged = threading.Event()

    def reader() -> None:
        plugged.wait(5)
        fd = os.open(board.path, os.O_RDWR | os.O_NOCTTY)
        try:
            while not board.unplugged:
                got.extend(read_all(fd))
                threading.Event().wait(0.002)
        finally:
            os.close(fd)

    thread = threading.Thread(target=reader)
    thread.start()
    run_boards([board], lambda _: plugged.set(), duration_s=seconds)
    thread.join(5)
    return device, bytes(got)


def test_a_board_that_stops_lets_the_host_read_its_last_frame() -> None:
    for _ in range(5):
        device, got = stop_with_a_reader(0.3)
        firsts, missed = samples_and_gaps(got)
        sent = device._sample_index
        assert missed == 0 and firsts, firsts
        assert firsts[-1] + device.samples_per_frame == sent, f"the last frame ({sent - firsts[-1]} samples) never came"
        assert np.all(np.diff(firsts) == device.samples_per_frame)
