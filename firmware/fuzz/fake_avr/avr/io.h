// Host stand-in for avr-libc's <avr/io.h> (ATmega328P): the registers
// board_avr.h touches, as plain variables the fuzz harness reads and sets,
// and their bit numbers as in the datasheet.
#ifndef FAKE_AVR_IO_H
#define FAKE_AVR_IO_H

#include <stdint.h>

#define _BV(bit) (1 << (bit))

static volatile uint8_t ADMUX, ADCL, ADCH, DIDR0, SREG;
static volatile uint16_t ADC;

// ADCSRA: a conversion started with ADSC is done by the time anyone looks
// (board_avr.h polls ADSC while it makes the device id). Setting ADSC latches
// ADMUX in `mux`, as the ADC locks its input when a conversion starts: the
// pin converted is the one selected before ADSC, whatever ADMUX says later.
struct FakeAdcsra {
  uint8_t value;
  uint8_t mux;
  FakeAdcsra& operator=(int v) { return set(static_cast<uint8_t>(v)); }
  FakeAdcsra& operator|=(int v) { return set(static_cast<uint8_t>(value | v)); }
  operator uint8_t() { value = static_cast<uint8_t>(value & ~(1 << 6)); return value; }

 private:
  FakeAdcsra& set(uint8_t v) {
    if ((v & (1 << 6)) && !(value & (1 << 6))) mux = ADMUX;
    value = v;
    return *this;
  }
};

static FakeAdcsra ADCSRA;
static volatile uint8_t TCNT0, TCCR1A, TCCR1B, TIFR1, TIMSK1;
static volatile uint8_t DDRD, PORTD, PIND;  // the mark button on PD2
static volatile uint16_t TCNT1, OCR1A;

// ADMUX
#define REFS0 6
// ADCSRA
#define ADEN 7
#define ADSC 6
#define ADIF 4
#define ADIE 3
#define ADPS2 2
#define ADPS1 1
// DIDR0
#define ADC2D 2
#define ADC1D 1
#define ADC0D 0
// TCCR1B
#define WGM12 3
#define CS11 1
// DDRD, PORTD, PIND
#define DDD2 2
#define PORTD2 2
#define PIND2 2
// TIFR1, TIMSK1
#define OCF1A 1
#define OCIE1A 1

#endif  // FAKE_AVR_IO_H
