// A stand-in for the Arduino core, just enough for board_avr.h on the host:
// the fuzz harness (../fuzz_commands.cpp) runs the Uno firmware's own code
// (twitch_device.h + board_avr.h) with these fakes under it, and drives the
// clock, the serial link, the timer and the ADC interrupts itself.
#ifndef FAKE_ARDUINO_H
#define FAKE_ARDUINO_H

#include <stddef.h>
#include <stdint.h>

#include <avr/io.h>

#ifndef F_CPU
#define F_CPU 16000000UL
#endif

// The harness defines these: micros() is its simulated clock (32 bits and
// wrapping, like the Uno's), Serial its simulated USB serial link.
uint32_t micros();

struct FakeSerial {
  void begin(uint32_t baud);
  size_t write(const uint8_t* data, size_t n);
  int read();  // the next received byte, or -1
};
extern FakeSerial Serial;

#endif  // FAKE_ARDUINO_H
