// Host tests of the firmware's portable core (twitch_sensor/*.h) with g++.
//
// Every line of docs/protocol_vectors.tsv is checked: device frames are
// rebuilt from the fields parsed out of the vector's body with the core's
// builders and must match byte for byte, and COBS must give the wire bytes;
// command vectors must pass the decoder, and every single-bit corruption of
// them must be rejected. Garbage and split streams exercise resync. The mark
// button's debouncer is played bounce trains, glitches, taps and holds.
//
//   make -C firmware host-test     (builds with -fsanitize=address,undefined)

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../twitch_sensor/debounce.h"
#include "../twitch_sensor/sample_ring.h"
#include "../twitch_sensor/test_signal.h"
#include "../twitch_sensor/twitch_protocol.h"

using Bytes = std::vector<uint8_t>;
using namespace twitch;

static int failures = 0;
static int checks = 0;

#define CHECK(cond, ...)                                          \
  do {                                                            \
    ++checks;                                                     \
    if (!(cond)) {                                                \
      ++failures;                                                 \
      std::fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                          \
      std::fprintf(stderr, "\n");                                 \
    }                                                             \
  } while (0)

static Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

static std::string to_hex(const uint8_t* p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof b, "%02x", p[i]);
    s += b;
  }
  return s;
}

// Little-endian cursor over a vector's body, to recover the frame's fields.
struct Reader {
  const Bytes& b;
  size_t at;
  uint8_t u8() { return b.at(at++); }
  uint16_t u16() { uint16_t v = static_cast<uint16_t>(b.at(at) | (b.at(at + 1) << 8)); at += 2; return v; }
  uint32_t u32() { uint32_t v = read_u32le(&b.at(at)); at += 4; return v; }
  uint64_t u64() { uint64_t v = read_u64le(&b.at(at)); at += 8; return v; }
  std::string str() { uint8_t n = u8(); std::string s(b.begin() + at, b.begin() + at + n); at += n; return s; }
};

// Rebuilds a device frame from its body's fields with the core's builders.
static Bytes rebuild(const Bytes& body) {
  Reader r{body, 0};
  uint8_t version = r.u8(), type = r.u8();
  uint16_t seq = r.u16();
  (void)version;
  uint8_t buf[MAX_FRAME];
  FrameWriter w(buf, sizeof buf);
  uint16_t n = 0;
  switch (type) {
    case FRAME_HELLO: {
      DeviceInfo d;
      d.fw_major = r.u8(); d.fw_minor = r.u8(); d.fw_patch = r.u8();
      uint32_t rate = r.u32();
      d.samples_per_frame = r.u8();
      std::string board = r.str(), id = r.str();
      d.board = board.c_str();
      d.device_id = id.c_str();
      d.n_channels = r.u8();
      std::vector<std::string> names(d.n_channels);
      std::vector<ChannelDesc> ch(d.n_channels);
      for (uint8_t c = 0; c < d.n_channels; ++c) {
        names[c] = r.str();
        ch[c].name = names[c].c_str();
        ch[c].adc_bits = r.u8();
        ch[c].vref_mv = r.u16();
      }
      d.channels = ch.data();
      n = build_hello(w, seq, d, rate);
      break;
    }
    case FRAME_DATA: {
      uint32_t index = r.u32(), t0 = r.u32();
      uint8_t ns = r.u8(), nc = r.u8();
      std::vector<uint16_t> v(ns * nc);
      for (auto& x : v) x = r.u16();
      n = build_data(w, seq, index, t0, ns, nc, v.data());
      break;
    }
    case FRAME_STATUS: {
      uint32_t ovf = r.u32();
      uint8_t flags = r.u8();
      uint32_t rate = r.u32();
      n = build_status(w, seq, ovf, flags, rate);
      break;
    }
    case FRAME_PONG: {
      uint64_t token = r.u64();
      uint32_t us = r.u32();
      n = build_pong(w, seq, token, us);
      break;
    }
    case FRAME_ACK: {
      uint8_t op = r.u8(), code = r.u8();
      n = build_ack(w, seq, op, code);
      break;
    }
    case FRAME_MARK: {
      uint32_t index = r.u32(), us = r.u32();
      uint8_t button = r.u8();
      uint16_t count = r.u16();
      n = build_mark(w, seq, index, us, button, count);
      break;
    }
    case FRAME_COMMAND: {
      uint8_t op = r.u8();
      size_t arg_len = body.size() - 2 - r.at;
      n = build_command(w, seq, op, body.data() + r.at, static_cast<uint8_t>(arg_len));
      break;
    }
    default:
      break;
  }
  return Bytes(buf, buf + n);
}

