// The protocol's built-in test signal (docs/protocol.md), bit for bit the
// same as twitchd.sim.device.pattern_samples: integer arithmetic only, in
// 32 bits, which holds every intermediate while rate_hz * 2^bits < 2^32
// (e.g. 65 kHz at 16 bits, 1 MHz at 12 bits).
#ifndef TWITCH_TEST_SIGNAL_H
#define TWITCH_TEST_SIGNAL_H

#include <stdint.h>

namespace twitch {

enum ChannelKind { KIND_RAW = 0, KIND_ENV = 1, KIND_FSR = 2 };

// Channel `kind` of sample `i` at `rate_hz` for an ADC of `bits` bits.
inline uint16_t test_signal(uint8_t kind, uint32_t i, uint32_t rate_hz, uint8_t bits) {
  const uint32_t full = (static_cast<uint32_t>(1) << bits) - 1;
  const uint32_t r = rate_hz ? rate_hz : 1;  // never divide by zero
  switch (kind) {
    case KIND_RAW: {  // 100 Hz square wave around mid-scale
      uint32_t half_period = r / 200 ? r / 200 : 1;
      return static_cast<uint16_t>(((i / half_period) % 2 == 0) ? full / 2 + full / 8
                                                                 : full / 2 - full / 8);
    }
    case KIND_ENV:  // 1 Hz sawtooth over the full scale
      return static_cast<uint16_t>((i % r) * full / r);
    default: {  // 0.5 Hz triangle up to half scale
      uint32_t p = i % (2 * r);
      return static_cast<uint16_t>((p < r ? p : 2 * r - p) * (full / 2) / r);
    }
  }
}

// All three channels of sample `i`, each with its own bits (raw, env, fsr),
// exactly as test_signal() gives them, for rates below 2^31. env and fsr share
// i % (2 rate_hz): five 32-bit divisions instead of six, and an AVR spends
// ~40 us on each, for every sample it sends with the test signal on.
inline void test_signal_sample(uint32_t i, uint32_t rate_hz, const uint8_t bits[3], uint16_t out[3]) {
  const uint32_t r = rate_hz ? rate_hz : 1;
  const uint32_t f_raw = (static_cast<uint32_t>(1) << bits[0]) - 1;
  const uint32_t f_env = (static_cast<uint32_t>(1) << bits[1]) - 1;
  const uint32_t f_fsr = (static_cast<uint32_t>(1) << bits[2]) - 1;
  const uint32_t half_period = r / 200 ? r / 200 : 1;
  out[0] = static_cast<uint16_t>(((i / half_period) % 2 == 0) ? f_raw / 2 + f_raw / 8 : f_raw / 2 - f_raw / 8);
  const uint32_t p = i % (2 * r);
  out[1] = static_cast<uint16_t>((p < r ? p : p - r) * f_env / r);  // i % r: 2r is a multiple of r
  out[2] = static_cast<uint16_t>((p < r ? p : 2 * r - p) * (f_fsr / 2) / r);
}

}  // namespace twitch

#endif  // TWITCH_TEST_SIGNAL_H
