// Single-producer single-consumer ring buffer: the sampling interrupt pushes,
// loop() pops. No locks: each index is written by one side only, and each is
// one byte, which AVR (8-bit) and ESP32 both load and store atomically.
#ifndef TWITCH_SAMPLE_RING_H
#define TWITCH_SAMPLE_RING_H

#include <stdint.h>

namespace twitch {

// N must be a power of two <= 128: head and tail are free-running uint8_t
// counters, so head - tail (mod 256) is the fill level even when they wrap.
template <typename T, uint8_t N>
class SampleRing {
  static_assert(N >= 2 && N <= 128 && (N & (N - 1)) == 0, "N: a power of two, 2..128");

 public:
  SampleRing() : head_(0), tail_(0), overflows_(0) {}

  // Producer (ISR). Returns false, and counts an overflow, when full: the
  // newest sample is the one dropped, so what is queued stays contiguous.
  bool push(const T& item) {
    uint8_t head = head_;  // only we write head_
    if (static_cast<uint8_t>(head - load_acquire(&tail_)) >= N) {
      overflows_ = overflows_ + 1;
      return false;
    }
    slots_[head & (N - 1)] = item;
    store_release(&head_, static_cast<uint8_t>(head + 1));  // publish after the copy
    return true;
  }

  // Producer: a sample that could not even be taken (the ADC was still busy
  // with the previous one) is an overflow too.
  void drop() { overflows_ = overflows_ + 1; }

  // Consumer (loop). The oldest item, or nullptr when empty; valid until pop().
  const T* front() const {
    uint8_t tail = tail_;
    if (load_acquire(&head_) == tail) return nullptr;
    return &slots_[tail & (N - 1)];
  }
  // Consumer: the k-th oldest item (k < size()).
  const T* peek(uint8_t k) const { return &slots_[static_cast<uint8_t>(tail_ + k) & (N - 1)]; }
  void pop() { store_release(&tail_, static_cast<uint8_t>(tail_ + 1)); }

  // Consumer: items queued now (more may arrive at any moment).
  uint8_t size() const { return static_cast<uint8_t>(load_acquire(&head_) - tail_); }

  // Consumer: drop everything queued (STOP, rate change). Safe against a
  // concurrent push: we only move tail up to a head we have seen.
  void clear() { store_release(&tail_, load_acquire(&head_)); }

  // Samples dropped because the ring was full, since boot. A 32-bit value is
  // not atomic on AVR, so read until two reads agree (the ISR increments it
  // at most once per sample period, far slower than this loop).
  uint32_t overflows() const {
    uint32_t a, b;
    do {
      a = overflows_;
      b = overflows_;
    } while (a != b);
    return a;
  }

  static uint8_t capacity() { return N; }

 private:
  static uint8_t load_acquire(const volatile uint8_t* p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
  static void store_release(volatile uint8_t* p, uint8_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }

  T slots_[N];
  volatile uint8_t head_;  // written by the producer only
  volatile uint8_t tail_;  // written by the consumer only
  volatile uint32_t overflows_;
};

}  // namespace twitch

#endif  // TWITCH_SAMPLE_RING_H
