// libFuzzer harness: arbitrary bytes on the Uno firmware's serial link.
//
// This is the firmware's own code, not a model of it: twitch_device.h (setup,
// loop, the command decoder and handler, framing, STATUS) and board_avr.h
// (Timer1 and ADC interrupts, the sample ring, the device id in EEPROM), built
// for the host on fake AVR registers (fake_avr/). The harness plays the rest of
// the board: a 2 MHz Timer1 clock, the ADC, the EEPROM and a 500000-baud serial
// link. Input bytes arrive on the link a few at a time; loop() reads them
// through decoder.feed() and handle_command() exactly as on the board, and
// every frame it writes is checked as it goes out.
//
// Input: byte 0 sets the scene, the rest is what the host sends.
//   bits 0-2  bytes arriving per loop() pass: 1, 2, 4 ... 128
//   bits 3-5  idle time after each pass: 0, 20 us, 100 us, 0.5, 2, 10, 50, 200 ms
//             (long stalls overflow the sample ring)
//   bit 6     the 32-bit microsecond clock starts 1.5 s before it wraps
//   bit 7     blank EEPROM: the device id is generated (first boot)
//
// Invariants (any failure aborts, and libFuzzer keeps the input):
// - no out-of-bounds access or undefined behaviour (ASan, UBSan);
// - every write is exactly one frame the Python decoder accepts: COBS with one
//   final 0x00, CRC, version 1, a device frame type, the layout parse_frame()
//   expects (exact lengths, ASCII strings, known ACK code), and seq counting
//   up by one from the HELLO with seq 0 at boot;
// - commands are answered as docs/protocol.md says: an independent reference
//   decoder and model of the device predict the reply to each piece of input
//   (ACK and its code, HELLO after SET_RATE, PONG with the token and the
//   clock, STATUS), and nothing else is sent while input is being handled;
// - the rate is always one the board allows (100-4000 Hz, a divisor of
//   2 MHz), Timer1 runs at it exactly when streaming, and HELLO/STATUS say so;
// - the sample ring never holds more than RING_SIZE samples, and a sample is
//   either queued or counted as an overflow;
// - every sample is the conversion chain its rate calls for, on AVcc, each
//   pin selected before its conversion starts: A0 x8, A1, A2 x4 up to 1 kHz;
//   A0 x4, A1, A2 x2 up to 2 kHz; A0, A1, A2 once above. The harness's ADC
//   reads a different value at every conversion;
// - every DATA frame carries samples really taken in the current run of
//   sampling, with their own timestamps and ADC values (raw: the sum of its
//   conversions of A0 times 1, 2 or 8, so always on the scale of eight; fsr:
//   of A2 times 1, 2 or 4, on the scale of four), or the test signal over
//   each channel's declared bits (HELLO: raw 13, env 10, fsr 12), in order,
//   each once, with gaps only where overflows were counted; no DATA after STOP;
// - the mark button's pin (D2) is an input with its pull-up, and, never
//   pressed here, sends no MARK.
// The conversion counts, sums and bits are written out here from
// docs/protocol.md and firmware/README.md, never read from board_avr.h, so a
// wrong table there shows.
//
// make -C firmware fuzz FUZZ_SECONDS=60 builds and runs it (see ../README.md).
// With TWITCH_FUZZ_DUMP=FILE set, every frame written is appended to FILE, so
// the daemon's own decoder can read them (tests/fuzz/test_fuzzers.py does).

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <new>

#include "../twitch_sensor/twitch_device.h"

