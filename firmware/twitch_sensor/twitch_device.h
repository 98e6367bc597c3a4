// The device's behaviour, common to every board: framing, commands, STATUS,
// and the mark button.
// Kept out of twitch_sensor.ino so that the Arduino IDE's prototype
// generator never touches it (it mangles functions in namespaces).
#ifndef TWITCH_DEVICE_H
#define TWITCH_DEVICE_H

#include "twitch_protocol.h"
#include "debounce.h"
#include "sample_ring.h"
#include "test_signal.h"

// One sample of every channel, as the sampling interrupt stores it.
struct Sample {
  uint32_t index;  // sample_index: counts samples since sampling (re)started
  uint32_t t_us;   // device clock when the sample was taken
  uint16_t v[3];   // raw, env, fsr in counts of the bits CHANNELS declares
};

#ifndef RING_SIZE
#define RING_SIZE 64  // samples: 64 ms at 1 kHz; a power of two <= 128
#endif
// Filled by the board's sampling interrupt, emptied by loop().
static twitch::SampleRing<Sample, RING_SIZE> sample_ring;

#if defined(ESP32)
#include "board_esp32.h"
#else
#include "board_avr.h"
#endif

namespace app {

const uint8_t FW_MAJOR = 1, FW_MINOR = 0, FW_PATCH = 0;
const uint8_t SAMPLES_PER_FRAME = 10;  // 10 ms of samples at 1 kHz
const uint32_t STATUS_PERIOD_US = 1000000;

// Each channel's bits as the board declares them: on AVR raw and fsr are sums
// of several 10-bit conversions, 0..8184 declared as 13 bits and 0..4092 as
// 12, at every rate (see board_avr.h). The host scales each channel by its
// own bits, counts / (2^bits - 1) x vref_mv, so those sums read 0.09 % and
// 0.07 % low: far inside the tolerance of the MyoWare's gain and of the FSR
// divider.
const twitch::ChannelDesc CHANNELS[3] = {
    {"raw", RAW_BITS, VREF_MV},
    {"env", ENV_BITS, VREF_MV},
    {"fsr", FSR_BITS, VREF_MV},
};
const uint8_t CHANNEL_BITS[3] = {RAW_BITS, ENV_BITS, FSR_BITS};  // as CHANNELS, for the test signal

char device_id[10];  // "TW-" + 6 hex digits + NUL
uint16_t seq;        // every frame we send, wrapping at 65536
uint32_t rate_hz = DEFAULT_RATE_HZ;
bool streaming = true;  // the device streams from boot
bool test_signal_on = false;
uint32_t next_send_index;  // sample_index of the first sample not yet sent
uint32_t last_status_us;

twitch::CommandDecoder decoder;
// The mark button (docs/protocol.md, MARK; pin and wiring: the board's file
// and hardware/README.md). Polled from loop(), never from the sampling ISR:
// a press needs no better than the loop's pass (well under a millisecond
// while it idles, a few when it catches up on frames), and the ISRs' budget
// has no room for it.
const uint8_t BUTTON_ID = 1;
twitch::Debouncer button;
// Body and wire buffers sized for the largest frame we send (a DATA of 10
// samples x 3 channels is 76 bytes, HELLO about 60).
uint8_t body_buf[96];
uint8_t wire_buf[96 + 96 / 254 + 2];
twitch::FrameWriter writer(body_buf, sizeof body_buf);

void send_body(uint16_t body_len) {
  if (body_len == 0) return;  // did not fit: a programming error, never sent half
  size_t n = twitch::cobs_encode(body_buf, body_len, wire_buf);
  link_write(wire_buf, n);
  ++seq;
}

twitch::DeviceInfo device_info() {
  twitch::DeviceInfo d;
  d.fw_major = FW_MAJOR;
  d.fw_minor = FW_MINOR;
  d.fw_patch = FW_PATCH;
  d.board = BOARD_NAME;
  d.device_id = device_id;
  d.samples_per_frame = SAMPLES_PER_FRAME;
  d.n_channels = 3;
  d.channels = CHANNELS;
  return d;
}

void send_hello() { send_body(twitch::build_hello(writer, seq, device_info(), rate_hz)); }

void send_status() {
  uint8_t flags = (streaming ? twitch::STATUS_STREAMING : 0) | (test_signal_on ? twitch::STATUS_TEST_SIGNAL : 0);
  send_body(twitch::build_status(writer, seq, sample_ring.overflows(), flags, rate_hz));
}

void send_ack(uint8_t opcode, uint8_t code) { send_body(twitch::build_ack(writer, seq, opcode, code)); }

// Sends one DATA frame when SAMPLES_PER_FRAME contiguous samples are queued,
// or a shorter one ending just before a gap (an overflow on our side).
bool send_data() {
  uint8_t queued = sample_ring.size();
  if (queued == 0) return false;
  uint8_t n = queued < SAMPLES_PER_FRAME ? queued : SAMPLES_PER_FRAME;
  const Sample* first = sample_ring.peek(0);
  uint8_t run = 1;
  while (run < n && sample_ring.peek(run)->index == first->index + run) ++run;
  if (run == n && n < SAMPLES_PER_FRAME) return false;  // wait for a full frame
  twitch::data_begin(writer, seq, first->index, first->t_us, run, 3);
  for (uint8_t k = 0; k < run; ++k) {
    const Sample* s = sample_ring.peek(k);
    // Unrolled, and the test signal in one call: the data path has little
    // CPU to spare at 4 kHz (board_avr.h), the test signal's 32-bit divisions
    // little at 2 kHz.
    const uint16_t* v = s->v;
    uint16_t pattern[3];
    if (test_signal_on) {  // each channel over its own declared full scale
      twitch::test_signal_sample(s->index, rate_hz, CHANNEL_BITS, pattern);
      v = pattern;
    }
    writer.u16(v[0]);
    writer.u16(v[1]);
    writer.u16(v[2]);
  }
  uint32_t last = first->index + run;
  for (uint8_t k = 0; k < run; ++k) sample_ring.pop();
  next_send_index = last;
  send_body(writer.finish());
  return true;
}

// Reads the button; once a press has held for DEBOUNCE_US, sends its MARK,
// stamped with the press's first edge: the device time, and the last sample
// taken by then (board_sample_clock()). An unwired pin reads released (its
// pull-up), so a board without a button never sends a MARK.
void poll_button() {
  uint32_t last_index, now_us;
  board_sample_clock(last_index, now_us);
  if (button.update(board_button_pressed(), now_us, last_index)) {
    send_body(twitch::build_mark(writer, seq, button.press_index(), button.press_us(), BUTTON_ID, button.presses()));
  }
}

// (Re)starts the sampling timer at rate_hz, numbering samples from `first`.
void restart_sampling(uint32_t first) {
  sampling_stop();
  sample_ring.clear();
  next_send_index = first;
  sampling_start(rate_hz, first);
}

void handle_command() {
  uint8_t op = decoder.opcode;
  int8_t want = twitch::opcode_arg_len(op);
  if (want < 0) return send_ack(op, twitch::ACK_UNKNOWN_OPCODE);
  if (decoder.arg_len != static_cast<uint8_t>(want)) return send_ack(op, twitch::ACK_BAD_LENGTH);
  switch (op) {
    case twitch::OP_START:
      if (!streaming) {
        streaming = true;
        restart_sampling(next_send_index);  // indices go on where they stopped
      }
      return send_ack(op, twitch::ACK_OK);
    case twitch::OP_STOP:
      streaming = false;
      sampling_stop();
      sample_ring.clear();  // samples not yet sent are dropped, their indices reused
      return send_ack(op, twitch::ACK_OK);
    case twitch::OP_SET_RATE: {
      uint32_t want_rate = twitch::read_u32le(decoder.arg);
      if (!board_rate_ok(want_rate)) return send_ack(op, twitch::ACK_BAD_ARGUMENT);
      rate_hz = want_rate;
      if (streaming) {
        restart_sampling(0);
      } else {
        next_send_index = 0;
      }
      send_ack(op, twitch::ACK_OK);
      return send_hello();  // the host needs the new descriptor
    }
    case twitch::OP_HELLO:
      return send_hello();
    case twitch::OP_TEST_SIGNAL:
      if (decoder.arg[0] > 1) return send_ack(op, twitch::ACK_BAD_ARGUMENT);
      test_signal_on = decoder.arg[0] == 1;
      return send_ack(op, twitch::ACK_OK);
    case twitch::OP_PING:
      return send_body(twitch::build_pong(writer, seq, twitch::read_u64le(decoder.arg), board_micros()));
    case twitch::OP_STATUS:
      return send_status();
  }
}


inline void setup() {
  board_begin();
  board_device_id(device_id);
  seq = 0;
  send_hello();  // seq 0: tells the host we just reset
  last_status_us = board_micros();
  restart_sampling(0);
}

inline void loop() {
  poll_button();
  int byte;
  while ((byte = link_read()) >= 0) {
    if (decoder.feed(static_cast<uint8_t>(byte)) == twitch::CommandDecoder::COMMAND) handle_command();
  }
  // Samples first: they are what the ring has to keep up with.
  for (uint8_t frames = 0; frames < 4 && send_data(); ++frames) {
  }
  if (board_micros() - last_status_us >= STATUS_PERIOD_US) {
    last_status_us += STATUS_PERIOD_US;
    send_status();
  }
}

}  // namespace app

#endif  // TWITCH_DEVICE_H
