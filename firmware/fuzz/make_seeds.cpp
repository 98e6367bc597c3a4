// Writes the seed corpus of fuzz_commands: every command vector of
// docs/protocol_vectors.tsv, and commands built with the core's own
// build_command() that reach each answer (every opcode, good and bad rates and
// arguments, wrong lengths, an unknown opcode, an overlong piece, device frames
// looped back), alone and strung together into sessions, under a few scenes
// (byte 0 of an input: see fuzz_commands.cpp).
//
//   make_seeds docs/protocol_vectors.tsv OUT_DIR

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../twitch_sensor/twitch_protocol.h"

using Bytes = std::vector<uint8_t>;

static Bytes from_hex(const std::string& hex) {
  Bytes out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

static Bytes command(uint16_t seq, uint8_t opcode, const Bytes& arg) {
  uint8_t body[twitch::CommandDecoder::MAX_BODY + 8];
  twitch::FrameWriter w(body, sizeof body);
  uint16_t n = twitch::build_command(w, seq, opcode, arg.data(), static_cast<uint8_t>(arg.size()));
  Bytes wire(twitch::cobs_wire_size(n));
  wire.resize(twitch::cobs_encode(body, n, wire.data()));
  return wire;
}

static Bytes u32(uint32_t v) {
  return Bytes{static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
               static_cast<uint8_t>(v >> 24)};
}

static bool write_seed(const std::string& dir, const std::string& name, uint8_t scene, const Bytes& stream) {
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.put(static_cast<char>(scene));
  f.write(reinterpret_cast<const char*>(stream.data()), static_cast<std::streamsize>(stream.size()));
  return static_cast<bool>(f);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s protocol_vectors.tsv OUT_DIR\n", argv[0]);
    return 2;
  }
  std::string dir = argv[2];
  std::ifstream tsv(argv[1]);
  std::vector<std::pair<std::string, Bytes>> seeds;
  Bytes looped_back;  // the device's own frames: not commands
  std::string line;
  while (std::getline(tsv, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, body, wire;
    std::getline(fields, name, '\t');
    std::getline(fields, body, '\t');
    std::getline(fields, wire, '\t');
    Bytes b = from_hex(body), w = from_hex(wire);
    if (b.size() > 1 && b[1] == twitch::FRAME_COMMAND) {
      seeds.push_back({"vector_" + name, w});
    } else if (looped_back.size() < 300) {
      looped_back.insert(looped_back.end(), w.begin(), w.end());
    }
  }
  if (seeds.empty()) {
    std::fprintf(stderr, "no command vectors in %s\n", argv[1]);
    return 1;
  }
  uint16_t seq = 100;
  // The conversion chain has three tiers (firmware/README.md): A0 x8, A1,
  // A2 x4 up to 1 kHz; A0 x4, A1, A2 x2 up to 2 kHz; each pin once above.
  // Each tier's slowest and fastest rate.
  seeds.push_back({"rate_100", command(seq++, twitch::OP_SET_RATE, u32(100))});
  seeds.push_back({"rate_1000", command(seq++, twitch::OP_SET_RATE, u32(1000))});
  seeds.push_back({"rate_1250", command(seq++, twitch::OP_SET_RATE, u32(1250))});
  seeds.push_back({"rate_2000", command(seq++, twitch::OP_SET_RATE, u32(2000))});
  seeds.push_back({"rate_2500", command(seq++, twitch::OP_SET_RATE, u32(2500))});
  seeds.push_back({"rate_4000", command(seq++, twitch::OP_SET_RATE, u32(4000))});
  seeds.push_back({"rate_3200", command(seq++, twitch::OP_SET_RATE, u32(3200))});
  seeds.push_back({"rate_5000_bad", command(seq++, twitch::OP_SET_RATE, u32(5000))});
  seeds.push_back({"rate_999_bad", command(seq++, twitch::OP_SET_RATE, u32(999))});
  seeds.push_back({"rate_0_bad", command(seq++, twitch::OP_SET_RATE, u32(0))});
  seeds.push_back({"test_signal_off", command(seq++, twitch::OP_TEST_SIGNAL, Bytes{0})});
  seeds.push_back({"test_signal_2_bad", command(seq++, twitch::OP_TEST_SIGNAL, Bytes{2})});
  seeds.push_back({"start_with_arg", command(seq++, twitch::OP_START, Bytes{1})});
  seeds.push_back({"ping_9_bytes", command(seq++, twitch::OP_PING, Bytes(9, 0x5A))});
  seeds.push_back({"unknown_opcode", command(seq++, 0x42, Bytes{})});
  seeds.push_back({"overlong_piece", Bytes(40, 0x33)});
  seeds.back().second.push_back(0);
  seeds.push_back({"looped_back", looped_back});

  Bytes session;  // stop, start, rate changes, test signal, ping, status
  for (const Bytes& c : {command(1, twitch::OP_TEST_SIGNAL, Bytes{1}), command(2, twitch::OP_SET_RATE, u32(4000)),
                         command(3, twitch::OP_STOP, Bytes{}), command(4, twitch::OP_SET_RATE, u32(250)),
                         command(5, twitch::OP_START, Bytes{}), command(6, twitch::OP_PING, Bytes(8, 0xA5)),
                         command(7, twitch::OP_STATUS, Bytes{}), command(8, twitch::OP_HELLO, Bytes{})}) {
    session.insert(session.end(), c.begin(), c.end());
    session.push_back(0);  // idle filler
  }

  // Every tier in one input, from the boot's 1 kHz: a byte per pass of
  // loop() and 10 ms after each, so each rate runs ~100 ms and DATA of real
  // ADC samples goes out at each (scene 0x28).
  Bytes tiers;
  uint16_t tseq = 200;
  for (uint32_t rate : {2000u, 4000u, 1250u, 100u, 2500u, 800u, 1000u}) {
    Bytes c = command(tseq++, twitch::OP_SET_RATE, u32(rate));
    tiers.insert(tiers.end(), c.begin(), c.end());
  }

  bool ok = true;
  size_t n_seeds = seeds.size() + 1;
  for (const auto& s : seeds) ok &= write_seed(dir, s.first, 0x00, s.second);
  ok &= write_seed(dir, "rate_every_tier", 0x28, tiers);
  // Good rates again with the whole command in one pass and then 2 ms or
  // 50 ms after each pass, so that DATA of real ADC samples is sent at the
  // new rate (a frame is 10 samples: 10 ms at 1 kHz, 100 ms at 100 Hz): the
  // conversion chain differs in each tier.
  for (const auto& s : seeds) {
    if (s.first.compare(0, 5, "rate_") != 0 || s.first.find("_bad") != std::string::npos) continue;
    ok &= write_seed(dir, s.first + "_sampled", 0x27, s.second);
    ok &= write_seed(dir, s.first + "_sampled_slowly", 0x37, s.second);
    n_seeds += 2;
  }
  // Scenes: bytes per pass x idle time (bits 3-5) x clock near its wrap x blank EEPROM.
  const uint8_t scenes[] = {0x00, 0x07, 0x1A, 0x2B, 0x35, 0x3C, 0x48, 0x91, 0xE6};
  for (uint8_t scene : scenes) {
    char name[32];
    std::snprintf(name, sizeof name, "session_%02x", scene);
    ok &= write_seed(dir, name, scene, session);
  }
  if (!ok) {
    std::fprintf(stderr, "could not write seeds to %s\n", dir.c_str());
    return 1;
  }
  std::printf("%zu seeds in %s\n", n_seeds + sizeof scenes, dir.c_str());
  return 0;
}
