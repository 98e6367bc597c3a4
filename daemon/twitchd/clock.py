"""Device time to host time: a line fitted under the arrival times, never the arrivals themselves.

A board stamps each DATA frame with its own µs clock (``t0_us``, wrapping at
2³²). The host sees the frame some time later: transport latency plus jitter
(USB polling, BLE connection intervals, a busy event loop, several frames in
one read). Stamping samples with arrival times would copy that jitter into
every recording (DESIGN §4; the complaint in LSL #131 and BrainFlow #298).

Every arrival is *later* than the capture by at least the link's minimum
latency, so the points (device time, arrival time) lie on or above the true
line ``host = offset + slope × device``. The best line under all points is
found with the lower convex hull (the linear-programming estimator of Moon,
Skelly and Towsley, 1999, for one-way clock skew): of the lines that stay
below every point, take the one highest at the points' mean device time,
which is the hull edge spanning that mean. It needs no prior on the slope,
so a fast or slow board clock (a ceramic resonator is off by up to 0.5 %)
and a simulated board running faster than real time are both mapped right.

Timestamps therefore include the link's *minimum* latency (about 1 ms over
USB serial), not its jitter. The fit is refreshed every ``REFIT_S`` over a
window of one to two ``WINDOW_S`` (temperature moves a crystal's rate over
tens of minutes), and a new fit may move the mapping by at most half a
sample period per refresh, so timestamps stay strictly increasing (unless
the correction exceeds ``STEP_S``, which only a reset board or a suspended
host causes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

MASK32 = 0xFFFFFFFF
HALF32 = 1 << 31
#: Arrivals gathered before the first fit; samples wait (they are not pushed
#: with a guess) until then. Over a shorter span the slope is uncertain by
#: more than 0.1 % (a millisecond of envelope noise over half a second).
WARMUP_S = 2.0
MIN_POINTS = 5
#: The hull is built over one to two windows of arrivals (two generations).
WINDOW_S = 30.0
REFIT_S = 0.1
#: A correction larger than this is made at once rather than slewed (the
#: board was reset, or the host was suspended): stamps step, as NTP steps.
STEP_S = 0.005
#: After a refit the pipeline still stamps samples taken up to this long before
#: the newest one observed (the frames of one read: READ_INTERVAL_S of 15 ms and
#: a 5 ms frame), so the slew's bound must hold back there as well as at it.
REACH_S = 0.02
#: The offset comes from the lowest arrival of this last stretch.
RECENT_S = 5.0
#: An arrival this far *before* the mapped capture time is impossible unless
#: the clocks broke apart (a suspended host, whose monotonic clock stopped
#: while the board's ran on), and the fit restarts from the arrivals since.
#: Arrivals persistently *late* are not a break: an overloaded host is late.
BREAK_S = 0.05
BREAK_WINDOW_S = 2.0


def signed32(delta: int) -> int:
    """A difference of two wrapping u32 counters as the nearest signed step."""
    delta &= MASK32
    return delta - (1 << 32) if delta >= HALF32 else delta


class Unwrapper:
    """A u32 µs counter (wraps every 71.6 min) as a continuous integer."""

    def __init__(self) -> None:
        self._raw: int | None = None
        self.value = 0

    def __call__(self, raw: int) -> int:
        if self._raw is not None:
            self.value += signed32(raw - self._raw)
        else:
            self.value = raw
        self._raw = raw
        return self.value


@dataclass(frozen=True, slots=True)
class Line:
    """host seconds = ``offset + slope × device seconds`` (device seconds since the clock's epoch)."""

    offset: float
    slope: float

    def at(self, d: float) -> float:
        return self.offset + self.slope * d


def _below(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True when ``a`` is not strictly below the segment o-b (it leaves the lower hull)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]) <= 0.0


def _extend_hull(hull: list[tuple[float, float]], p: tuple[float, float]) -> None:
    """Andrew's monotone chain, one point at a time (points come in device-time order)."""
    while len(hull) >= 2 and _below(hull[-2], hull[-1], p):
        hull.pop()
    hull.append(p)


