// Debouncing the mark button (docs/protocol.md, MARK), in the portable core:
// pure code, fed the pin's level and the time, so the host tests
// (firmware/tests/test_core.cpp) can play it bounce trains.
//
// A mechanical push button does not close cleanly: its contacts bounce,
// making and breaking for a few milliseconds (most tactile switches settle
// within 1-6 ms, the worst ones in about 10 ms). A level only counts once it
// has held for DEBOUNCE_US = 20 ms without a change: twice the bounce of a
// bad switch, and still well under the shortest deliberate press (a quick tap
// holds for 50 ms or more), so every press is seen once and no bounce or
// glitch is taken for one. The wait delays only when the MARK is sent, not the
// time it carries: a press is stamped with the *first* edge of its bounce
// train, the moment the contacts first met, which is 20 ms (plus the bounce)
// before it is recognised.
#ifndef TWITCH_DEBOUNCE_H
#define TWITCH_DEBOUNCE_H

#include <stdint.h>

namespace twitch {

const uint32_t DEBOUNCE_US = 20000;

// One button. update() is called with the pin's level as often as the main
// loop comes round (every few hundred microseconds to a few milliseconds);
// it returns true once for each press: the level going to pressed and then
// holding for DEBOUNCE_US. A held button is one press; a release is no event.
// A bounce train is a run of edges less than DEBOUNCE_US apart: a train that
// ends pressed is one press, stamped with the train's first edge; one that
// ends where it started (a glitch) is nothing. Times are a wrapping 32-bit µs
// clock (micros()); differences are taken modulo 2^32, so the wrap is harmless.
class Debouncer {
 public:
  explicit Debouncer(uint32_t stable_us = DEBOUNCE_US)
      : stable_us_(stable_us), run_since_us_(0), edge_us_(0), edge_index_(0), press_us_(0), press_index_(0),
        presses_(0), level_(false), pressed_(false), train_(false) {}

  // `pressed`: the pin reads the active level now, at device time `now_us`,
  // when `sample_index` was the last sample taken (stored with the first edge).
  bool update(bool pressed, uint32_t now_us, uint32_t sample_index) {
    if (pressed != level_) {  // an edge: a new run of the level starts
      level_ = pressed;
      run_since_us_ = now_us;
      if (!train_ && pressed != pressed_) {  // the first edge away from the debounced level
        train_ = true;
        edge_us_ = now_us;
        edge_index_ = sample_index;
      }
      return false;
    }
    if (!train_ || static_cast<uint32_t>(now_us - run_since_us_) < stable_us_) return false;
    train_ = false;  // the level has held: the train is over
    if (level_ == pressed_) return false;  // it came back: a glitch
    pressed_ = level_;
    if (!pressed_) return false;  // a release
    press_us_ = edge_us_;
    press_index_ = edge_index_;
    presses_ = static_cast<uint16_t>(presses_ + 1);
    return true;
  }

  // The debounced level.
  bool pressed() const { return pressed_; }
  // Of the last press: the time and sample index at its first edge, and the
  // presses since construction (the first is 1; wraps at 65536).
  uint32_t press_us() const { return press_us_; }
  uint32_t press_index() const { return press_index_; }
  uint16_t presses() const { return presses_; }

 private:
  uint32_t stable_us_;
  uint32_t run_since_us_;  // when the level last changed
  uint32_t edge_us_, edge_index_;  // the current train's first edge
  uint32_t press_us_, press_index_;
  uint16_t presses_;
  bool level_;    // the level last read
  bool pressed_;  // the debounced level
  bool train_;    // edges since the level last held for stable_us_
};

}  // namespace twitch

#endif  // TWITCH_DEBOUNCE_H
