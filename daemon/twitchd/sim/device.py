"""The simulated sensor as the firmware behaves: same frames, same commands.

It is driven by time (``advance``) rather than by a thread so that tests can run
it faster than real time, and so that a transport decides the pacing.
"""

from __future__ import annotations

import dataclasses
import struct

import numpy as np
import numpy.typing as npt

from twitchd.protocol import (
    Ack, AckCode, ChannelInfo, Command, Data, Hello, Mark, Opcode, Pong, Status, StreamDecoder,
    encode_frame,
)
from twitchd.protocol.frames import OPCODE_ARG_LEN, Frame
from twitchd.sim.session import SessionSimulator, SimConfig

FIRMWARE_VERSION = "1.0.0"
BOARD = "twitchd-sim"
#: Rates the simulated board accepts (the ESP32 firmware's range).
MIN_RATE_HZ, MAX_RATE_HZ = 250, 4000
STATUS_PERIOD_US = 1_000_000


def pattern_samples(first_index: int, n: int, rate_hz: int, bits: tuple[int, int, int]) -> npt.NDArray[np.uint16]:
    """The built-in test signal of protocol v1 (docs/protocol.md), bit for bit.

    raw: 100 Hz square wave, mid-scale +- full/8; env: 1 Hz sawtooth over the full
    scale; fsr: 0.5 Hz triangle from 0 to half scale; each channel's full scale
    is that of the bits it declares. Integer arithmetic only, so the firmware
    produces exactly the same counts.
    """
    f_raw, f_env, f_fsr = ((1 << b) - 1 for b in bits)
    idx = np.arange(first_index, first_index + n, dtype=np.int64)
    half_period = max(rate_hz // 200, 1)
    raw = f_raw // 2 + np.where((idx // half_period) % 2 == 0, f_raw // 8, -(f_raw // 8))
    env = (idx % rate_hz) * f_env // rate_hz
    phase = idx % (2 * rate_hz)
    fsr = np.where(phase < rate_hz, phase, 2 * rate_hz - phase) * (f_fsr // 2) // rate_hz
    return np.stack([raw, env, fsr], axis=1).astype(np.uint16)


class SimulatedDevice:
    """A twitchd sensor board with a simulated patient attached."""

    def __init__(self, config: SimConfig | None = None, device_id: str = "TW-5EED01",
                 samples_per_frame: int = 10, clock_drift_ppm: float = 0.0, clock_start_us: int = 0) -> None:
        self.config = config or SimConfig()
        self.session = SessionSimulator(self.config)
        self.device_id = device_id
        self.samples_per_frame = samples_per_frame
        self.rate_hz = self.config.rate_hz
        self.drift = clock_drift_ppm * 1e-6
        self.streaming = True  # the firmware streams from boot
        self.test_signal = False
        self.overflows = 0
        self._seq = 0
        self._sample_index = 0
        # Host time passed, and the board's own time (its crystal runs ``drift``
        # fast), both in whole microseconds so that hours of ticks add up exactly.
        # The board samples on its own clock: a fast crystal makes more samples
        # per host second, each stamped exactly one period after the last.
        self._host_us = 0
        self._time_us = 0
        #: micros() at power-on; near 2³² to see the counter wrap within a test.
        self._clock_start_us = clock_start_us
        self._made = 0  # samples taken since the rate was last set
        self._made_from_us = 0
        self._next_status_us = STATUS_PERIOD_US
        self._pending: list[npt.NDArray[np.uint16]] = []
        self._out = bytearray()
        self._commands = StreamDecoder()
        self._presses = 0  # of the button, since power-on
        self._send(self._hello())

    @property
    def channels(self) -> tuple[ChannelInfo, ...]:
        mv = round(self.config.supply_v * 1000)
        return tuple(ChannelInfo(name, bits, mv) for name, bits in zip(SessionSimulator.CHANNELS, self.config.channel_bits))

    def _hello(self) -> Hello:
        return Hello(self._seq, FIRMWARE_VERSION, BOARD, self.device_id, self.rate_hz,
                     self.samples_per_frame, self.channels)

    def _send(self, frame: Frame) -> None:
        self._out += encode_frame(frame)
        self._seq = (self._seq + 1) & 0xFFFF

    def _device_us(self) -> int:
        return (self._clock_start_us + self._time_us) & 0xFFFFFFFF

    def receive(self, data: bytes) -> None:
        """Bytes from the host: commands are answered at the next ``advance``."""
        for item in self._commands.feed(data):
            if isinstance(item, Command):
                self._command(item)

    def _command(self, cmd: Command) -> None:
        expected = OPCODE_ARG_LEN.get(cmd.opcode)
        if expected is None:
            self._send(Ack(self._seq, cmd.opcode, AckCode.UNKNOWN_OPCODE))
            return
        if len(cmd.arg) != expected:
            self._send(Ack(self._seq, cmd.opcode, AckCode.BAD_LENGTH))
            return
        if cmd.opcode == Opcode.HELLO:
            self._send(self._hello())
        elif cmd.opcode == Opcode.PING:
            self._send(Pong(self._seq, struct.unpack("<Q", cmd.arg)[0], self._device_us()))
        elif cmd.opcode == Opcode.STATUS:
            self._send(self._status())
        elif cmd.opcode == Opcode.SET_RATE:
            code = self._set_rate(struct.unpack("<I", cmd.arg)[0])
            self._send(Ack(self._seq, cmd.opcode, code))
            if code == AckCode.OK:
                self._send(self._hello())  # the host needs the new descriptor
        else:
            self._send(Ack(self._seq, cmd.opcode, self._apply(cmd)))

    def _apply(self, cmd: Command) -> AckCode:
        if cmd.opcode == Opcode.START:
            self.streaming = True
        elif cmd.opcode == Opcode.STOP:
            self.streaming = False
            self._pending.clear()
        elif cmd.opcode == Opcode.TEST_SIGNAL:
            if cmd.arg[0] > 1:
                return AckCode.BAD_ARGUMENT
            self.test_signal = bool(cmd.arg[0])
        return AckCode.OK

    def _set_rate(self, rate: int) -> AckCode:
        if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
            return AckCode.BAD_ARGUMENT
        # The patient model is rendered at one rate; a new rate restarts the session.
        self.rate_hz = rate
        self.config = dataclasses.replace(self.config, rate_hz=rate)
        self.session = SessionSimulator(self.config)
        self._pending.clear()
        self._made, self._made_from_us = 0, self._time_us
        return AckCode.OK

    def _status(self) -> Status:
        return Status(self._seq, self.overflows, self.streaming, self.test_signal, self.rate_hz)

    def press_button(self, button: int = 1) -> None:
        """The board's button is pressed now: its MARK goes out with the next ``advance``.

        As the firmware stamps a press (docs/protocol.md, MARK): the device
        clock now, and the last sample stamped at or before now. (Here a
        sample is stamped at the start of its period and made at its end, so
        that is the one whose period is under way: the next one to be made.)
        The firmware sends a MARK once the press has held for its 20 ms
        debounce; the simulated button does not bounce, so it goes at once.
        """
        waiting = sum(len(p) for p in self._pending)
        sample_index = (self._sample_index + waiting) & 0xFFFFFFFF
        self._presses = (self._presses + 1) & 0xFFFF
        self._send(Mark(self._seq, sample_index, self._device_us(), button, self._presses))

    def advance(self, seconds: float) -> bytes:
        """Let ``seconds`` of host time pass; returns the bytes sent meanwhile."""
        self._host_us += round(seconds * 1e6)
        self._time_us = int(self._host_us * (1.0 + self.drift))
        due = (self._time_us - self._made_from_us) * self.rate_hz // 1_000_000
        if self.streaming and due > self._made:
            self._sample(due - self._made)
        self._made = due  # a stopped board skips the samples it did not take
        while self._time_us >= self._next_status_us:
            self._next_status_us += STATUS_PERIOD_US
            self._send(self._status())
        out, self._out = bytes(self._out), bytearray()
        return out

    def _sample(self, n: int) -> None:
        waiting = sum(len(p) for p in self._pending)
        first = self._made - waiting  # the first waiting sample's number since the rate was set
        index_of_first = self._sample_index
        counts = self.session.read(n)
        if self.test_signal:
            counts = pattern_samples(self._sample_index + waiting, n, self.rate_hz, self.config.channel_bits)
        self._pending.append(counts)
        block = np.concatenate(self._pending)
        spf = self.samples_per_frame
        whole = len(block) // spf * spf
        period_us = 1e6 / self.rate_hz
        for start in range(0, whole, spf):
            taken_us = self._made_from_us + round((first + start) * period_us)
            t0 = (self._clock_start_us + taken_us) & 0xFFFFFFFF
            self._send(Data(self._seq, self._sample_index, t0, block[start:start + spf]))
            self._sample_index += spf
        self._pending = [block[whole:]] if whole < len(block) else []
        # The simulated patient's presses of the button (a PPT scene) that fell in these samples.
        presses = self.session.button_presses
        while presses and presses[0] < self._made + n:
            k = presses.pop(0)
            if k < self._made:
                continue  # made before a restart of the stream
            index = (index_of_first + (k - first)) & 0xFFFFFFFF
            taken_us = (self._clock_start_us + self._made_from_us + round(k * period_us)) & 0xFFFFFFFF
            self._presses = (self._presses + 1) & 0xFFFF
            self._send(Mark(self._seq, index, taken_us, 1, self._presses))