static Bytes cobs(const Bytes& body) {
  Bytes out(cobs_wire_size(body.size()));
  out.resize(cobs_encode(body.data(), body.size(), out.data()));
  return out;
}

struct Vector {
  std::string name;
  Bytes body, wire;
};

static std::vector<Vector> load_vectors(const char* path) {
  std::ifstream f(path);
  std::vector<Vector> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Vector v;
    std::string body, wire;
    std::getline(fields, v.name, '\t');
    std::getline(fields, body, '\t');
    std::getline(fields, wire, '\t');
    v.body = from_hex(body);
    v.wire = from_hex(wire);
    out.push_back(v);
  }
  return out;
}

// Feeds bytes; returns the commands accepted (as rebuilt bodies) and counts rejections.
static std::vector<Bytes> feed(CommandDecoder& d, const Bytes& bytes) {
  std::vector<Bytes> got;
  for (uint8_t b : bytes) {
    if (d.feed(b) == CommandDecoder::COMMAND) {
      uint8_t buf[64];
      FrameWriter w(buf, sizeof buf);
      uint16_t n = build_command(w, d.seq, d.opcode, d.arg, d.arg_len);
      got.push_back(Bytes(buf, buf + n));
    }
  }
  return got;
}

static void test_crc_and_cobs() {
  const char* check = "123456789";
  CHECK(crc16(reinterpret_cast<const uint8_t*>(check), 9) == 0x29B1, "crc check value");
  Bytes in = {0x11, 0x22, 0x00, 0x33};
  CHECK(to_hex(cobs(in).data(), cobs(in).size()) == "031122023300", "cobs example");
  // Long runs: the 254-byte block boundary, and round trips of every length.
  for (size_t len = 0; len < 700; len += (len < 520 ? 1 : 37)) {
    Bytes data(len);
    // Odd lengths: zeros every few bytes; even lengths: long runs without a
    // zero, which cross the 254-byte block limit (code 0xFF, no implied zero).
    for (size_t i = 0; i < len; ++i) {
      data[i] = len % 2 ? static_cast<uint8_t>((i * 7 + len) % 5 == 0 ? 0 : i + 1)
                        : static_cast<uint8_t>(i % 255 + 1);
    }
    Bytes enc = cobs(data);
    CHECK(enc.back() == 0 && std::count(enc.begin(), enc.end(), 0) == 1, "len %zu: one delimiter", len);
    CHECK(enc.size() <= cobs_wire_size(len), "len %zu: size bound", len);
    Bytes dec(len + 1);
    int n = cobs_decode(enc.data(), enc.size() - 1, dec.data(), dec.size());
    CHECK(n == static_cast<int>(len) && std::equal(data.begin(), data.end(), dec.begin()), "len %zu: round trip", len);
  }
  // FrameWriter never overruns a small buffer.
  uint8_t small[6];
  FrameWriter w(small, sizeof small);
  CHECK(build_status(w, 1, 2, 3, 4) == 0, "overfull frame is refused");
}

static void test_vectors(const std::vector<Vector>& vectors) {
  CHECK(vectors.size() >= 18, "found %zu vectors", vectors.size());
  for (const auto& v : vectors) {
    Bytes wire = cobs(v.body);
    CHECK(wire == v.wire, "%s: cobs gives %s", v.name.c_str(), to_hex(wire.data(), wire.size()).c_str());
    Bytes built = rebuild(v.body);
    CHECK(built == v.body, "%s: built %s", v.name.c_str(), to_hex(built.data(), built.size()).c_str());
    bool is_command = v.body.size() > 1 && v.body[1] == FRAME_COMMAND;
    CommandDecoder d;
    std::vector<Bytes> got = feed(d, v.wire);
    if (is_command) {
      CHECK(got.size() == 1 && got[0] == v.body && d.rejected == 0, "%s: decoded", v.name.c_str());
      // Every single-bit error is caught (CRC-16 guarantees it), and the
      // decoder is ready again for the next good frame.
      for (size_t i = 0; i + 1 < v.wire.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
          Bytes bad = v.wire;
          bad[i] ^= static_cast<uint8_t>(1 << bit);
          CommandDecoder d2;
          CHECK(feed(d2, bad).empty() && d2.rejected >= 1, "%s: byte %zu bit %d accepted", v.name.c_str(), i, bit);
          std::vector<Bytes> again = feed(d2, v.wire);
          CHECK(again.size() == 1 && again[0] == v.body, "%s: no resync after byte %zu bit %d", v.name.c_str(), i, bit);
        }
      }
      // Truncated copies (the delimiter moved earlier) are rejected too.
      for (size_t cut = 1; cut + 1 < v.wire.size(); ++cut) {
        Bytes shortened(v.wire.begin(), v.wire.begin() + cut);
        shortened.push_back(0);
        CommandDecoder d3;
        CHECK(feed(d3, shortened).empty(), "%s: cut at %zu accepted", v.name.c_str(), cut);
      }
    } else {
      // The device's own frames are not commands: a looped-back stream is ignored.
      CHECK(got.empty() && d.rejected == 1, "%s: device frame taken as a command", v.name.c_str());
    }
  }
}

