// Host stand-in for avr-libc's <avr/interrupt.h>: an ISR is a plain function
// the fuzz harness calls when the simulated interrupt fires.
#ifndef FAKE_AVR_INTERRUPT_H
#define FAKE_AVR_INTERRUPT_H

#include <avr/io.h>

#define ISR(vector) void vector()
void TIMER1_COMPA_vect();
void ADC_vect();

inline void cli() { SREG = static_cast<uint8_t>(SREG & 0x7F); }
inline void sei() { SREG = static_cast<uint8_t>(SREG | 0x80); }

#endif  // FAKE_AVR_INTERRUPT_H