namespace sim {

[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fprintf(stderr, "\nINVARIANT BROKEN: ");
  std::vfprintf(stderr, fmt, ap);
  std::fprintf(stderr, "\n");
  va_end(ap);
  std::abort();
}

#define REQUIRE(cond, ...)               \
  do {                                   \
    if (!(cond)) sim::fail(__VA_ARGS__); \
  } while (0)

const uint32_t STALL_US[8] = {0, 20, 100, 500, 2000, 10000, 50000, 200000};
const uint32_t PROGRAMMED_ID = 0x3F2A9C;
const uint16_t US_PER_BYTE = 20;  // 10 bits at 500000 baud

// ---------------------------------------------------------------- the board

uint64_t clock2;    // Timer1 ticks (2 MHz) since reset
uint32_t start_us;  // micros() at reset
const uint8_t* rx;
size_t rx_len, rx_pos, rx_arrived;
uint32_t ticks;     // Timer1 compare interrupts since reset
FILE* dump;

struct Taken {
  uint32_t index, tick, t_us, rate;
};
std::deque<Taken> queued;  // what the ring should hold, oldest first

// What conversion `k` of pin `channel` reads in the sample of Timer1 tick
// `tick`: a different 10-bit value for every conversion, so a sum that
// skips, repeats or mixes up conversions shows.
uint16_t adc_value(uint32_t tick, uint8_t channel, uint8_t k) {
  return static_cast<uint16_t>(((tick * 2654435761u) ^ (channel * 40503u) ^ (k * 2246822519u)) >> 9 & 0x3FF);
}

// Conversions of A0, A1, A2 in each sample at `rate`: as many as fit.
uint8_t conversions(uint32_t rate, uint8_t c) {
  static const uint8_t up_to_1k[3] = {8, 1, 4}, up_to_2k[3] = {4, 1, 2}, above[3] = {1, 1, 1};
  return rate <= 1000 ? up_to_1k[c] : rate <= 2000 ? up_to_2k[c] : above[c];
}
// Every channel at every rate is on the scale of its largest sum (raw 0..8184,
// 13 bits; env 0..1023, 10; fsr 0..4092, 12), so the scale never changes.
const uint8_t FULL_SUM[3] = {8, 1, 4};

// What DATA must carry for a channel: the sum of its pin's conversions,
// times what brings that many to the full sum.
uint16_t sample_value(uint32_t tick, uint8_t c, uint32_t rate) {
  const uint8_t n = conversions(rate, c);
  uint32_t sum = 0;
  for (uint8_t k = 0; k < n; ++k) sum += adc_value(tick, c, k);
  return static_cast<uint16_t>(sum * (FULL_SUM[c] / n));
}

uint32_t now_us() { return start_us + static_cast<uint32_t>(clock2 / 2); }

bool timer_on() { return (TIMSK1 & _BV(OCIE1A)) && (TCCR1B & _BV(CS11)); }

// One Timer1 compare match: the firmware's own ISRs take a sample.
void sample_tick() {
  REQUIRE(!avr_busy, "a conversion chain was left running");
  uint8_t before = sample_ring.size();
  uint32_t overflows = sample_ring.overflows();
  ADCSRA.value = static_cast<uint8_t>(ADCSRA.value & ~_BV(ADSC));
  TIMER1_COMPA_vect();
  REQUIRE(avr_busy, "Timer1 ISR did not start a conversion");
  uint32_t index = avr_sample.index;
  // The ADC converts the pin ADMUX selected when ADSC was set, and
  // interrupts; the chain must be A0, A1, A2, each as many times as the rate
  // calls for, back to back.
  const uint32_t rate = 2000000u / (OCR1A + 1u);  // what Timer1 really runs at
  uint8_t want_pins[16], chain = 0;
  for (uint8_t c = 0; c < 3; ++c) {
    for (uint8_t k = 0; k < conversions(rate, c); ++k) want_pins[chain++] = c;
  }
  uint8_t seen = 0, k_pin[3] = {0, 0, 0};
  while (avr_busy) {
    REQUIRE(seen < chain, "sample %u at %u Hz: more than %u conversions", index, rate, chain);
    REQUIRE(ADCSRA.value & _BV(ADSC), "sample %u: conversion %u never started", index, seen);
    const uint8_t mux = ADCSRA.mux;  // as the conversion started
    REQUIRE((mux & 0xC0) == _BV(REFS0), "sample %u: reference is not AVcc (ADMUX %02x)", index, mux);
    uint8_t pin = mux & 0x0F;
    REQUIRE(pin == want_pins[seen], "sample %u at %u Hz: conversion %u of pin A%u, should be A%u", index, rate, seen,
            pin, want_pins[seen]);
    ADCSRA.value = static_cast<uint8_t>(ADCSRA.value & ~_BV(ADSC));
    ADC = adc_value(ticks, pin, k_pin[pin]++);
    ADC_vect();
    ++seen;
  }
  REQUIRE(seen == chain, "sample %u at %u Hz: %u conversions, should be %u", index, rate, seen, chain);
  REQUIRE(!(ADCSRA.value & _BV(ADSC)), "sample %u: a conversion started after the last", index);
  uint8_t after = sample_ring.size();
  REQUIRE(after <= RING_SIZE, "ring holds %u samples, more than %u", after, RING_SIZE);
  if (after == before + 1) {
    REQUIRE(sample_ring.overflows() == overflows, "sample %u queued and counted as lost", index);
    queued.push_back(Taken{index, ticks, avr_sample.t_us, rate});
  } else {
    REQUIRE(after == before && before == RING_SIZE && sample_ring.overflows() == overflows + 1,
            "sample %u neither queued nor counted (ring %u -> %u, overflows %u -> %u)", index, before, after,
            overflows, sample_ring.overflows());
  }
  ++ticks;
}

// Lets `t` Timer1 ticks pass; the compare interrupt fires when it is enabled.
void advance2(uint64_t t) {
  while (t > 0) {
    if (!timer_on()) {
      clock2 += t;
      return;
    }
    REQUIRE(TCNT1 <= OCR1A, "TCNT1 %u past OCR1A %u", TCNT1, OCR1A);
    uint32_t to_match = static_cast<uint32_t>(OCR1A) + 1u - TCNT1;
    if (t < to_match) {
      TCNT1 = static_cast<uint16_t>(TCNT1 + t);
      clock2 += t;
      return;
    }
    clock2 += to_match;
    t -= to_match;
    TCNT1 = 0;
    sample_tick();
  }
}

// ---------------------------------------------------------------- the model

// What docs/protocol.md says the device must do, kept apart from the firmware.
struct Reply {
  uint8_t type;
  uint8_t opcode, code;  // ACK
  uint64_t token;        // PONG
};

struct Model {
  bool streaming, test_signal;
  uint32_t rate;
  uint32_t next_index;   // sample_index the next DATA frame should start at (or after a gap)
  uint64_t gaps;         // samples skipped in DATA so far
  uint32_t last_overflows;
  uint16_t seq;          // of the next frame the device sends
  bool booted;           // the boot HELLO went out
  bool in_input;         // loop() is reading input: only replies may be sent
  std::deque<Reply> expect;
  uint8_t piece[64];
  size_t piece_len;
};
Model m;

bool rate_allowed(uint32_t r) { return r >= 100 && r <= 4000 && 2000000u % r == 0; }

// STOP and a rate change drop what the ring holds.
void forget_samples() { queued.clear(); }

void expect_ack(uint8_t op, uint8_t code) { m.expect.push_back(Reply{twitch::FRAME_ACK, op, code, 0}); }

// A command the reference decoder accepted: predict the answer, update the model.
void predict(uint8_t op, const uint8_t* arg, size_t n) {
  int want = -1;
  switch (op) {
    case 0x01: case 0x02: case 0x04: case 0x07: want = 0; break;
    case 0x03: want = 4; break;
    case 0x05: want = 1; break;
    case 0x06: want = 8; break;
    default: break;
  }
  if (want < 0) return expect_ack(op, 1);
  if (n != static_cast<size_t>(want)) return expect_ack(op, 3);
  switch (op) {
    case 0x01:  // START: sample indices go on where they stopped
      m.streaming = true;
      return expect_ack(op, 0);
    case 0x02:  // STOP: what is queued is dropped
      m.streaming = false;
      forget_samples();
      return expect_ack(op, 0);
    case 0x03: {
      uint32_t r = static_cast<uint32_t>(arg[0]) | static_cast<uint32_t>(arg[1]) << 8 |
                   static_cast<uint32_t>(arg[2]) << 16 | static_cast<uint32_t>(arg[3]) << 24;
      if (!rate_allowed(r)) return expect_ack(op, 2);
      m.rate = r;
      m.next_index = 0;
      forget_samples();
      expect_ack(op, 0);
      m.expect.push_back(Reply{twitch::FRAME_HELLO, 0, 0, 0});
      return;
    }
    case 0x04:
      m.expect.push_back(Reply{twitch::FRAME_HELLO, 0, 0, 0});
      return;
    case 0x05:
      if (arg[0] > 1) return expect_ack(op, 2);
      m.test_signal = arg[0] == 1;
      return expect_ack(op, 0);
    case 0x06: {
      uint64_t token = 0;
      for (int k = 7; k >= 0; --k) token = token << 8 | arg[k];
      m.expect.push_back(Reply{twitch::FRAME_PONG, 0, 0, token});
      return;
    }
    case 0x07:
      m.expect.push_back(Reply{twitch::FRAME_STATUS, 0, 0, 0});
      return;
  }
}

uint16_t ref_crc(const uint8_t* p, size_t n) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < n; ++i) {
    crc = static_cast<uint16_t>(crc ^ p[i] << 8);
    for (int b = 0; b < 8; ++b) crc = static_cast<uint16_t>(crc & 0x8000 ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

// COBS-decodes piece[0..n) into out (room for cap bytes); -1 if malformed or too long.
long ref_cobs(const uint8_t* piece, size_t n, uint8_t* out, size_t cap) {
  size_t i = 0, o = 0;
  while (i < n) {
    size_t code = piece[i];
    if (code == 0 || i + code > n) return -1;
    for (size_t k = 1; k < code; ++k) {
      if (o >= cap) return -1;
      out[o++] = piece[i + k];
    }
    i += code;
    if (code != 0xFF && i < n) {
      if (o >= cap) return -1;
      out[o++] = 0;
    }
  }
  return static_cast<long>(o);
}

// Every byte loop() reads: the reference decoder splits pieces at 0x00. A piece
// longer than 34 bytes on the wire is more than the device's buffer holds and
// is dropped (the longest valid command, PING, takes 17), as is one whose body
// would not fit in 32 bytes; otherwise CRC, version and type decide.
void reference_byte(uint8_t b) {
  if (b != 0) {
    if (m.piece_len < sizeof m.piece) m.piece[m.piece_len] = b;
    ++m.piece_len;
    return;
  }
  size_t n = m.piece_len;
  m.piece_len = 0;
  if (n == 0 || n > 34) return;
  uint8_t body[64];
  long len = ref_cobs(m.piece, n, body, sizeof body);
  if (len < 7 || len > 32) return;
  size_t blen = static_cast<size_t>(len);
  if (ref_crc(body, blen - 2) != (body[blen - 2] | body[blen - 1] << 8)) return;
  if (body[0] != 1 || body[1] != 0x10) return;
  predict(body[4], body + 5, blen - 7);
}

// ---------------------------------------------------------------- frames out

struct In {
  const uint8_t* p;
  size_t n, at;
  void need(size_t k, const char* what) const {
    REQUIRE(at + k <= n, "%s: payload shorter than its fields", what);
  }
  uint8_t u8(const char* what) { need(1, what); return p[at++]; }
  uint16_t u16(const char* what) { need(2, what); uint16_t v = static_cast<uint16_t>(p[at] | p[at + 1] << 8); at += 2; return v; }
  uint32_t u32(const char* what) { uint32_t lo = u16(what); return lo | static_cast<uint32_t>(u16(what)) << 16; }
  uint64_t u64(const char* what) { uint64_t lo = u32(what); return lo | static_cast<uint64_t>(u32(what)) << 32; }
  // A string, which must be ASCII (the daemon rejects anything else).
  void str(const char* what, char* out, size_t cap) {
    uint8_t len = u8(what);
    need(len, what);
    for (uint8_t i = 0; i < len; ++i) REQUIRE(p[at + i] < 0x80, "%s: non-ASCII string", what);
    size_t k = len < cap - 1 ? len : cap - 1;
    std::memcpy(out, p + at, k);
    out[k] = '\0';
    at += len;
  }
  void end(const char* what) const { REQUIRE(at == n, "%s: %zu bytes after the payload", what, n - at); }
};

// docs/protocol.md, over each channel's declared full scale: raw 13 bits, env 10, fsr 12.
uint16_t expected_test_signal(uint8_t c, uint32_t i, uint32_t rate) {
  const uint32_t full_scale[3] = {8191, 1023, 4095};
  const uint32_t F = full_scale[c], R = rate;
  const uint32_t hp = R / 200 > 1 ? R / 200 : 1;
  if (c == 0) return static_cast<uint16_t>((i / hp) % 2 == 0 ? F / 2 + F / 8 : F / 2 - F / 8);
  if (c == 1) return static_cast<uint16_t>((i % R) * F / R);
  uint32_t p = i % (2 * R);
  return static_cast<uint16_t>((p < R ? p : 2 * R - p) * (F / 2) / R);
}

void check_device_state(const char* when) {
  REQUIRE(rate_allowed(app::rate_hz), "%s: rate %u Hz is not one the board allows", when, app::rate_hz);
  REQUIRE(app::rate_hz == m.rate, "%s: rate %u Hz, should be %u", when, app::rate_hz, m.rate);
  REQUIRE(app::streaming == m.streaming && app::test_signal_on == m.test_signal, "%s: streaming %d test %d, should be %d %d",
          when, app::streaming, app::test_signal_on, m.streaming, m.test_signal);
  REQUIRE(timer_on() == m.streaming, "%s: Timer1 %s while %s", when, timer_on() ? "runs" : "stopped",
          m.streaming ? "streaming" : "stopped");
  if (timer_on()) {
    REQUIRE(OCR1A + 1u == 2000000u / m.rate, "%s: OCR1A %u for %u Hz", when, OCR1A, m.rate);
  }
  REQUIRE(sample_ring.size() <= RING_SIZE, "%s: ring holds %u samples", when, sample_ring.size());
  REQUIRE(sample_ring.size() == queued.size(), "%s: ring holds %u samples, should be %zu", when, sample_ring.size(),
          queued.size());
}

void check_hello(In& in) {
  REQUIRE(in.u8("HELLO") == 1 && in.u8("HELLO") == 0 && in.u8("HELLO") == 0, "HELLO: firmware is not 1.0.0");
  uint32_t rate = in.u32("HELLO");
  REQUIRE(rate == m.rate, "HELLO says %u Hz, should be %u", rate, m.rate);
  REQUIRE(in.u8("HELLO") == 10, "HELLO: samples_per_frame");
  char board[64], id[64], name[64];
  in.str("HELLO board", board, sizeof board);
  in.str("HELLO device_id", id, sizeof id);
  REQUIRE(std::strcmp(board, "uno") == 0, "HELLO board %s", board);
  bool hex = std::strlen(id) == 9 && std::strncmp(id, "TW-", 3) == 0;
  for (int k = 3; hex && k < 9; ++k) hex = (id[k] >= '0' && id[k] <= '9') || (id[k] >= 'A' && id[k] <= 'F');
  REQUIRE(hex, "HELLO device id %s", id);
  uint32_t value = static_cast<uint32_t>(std::strtoul(id + 3, nullptr, 16));
  uint32_t stored = static_cast<uint32_t>(fake_eeprom[0x3F2]) << 16 | static_cast<uint32_t>(fake_eeprom[0x3F3]) << 8 |
                    fake_eeprom[0x3F4];
  REQUIRE(fake_eeprom[0x3F0] == 'T' && fake_eeprom[0x3F1] == 'W' && stored == value,
          "device id %s is not the one kept in EEPROM", id);
  uint8_t n = in.u8("HELLO");
  REQUIRE(n == 3, "HELLO: %u channels", n);
  const char* names[3] = {"raw", "env", "fsr"};
  const uint8_t bits[3] = {13, 10, 12};  // the spans of 8, 1 and 4 10-bit conversions
  for (int c = 0; c < 3; ++c) {
    in.str("HELLO channel", name, sizeof name);
    REQUIRE(std::strcmp(name, names[c]) == 0, "HELLO channel %d is %s", c, name);
    uint8_t b = in.u8("HELLO");
    uint16_t mv = in.u16("HELLO");
    REQUIRE(b == bits[c] && mv == 5000, "HELLO channel %s: %u bits %u mV, not %u bits, 5000 mV", name, b, mv,
            bits[c]);
  }
  in.end("HELLO");
}

void check_status(In& in) {
  uint32_t overflows = in.u32("STATUS");
  uint8_t flags = in.u8("STATUS");
  uint32_t rate = in.u32("STATUS");
  in.end("STATUS");
  REQUIRE(overflows == sample_ring.overflows() && overflows >= m.last_overflows, "STATUS overflows %u (ring %u, before %u)",
          overflows, sample_ring.overflows(), m.last_overflows);
  m.last_overflows = overflows;
  uint8_t want = static_cast<uint8_t>((m.streaming ? 1 : 0) | (m.test_signal ? 2 : 0));
  REQUIRE(flags == want && rate == m.rate, "STATUS flags %u rate %u, should be %u %u", flags, rate, want, m.rate);
}

void check_data(In& in) {
  REQUIRE(m.streaming, "DATA while stopped");
  uint32_t index = in.u32("DATA"), t0 = in.u32("DATA");
  uint8_t n = in.u8("DATA"), channels = in.u8("DATA");
  REQUIRE(n >= 1 && n <= 10 && channels == 3, "DATA of %u samples x %u channels", n, channels);
  REQUIRE(index - m.next_index < 0x80000000u, "DATA at sample %u, before %u (sent twice or out of order)", index,
          m.next_index);
  m.gaps += index - m.next_index;
  REQUIRE(m.gaps <= sample_ring.overflows(), "DATA skips %llu samples in all, only %u overflows counted",
          static_cast<unsigned long long>(m.gaps), sample_ring.overflows());
  for (uint8_t k = 0; k < n; ++k) {
    uint32_t i = index + k;
    // The oldest queued sample, each sent once: none skipped, none left from
    // before STOP or a rate change.
    REQUIRE(!queued.empty() && queued.front().index == i, "DATA has sample %u, the oldest queued is %s%u", i,
            queued.empty() ? "none: " : "", queued.empty() ? 0u : queued.front().index);
    Taken t = queued.front();
    queued.pop_front();
    if (k == 0) REQUIRE(t0 == t.t_us, "DATA t0 %u, sample %u was taken at %u", t0, i, t.t_us);
    for (uint8_t c = 0; c < 3; ++c) {
      uint16_t v = in.u16("DATA");
      uint16_t want = m.test_signal ? expected_test_signal(c, i, m.rate) : sample_value(t.tick, c, t.rate);
      REQUIRE(v == want, "DATA sample %u channel %u is %u, should be %u", i, c, v, want);
    }
  }
  in.end("DATA");
  m.next_index = index + n;
}

// A frame's payload, against what the model expects.
void check_frame(uint8_t type, In& in) {
  if (!m.expect.empty()) {
    Reply want = m.expect.front();
    m.expect.pop_front();
    REQUIRE(type == want.type, "reply of type %u, should be %u", type, want.type);
    switch (type) {
      case twitch::FRAME_ACK: {
        uint8_t op = in.u8("ACK"), code = in.u8("ACK");
        in.end("ACK");
        REQUIRE(op == want.opcode && code == want.code, "ACK(%u, %u), should be ACK(%u, %u)", op, code, want.opcode,
                want.code);
        return;
      }
      case twitch::FRAME_PONG: {
        uint64_t token = in.u64("PONG");
        uint32_t us = in.u32("PONG");
        in.end("PONG");
        REQUIRE(token == want.token && us == now_us(), "PONG token/clock wrong");
        return;
      }
      case twitch::FRAME_HELLO:
        return check_hello(in);
      case twitch::FRAME_STATUS:
        return check_status(in);
    }
    fail("unexpected reply type %u", type);
  }
  REQUIRE(!m.in_input, "frame of type %u sent in answer to input that needs none", type);
  if (type == twitch::FRAME_DATA) return check_data(in);
  if (type == twitch::FRAME_STATUS) return check_status(in);  // the periodic one
  fail("frame of type %u sent unasked", type);
}

// One write to the link: must be one whole, valid frame.
void check_write(const uint8_t* data, size_t n) {
  REQUIRE(n >= 2 && data[n - 1] == 0, "a write of %zu bytes that is not a whole frame", n);
  REQUIRE(std::memchr(data, 0, n - 1) == nullptr, "0x00 inside a frame");
  REQUIRE(n - 1 <= 1024 + 1024 / 254 + 1, "frame of %zu bytes on the wire: the daemon drops it", n);
  uint8_t body[1100];
  long len = ref_cobs(data, n - 1, body, sizeof body);
  REQUIRE(len >= 6 && len <= 1024, "bad COBS or length %ld", len);
  size_t blen = static_cast<size_t>(len);
  REQUIRE(ref_crc(body, blen - 2) == (body[blen - 2] | body[blen - 1] << 8), "bad CRC");
  REQUIRE(body[0] == 1, "version %u", body[0]);
  uint8_t type = body[1];
  uint16_t seq = static_cast<uint16_t>(body[2] | body[3] << 8);
  REQUIRE(seq == m.seq, "frame seq %u, should be %u", seq, m.seq);
  m.seq = static_cast<uint16_t>(seq + 1);
  In in{body + 4, blen - 6, 0};
  if (!m.booted) {
    REQUIRE(type == twitch::FRAME_HELLO && seq == 0, "first frame is type %u seq %u, not the boot HELLO", type, seq);
    m.booted = true;
    return check_hello(in);  // sampling starts after it
  }
  check_frame(type, in);
  check_device_state("sending");
}

// ---------------------------------------------------------------- one input

void reset(uint8_t scene) {
  clock2 = 0;
  start_us = scene & 0x40 ? 0xFFFFFFFFu - 1500000u : 0;
  ticks = 0;
  forget_samples();
  std::memset(fake_eeprom, 0xFF, sizeof fake_eeprom);
  if (!(scene & 0x80)) {
    fake_eeprom[0x3F0] = 'T';
    fake_eeprom[0x3F1] = 'W';
    fake_eeprom[0x3F2] = static_cast<uint8_t>(PROGRAMMED_ID >> 16);
    fake_eeprom[0x3F3] = static_cast<uint8_t>(PROGRAMMED_ID >> 8);
    fake_eeprom[0x3F4] = static_cast<uint8_t>(PROGRAMMED_ID);
  }
  // Power-on: registers, the ISRs' state, the ring, and the firmware's globals.
  ADCSRA.value = ADCSRA.mux = 0;
  ADMUX = ADCL = ADCH = DIDR0 = TCNT0 = TCCR1A = TCCR1B = TIFR1 = TIMSK1 = 0;
  SREG = 0x80;
  ADC = 0;
  TCNT1 = OCR1A = 0;
  DDRD = PORTD = 0;
  PIND = 0xFF;  // the mark button is never pressed here: a MARK would be a frame sent unasked
  avr_next_index = 0;
  avr_channel = avr_left = 0;
  avr_sum = 0;
  std::memset(avr_repeat, 0, sizeof avr_repeat);
  std::memset(avr_scale, 0, sizeof avr_scale);
  avr_busy = false;
  avr_sample = Sample();
  new (&sample_ring) twitch::SampleRing<Sample, RING_SIZE>();
  std::memset(app::device_id, 0, sizeof app::device_id);
  app::seq = 0;
  app::rate_hz = DEFAULT_RATE_HZ;
  app::streaming = true;
  app::test_signal_on = false;
  app::next_send_index = 0;
  app::last_status_us = 0;
  app::decoder = twitch::CommandDecoder();
  app::button = twitch::Debouncer();

  m.streaming = true;
  m.test_signal = false;
  m.rate = 1000;
  m.next_index = 0;
  m.gaps = 0;
  m.last_overflows = 0;
  m.seq = 0;
  m.booted = false;
  m.in_input = false;
  m.expect.clear();
  m.piece_len = 0;
}

}  // namespace sim

// ---------------------------------------------------------------- the fakes' hooks

FakeSerial Serial;

uint32_t micros() { return sim::now_us(); }

void FakeSerial::begin(uint32_t baud) { REQUIRE(baud == 500000, "serial at %u baud", baud); }

int FakeSerial::read() {
  REQUIRE(sim::m.expect.empty(), "%zu expected replies were never sent (next: type %u)", sim::m.expect.size(),
          sim::m.expect.front().type);
  if (sim::rx_pos < sim::rx_arrived) {
    uint8_t b = sim::rx[sim::rx_pos++];
    sim::m.in_input = true;
    sim::reference_byte(b);
    return b;
  }
  sim::m.in_input = false;
  return -1;
}

size_t FakeSerial::write(const uint8_t* data, size_t n) {
  sim::check_write(data, n);
  if (sim::dump) std::fwrite(data, 1, n, sim::dump);
  sim::advance2(2ull * sim::US_PER_BYTE * n);  // the UART takes its time; sampling goes on
  return n;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* path = std::getenv("TWITCH_FUZZ_DUMP");
  if (path && *path) sim::dump = std::fopen(path, "ab");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t scene = data[0];
  const size_t burst = static_cast<size_t>(1) << (scene & 7);
  const uint32_t stall = sim::STALL_US[(scene >> 3) & 7];
  sim::reset(scene);
  sim::rx = data + 1;
  sim::rx_len = size - 1;
  sim::rx_pos = sim::rx_arrived = 0;

  app::setup();
  REQUIRE(sim::m.booted, "no HELLO at boot");
  REQUIRE(!(DDRD & _BV(DDD2)) && (PORTD & _BV(PORTD2)), "the mark button's pin D2 is not an input with its pull-up");
  // Input arrives `burst` bytes per pass of loop(); then a few passes to let it settle.
  for (int settle = 0; settle < 4;) {
    if (sim::rx_arrived < sim::rx_len) {
      sim::rx_arrived = sim::rx_len - sim::rx_arrived < burst ? sim::rx_len : sim::rx_arrived + burst;
    } else {
      ++settle;
    }
    app::loop();
    REQUIRE(sim::rx_pos == sim::rx_arrived, "loop() left input unread");
    REQUIRE(sim::m.expect.empty(), "replies missing after loop()");
    sim::check_device_state("after loop()");
    sim::advance2(2ull * stall + 2ull * 50);  // loop() itself takes a little while
  }
  if (sim::dump) std::fflush(sim::dump);
  return 0;
}