static uint32_t rng_state = 12345;
static uint32_t rnd() {  // xorshift32: deterministic garbage
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void test_streams(const std::vector<Vector>& vectors) {
  std::vector<Bytes> commands;
  Bytes stream;
  for (const auto& v : vectors) {
    if (v.body[1] != FRAME_COMMAND) continue;
    // Garbage before each command, ended by a delimiter: costs one piece.
    for (uint32_t k = rnd() % 60; k > 0; --k) stream.push_back(static_cast<uint8_t>(rnd()));
    stream.push_back(0);
    stream.push_back(0);  // idle filler
    stream.insert(stream.end(), v.wire.begin(), v.wire.end());
    commands.push_back(v.body);
  }
  // An overlong piece (longer than any command) is dropped whole.
  Bytes huge(300, 0x55);
  stream.insert(stream.end(), huge.begin(), huge.end());
  stream.push_back(0);
  stream.insert(stream.end(), vectors[0].wire.begin(), vectors[0].wire.end());  // a HELLO: not a command
  for (const auto& c : commands) {
    Bytes w = cobs(c);
    stream.insert(stream.end(), w.begin(), w.end());
  }
  // Split the stream at random points, as UART reads or BLE notifications would.
  CommandDecoder d;
  std::vector<Bytes> got;
  for (size_t at = 0; at < stream.size();) {
    size_t n = 1 + rnd() % 23;
    Bytes chunk(stream.begin() + at, stream.begin() + std::min(stream.size(), at + n));
    for (auto& c : feed(d, chunk)) got.push_back(c);
    at += chunk.size();
  }
  std::vector<Bytes> want = commands;
  want.insert(want.end(), commands.begin(), commands.end());
  CHECK(got == want, "split stream: %zu of %zu commands", got.size(), want.size());

  // Pure garbage: never crashes, never accepted.
  CommandDecoder g;
  Bytes noise(200000);
  for (auto& b : noise) b = static_cast<uint8_t>(rnd() % 7 == 0 ? 0 : rnd());
  CHECK(feed(g, noise).empty(), "garbage accepted as a command");
  CHECK(g.rejected > 1000, "garbage rejected %u times", g.rejected);
}

static void test_signal_pattern() {
  // Spot values from the protocol's formulas (10-bit, 1 kHz: F = 1023).
  CHECK(test_signal(KIND_RAW, 0, 1000, 10) == 511 + 127, "raw high");
  CHECK(test_signal(KIND_RAW, 5, 1000, 10) == 511 - 127, "raw low");
  CHECK(test_signal(KIND_RAW, 10, 1000, 10) == 511 + 127, "raw period 10 samples");
  CHECK(test_signal(KIND_ENV, 500, 1000, 10) == 500 * 1023 / 1000, "env");
  CHECK(test_signal(KIND_FSR, 1000, 1000, 10) == 511, "fsr peak");
  CHECK(test_signal(KIND_FSR, 1500, 1000, 10) == 500 * 511 / 1000, "fsr falling");
  CHECK(test_signal(KIND_RAW, 7, 100, 12) == 2047 - 511, "raw at a slow rate: half period 1");
  // Same as the Python reference (pattern_samples), written out independently.
  for (uint32_t rate : {250u, 1000u, 2000u, 4000u}) {
    for (uint32_t i = 0; i < 3 * rate; i += 7) {
      long F = 4095, R = rate, I = i;
      long hp = R / 200 > 1 ? R / 200 : 1;
      long raw = F / 2 + ((I / hp) % 2 == 0 ? F / 8 : -(F / 8));
      long env = (I % R) * F / R;
      long p = I % (2 * R);
      long fsr = (p < R ? p : 2 * R - p) * (F / 2) / R;
      CHECK(test_signal(KIND_RAW, i, rate, 12) == raw && test_signal(KIND_ENV, i, rate, 12) == env &&
                test_signal(KIND_FSR, i, rate, 12) == fsr,
            "pattern at i=%u rate=%u", i, rate);
    }
  }
  // All three at once, each channel with its own bits, as the firmware sends
  // them: the same as test_signal(), at every rate the boards accept and a
  // few more, around the periods' edges and the wrap of the index.
  const uint8_t bit_sets[4][3] = {{13, 10, 12}, {12, 10, 10}, {10, 10, 10}, {12, 12, 12}};
  for (uint32_t rate : {0u, 1u, 7u, 100u, 125u, 160u, 199u, 200u, 250u, 320u, 400u, 500u, 625u, 800u, 1000u, 1250u,
                        1600u, 2000u, 2500u, 3125u, 4000u, 5000u, 65536u, 1000000u}) {
    uint32_t r = rate ? rate : 1;
    for (const uint8_t* bits : bit_sets) {
      for (uint32_t start : {0u, r - 1, 2 * r - 3, 1234567u, 0xFFFFFFFFu - 2 * r, 0xFFFFFFF0u}) {
        for (uint32_t k = 0; k < 2 * r + 50 && k < 5000; ++k) {
          uint32_t i = start + k;  // wraps past 2^32 on purpose
          uint16_t got[3];
          test_signal_sample(i, rate, bits, got);
          bool same = got[0] == test_signal(KIND_RAW, i, rate, bits[0]) &&
                      got[1] == test_signal(KIND_ENV, i, rate, bits[1]) &&
                      got[2] == test_signal(KIND_FSR, i, rate, bits[2]);
          CHECK(same, "test_signal_sample at i=%u rate=%u bits %u/%u/%u", i, rate, bits[0], bits[1], bits[2]);
          if (!same) break;
        }
      }
    }
  }
}

struct Sample {
  uint32_t index;
  uint16_t v[3];
};

static void test_ring() {
  SampleRing<Sample, 8> ring;
  CHECK(ring.front() == nullptr && ring.size() == 0, "empty");
  uint32_t next_in = 0, next_out = 0;
  // Interleave pushes and pops for far more than 256 items so the uint8_t
  // counters wrap many times; overflow when the consumer falls behind.
  for (int round = 0; round < 2000; ++round) {
    int pushes = static_cast<int>(rnd() % 12), pops = static_cast<int>(rnd() % 12);
    for (int k = 0; k < pushes; ++k) {
      Sample s = {next_in, {1, 2, 3}};
      bool full = ring.size() == ring.capacity();
      CHECK(ring.push(s) == !full, "push when %sfull", full ? "" : "not ");
      ++next_in;
      if (full) continue;
    }
    for (int k = 0; k < pops && ring.front(); ++k) {
      CHECK(ring.front()->index >= next_out, "order");
      next_out = ring.front()->index + 1;
      ring.pop();
    }
    CHECK(ring.size() <= 8, "size %u", ring.size());
  }
  uint32_t dropped = ring.overflows();
  CHECK(dropped > 0, "some overflows happened");
  ring.clear();
  CHECK(ring.size() == 0 && ring.front() == nullptr, "clear");
  CHECK(ring.overflows() == dropped, "clear keeps the overflow count");
}

// ---------------------------------------------------------------- the button

// A pin's level over time: edges at the given µs (the level starts released
// and flips at each), polled every `poll_us` from `from_us` for `for_us`, as
// loop() would; the sample clock ticks at 1 kHz from `from_us`.
struct Press {
  uint32_t us, index;  // the press's stamp: its first edge
  uint16_t count;
  uint32_t at;  // when update() said so
};

static std::vector<Press> play(Debouncer& d, const std::vector<uint32_t>& edges, uint32_t from_us, uint32_t for_us,
                               uint32_t poll_us = 250) {
  std::vector<Press> out;
  for (uint32_t t = 0; t <= for_us; t += poll_us) {
    uint32_t now = from_us + t;  // wraps past 2^32 on purpose in one test
    bool pressed = false;
    for (uint32_t e : edges) {
      if (static_cast<uint32_t>(now - from_us) >= static_cast<uint32_t>(e - from_us)) pressed = !pressed;
    }
    uint32_t last_index = static_cast<uint32_t>(now - from_us) / 1000u;
    if (d.update(pressed, now, last_index)) out.push_back(Press{d.press_us(), d.press_index(), d.presses(), now});
  }
  return out;
}

static void test_debounce() {
  CHECK(DEBOUNCE_US == 20000, "the documented 20 ms");
  {  // A clean press held 150 ms: one press, at its edge, recognised 20 ms later.
    Debouncer d;
    std::vector<Press> got = play(d, {100000, 250000}, 0, 400000);
    CHECK(got.size() == 1 && got[0].us == 100000 && got[0].index == 100 && got[0].count == 1 && got[0].at == 120000,
          "clean press: %zu", got.size());
    CHECK(!d.pressed(), "released after the release");
  }
  {  // Bounce trains shorter than the debounce, on press and release: one press, at the first edge.
    Debouncer d;
    std::vector<uint32_t> edges = {100000, 100500, 101250, 102000, 103000};  // settles pressed at 103 ms
    for (uint32_t e : {300000u, 300750u, 301500u, 303000u, 306000u}) edges.push_back(e);  // release, bouncing
    std::vector<Press> got = play(d, edges, 0, 500000);
    CHECK(got.size() == 1 && got[0].us == 100000 && got[0].index == 100 && got[0].at == 123000,
          "bouncing press: %zu presses", got.size());
    // Bounce ending 19.75 ms apart is still one train; the press is the train's first edge.
    Debouncer d2;
    std::vector<Press> got2 = play(d2, {100000, 100500, 120250, 200000}, 0, 300000);
    CHECK(got2.size() == 1 && got2[0].us == 100000, "edges 19.75 ms apart are one train");
  }
  {  // Glitches shorter than the debounce (a spark, a knock) are no press.
    Debouncer d;
    std::vector<Press> got = play(d, {100000, 100250, 200000, 219750, 400000, 401000, 402000, 403000}, 0, 600000);
    CHECK(got.empty() && !d.pressed(), "glitches gave %zu presses", got.size());
  }
  {  // Two presses 100 ms apart (50 ms down, 50 ms up): two, numbered 1 and 2.
    Debouncer d;
    std::vector<Press> got = play(d, {100000, 150000, 200000, 250000}, 0, 400000);
    CHECK(got.size() == 2 && got[0].us == 100000 && got[1].us == 200000 && got[0].count == 1 && got[1].count == 2,
          "two presses: %zu", got.size());
    CHECK(got.size() == 2 && got[1].index == 200, "second press's sample");
  }
  {  // A button held for a minute is one press.
    Debouncer d;
    std::vector<Press> got = play(d, {50000}, 0, 60000000, 1000);
    CHECK(got.size() == 1 && d.pressed(), "held: %zu presses", got.size());
  }
  {  // A slow loop (a 5 ms pass) still sees a press once, stamped at the pass that first saw it.
    Debouncer d;
    std::vector<Press> got = play(d, {100000, 100400, 101000, 180000}, 0, 300000, 5000);
    CHECK(got.size() == 1 && got[0].us == 100000, "slow loop: %zu", got.size());
  }
  {  // micros() wraps during a press: still one press, at its edge.
    Debouncer d;
    const uint32_t from = 0xFFFFFFFFu - 110000u;
    std::vector<Press> got = play(d, {from + 100000, from + 100500, from + 101000, from + 200000}, from, 300000);
    CHECK(got.size() == 1 && got[0].us == from + 100000, "across the wrap: %zu", got.size());
  }
  {  // The counter wraps at 65536 presses.
    Debouncer d;
    uint32_t now = 0;
    uint16_t last = 0;
    for (uint32_t k = 0; k < 65537u; ++k) {
      d.update(true, now, 0);
      d.update(true, now += 20000, 0);
      last = d.presses();
      d.update(false, now += 1000, 0);
      d.update(false, now += 20000, 0);
    }
    CHECK(last == 1, "the 65537th press is numbered 1, got %u", last);
  }
}

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "../docs/protocol_vectors.tsv";
  std::vector<Vector> vectors = load_vectors(path);
  if (vectors.empty()) {
    std::fprintf(stderr, "no vectors read from %s\n", path);
    return 2;
  }
  test_crc_and_cobs();
  test_vectors(vectors);
  test_streams(vectors);
  test_signal_pattern();
  test_ring();
  test_debounce();
  std::printf("%d checks, %d failures, %zu vectors\n", checks, failures, vectors.size());
  return failures ? 1 : 0;
}
