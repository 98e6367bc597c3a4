// Host stand-in for avr-libc's <avr/eeprom.h>: the ATmega328P's 1 KB EEPROM
// as an array (the harness sets it blank or programmed before each input).
#ifndef FAKE_AVR_EEPROM_H
#define FAKE_AVR_EEPROM_H

#include <stdint.h>

#include <cstdlib>

static uint8_t fake_eeprom[1024];

inline uint8_t* fake_eeprom_cell(const uint8_t* address) {
  uintptr_t a = reinterpret_cast<uintptr_t>(address);
  if (a >= sizeof fake_eeprom) std::abort();  // past the end of the real EEPROM
  return &fake_eeprom[a];
}
inline uint8_t eeprom_read_byte(const uint8_t* address) { return *fake_eeprom_cell(address); }
inline void eeprom_update_byte(uint8_t* address, uint8_t value) { *fake_eeprom_cell(address) = value; }

#endif  // FAKE_AVR_EEPROM_H
