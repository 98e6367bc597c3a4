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

}  // namespace twitch

#endif  // TWITCH_TEST_SIGNAL_H