class _Recent:
    """The last RECENT_S of (arrival, device s, arrival - h0) points, in arrays.

    The fit asks for the lowest point under a line over all of them ten times a
    second per board; as a deque of tuples that walk was a fifth of the
    daemon's time with 16 boards (py-spy, issue 20). In arrays it is one
    numpy expression, with the same float64 arithmetic, so the same answer.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.a = np.empty(capacity)
        self.d = np.empty(capacity)
        self.y = np.empty(capacity)
        self.head = self.tail = 0

    def __len__(self) -> int:
        return self.tail - self.head

    def append(self, a: float, d: float, y: float) -> None:
        if self.tail == len(self.a):
            live = self.tail - self.head
            if live * 2 > len(self.a):  # mostly full: grow
                for name in ("a", "d", "y"):
                    old = getattr(self, name)
                    new = np.empty(len(old) * 2)
                    new[:live] = old[self.head:self.tail]
                    setattr(self, name, new)
            else:  # mostly dropped: move the live part to the front
                for arr in (self.a, self.d, self.y):
                    arr[:live] = arr[self.head:self.tail]
            self.head, self.tail = 0, live
        self.a[self.tail], self.d[self.tail], self.y[self.tail] = a, d, y
        self.tail += 1

    def drop_before(self, arrival: float, keep_s: float) -> None:
        """Drop the oldest points while ``arrival - their arrival > keep_s`` (the newest always stays)."""
        while self.tail - self.head > 1 and arrival - self.a[self.head] > keep_s:
            self.head += 1

    def since(self, arrival: float, within_s: float) -> slice:
        """The points with ``arrival - a <= within_s`` (they are the newest: arrivals never decrease)."""
        a = self.a[self.head:self.tail]
        k = self.head + int(np.searchsorted(arrival - a <= within_s, True))
        return slice(k, self.tail)

    def all(self) -> slice:
        return slice(self.head, self.tail)

    def last(self) -> tuple[float, float, float]:
        i = self.tail - 1
        return float(self.a[i]), float(self.d[i]), float(self.y[i])


class DeviceClock:
    """One board's clock mapped onto the clock its arrivals were read from.

    The pipeline passes ``time.monotonic()``; the LSL outlets pass
    ``pylsl.local_clock()`` (on Linux the same CLOCK_MONOTONIC).
    """

    def __init__(self, rate_hz: float, window_s: float = WINDOW_S, warmup_s: float = WARMUP_S,
                 refit_s: float = REFIT_S) -> None:
        self.window_s, self.warmup_s, self.refit_s = window_s, warmup_s, refit_s
        #: A refit moves the mapping by at most this (half a sample period): stamps stay increasing.
        self.max_step_s = 0.5 / rate_hz
        self._epoch_us: int | None = None
        self._h0 = 0.0
        self._first = 0.0
        self._gen_start = 0.0
        # Hull vertices (device s, arrival s - h0) and (sum of d, count) per generation.
        self._prev: list[tuple[float, float]] = []
        self._cur: list[tuple[float, float]] = []
        self._prev_sum = (0.0, 0)
        self._cur_sum = (0.0, 0)
        self._recent = _Recent()  # (arrival, d, y)
        self._last_d = -np.inf
        self._last_fit = 0.0
        self.line: Line | None = None
        self.points = 0

    @property
    def ready(self) -> bool:
        return self.line is not None

    @property
    def drift_ppm(self) -> float:
        """How much faster than the host the board's clock runs (0 until fitted)."""
        return (1.0 / self.line.slope - 1.0) * 1e6 if self.line and self.line.slope > 0 else 0.0

    def observe(self, device_us: int, arrival: float) -> None:
        """A sample taken at ``device_us`` (continuous µs) was seen at ``arrival`` (host seconds)."""
        if self._epoch_us is None:
            self._epoch_us, self._h0 = device_us, arrival
            self._first = self._gen_start = self._last_fit = arrival
        d = (device_us - self._epoch_us) * 1e-6
        if d <= self._last_d:
            return  # a repeated or older time adds nothing to the envelope
        self._last_d = d
        self.points += 1
        _extend_hull(self._cur, (d, arrival - self._h0))
        self._recent.append(arrival, d, arrival - self._h0)
        self._recent.drop_before(arrival, RECENT_S)
        self._cur_sum = (self._cur_sum[0] + d, self._cur_sum[1] + 1)
        if arrival - self._gen_start >= self.window_s:
            self._prev, self._prev_sum = self._cur, self._cur_sum
            self._cur, self._cur_sum = [(d, arrival - self._h0)], (d, 1)
            self._gen_start = arrival
        if self.line is None:
            if arrival - self._first >= self.warmup_s and self.points >= MIN_POINTS:
                self.line = self._fit()
                self._last_fit = arrival
        elif arrival - self._last_fit >= self.refit_s or arrival < self.line.at(d):
            if self._broken(arrival):
                self._restart(arrival)
            else:
                self._refit(d)
            self._last_fit = arrival

    def _fit(self) -> Line:
        hull: list[tuple[float, float]] = []
        for p in self._prev + self._cur:
            _extend_hull(hull, p)
        slope = 1.0
        if len(hull) > 1:
            total, n = self._prev_sum[0] + self._cur_sum[0], self._prev_sum[1] + self._cur_sum[1]
            mean = total / n
            k = next((i for i in range(len(hull) - 1) if hull[i + 1][0] >= mean), len(hull) - 2)
            (d1, y1), (d2, y2) = hull[k], hull[k + 1]
            slope = (y2 - y1) / (d2 - d1)
        r = self._recent.all()
        lowest = float(np.min(self._recent.y[r] - slope * self._recent.d[r]))
        return Line(self._h0 + lowest, slope)

    def _broken(self, arrival: float) -> bool:
        assert self.line is not None
        line, h0 = self.line, self._h0
        r = self._recent.since(arrival, BREAK_WINDOW_S)
        if r.start >= r.stop:
            return False
        lowest = float(np.min(self._recent.y[r] + h0 - (line.offset + line.slope * self._recent.d[r])))
        return lowest < -BREAK_S

    def _restart(self, arrival: float) -> None:
        """Forget the arrivals before the break: only those since, on the newest one's side of it, count."""
        assert self.line is not None
        line, h0 = self.line, self._h0
        _, d_new, y_new = self._recent.last()
        shift = y_new + h0 - line.at(d_new)
        r = self._recent.all()
        kept = [(a, d, y) for a, d, y in zip(self._recent.a[r].tolist(), self._recent.d[r].tolist(),
                                             self._recent.y[r].tolist(), strict=True)
                if arrival - a <= BREAK_WINDOW_S and abs(y + h0 - line.at(d) - shift) < BREAK_S]
        self._recent = _Recent()
        for a, d, y in kept:
            self._recent.append(a, d, y)
        self._prev, self._prev_sum, self._cur = [], (0.0, 0), []
        for _, d, y in kept:
            _extend_hull(self._cur, (d, y))
        self._cur_sum = (sum(d for _, d, _ in kept), len(kept))
        self._gen_start = arrival
        self.line = self._fit()

    def _refit(self, d_now: float) -> None:
        assert self.line is not None
        new = self._fit()
        now = self.line.at(d_now)
        step = new.at(d_now) - now
        slope = new.slope
        if abs(step) <= STEP_S:
            step = min(max(step, -self.max_step_s), self.max_step_s)
            # A new slope moves samples before d_now by step - dslope * (d_now - d): keep that
            # within the bound too, back to REACH_S, so no stamp of the same read jumps further.
            dslope = min(max(slope - self.line.slope, (step - self.max_step_s) / REACH_S),
                         (step + self.max_step_s) / REACH_S)
            slope = self.line.slope + dslope
        self.line = Line(now + step - slope * d_now, slope)

    def to_host(self, device_us: float) -> float:
        """Host time (the arrivals' clock) of a sample taken at ``device_us`` (continuous µs, as observed)."""
        if self.line is None or self._epoch_us is None:
            raise RuntimeError("the device clock is not fitted yet")
        return self.line.at((device_us - self._epoch_us) * 1e-6)

    def to_host_array(self, device_us: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self.line is None or self._epoch_us is None:
            raise RuntimeError("the device clock is not fitted yet")
        return self.line.offset + self.line.slope * ((device_us - self._epoch_us) * 1e-6)


#: A frame whose t0_us is this far from where its sample index puts it means
#: the board's clock restarted (a reset board): the clock fit starts again.
#: 20 ms is 100 periods at 5 kHz, far beyond any crystal's drift between two
#: frames, yet short against the seconds a reset takes.
CLOCK_JUMP_US = 20_000


class StreamClock:
    """One board's sample stream on the host clock: unwrap, restart detection and the fit, together.

    The pipeline keeps one per device for what it records and shows; the LSL
    outlets keep their own (their thread maps frames it held through the
    warm-up, so it needs the fit as it stands when it pushes). Fed the same
    frames, both give the same times. Before the
    fit is ready (the first ``WARMUP_S``), :meth:`host_s` maps with slope 1
    under the lowest arrival so far; stamps never step backwards across the
    hand-over, because every stamp is at least one microsecond after the last.
    """

    def __init__(self, rate_hz: int) -> None:
        self.rate_hz = rate_hz
        self.period_us = 1e6 / rate_hz
        self.fit = DeviceClock(rate_hz)
        self._unwrap = Unwrapper()
        self.anchor: tuple[int, int] | None = None  # (raw sample index, continuous µs) of the newest frame
        self._floor: float | None = None  # lowest (arrival - device s) seen: the slope-1 stand-in
        self._last = -np.inf

    def observe(self, index: int, t0_us: int, n: int, arrival: float) -> bool:
        """A frame of ``n`` samples from raw index ``index``, taken from ``t0_us``, seen at ``arrival``.

        Returns True when the board's clock restarted (the fit starts again).
        """
        restarted = False
        t_us = self._unwrap(t0_us)
        if self.anchor is not None:
            step = signed32(index - self.anchor[0])
            expected = self.device_us(index)
            if step <= 0 or abs(t_us - expected) > CLOCK_JUMP_US + 0.01 * step * self.period_us:
                self.fit, self._unwrap, self._floor = DeviceClock(self.rate_hz), Unwrapper(), None
                t_us = self._unwrap(t0_us)
                restarted = True
        self.anchor = (index, t_us)
        last_us = round(t_us + (n - 1) * self.period_us)
        self.fit.observe(last_us, arrival)
        floor = arrival - last_us * 1e-6
        self._floor = floor if self._floor is None else min(self._floor, floor)
        return restarted

    def device_us(self, index: int) -> float:
        """Continuous device µs of raw sample ``index``, from the newest frame."""
        assert self.anchor is not None
        return self.anchor[1] + signed32(index - self.anchor[0]) * self.period_us

    def host_s(self, index: int) -> float:
        """Host time (the arrivals' clock) when raw sample ``index`` was taken; increasing from call to call."""
        us = self.device_us(index)
        if self.fit.ready:
            t = self.fit.to_host(us)
        else:
            assert self._floor is not None
            t = self._floor + us * 1e-6
        t = max(t, self._last + 1e-6)
        self._last = t
        return t
