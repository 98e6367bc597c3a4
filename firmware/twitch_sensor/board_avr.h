// Arduino Uno / Nano (ATmega328P at 16 MHz): Timer1 paces the sampling, the
// ADC interrupt walks the channels, USB serial at 500000 baud.
//
// Pins: A0 = MyoWare RAW, A1 = MyoWare ENV (optional: floats if unwired),
// A2 = FSR divider (FSR from 5V to A2, 10 kOhm from A2 to GND).
// Uses Timer1, so PWM on pins 9 and 10 and the Servo library are unavailable.
#ifndef TWITCH_BOARD_AVR_H
#define TWITCH_BOARD_AVR_H

#include <Arduino.h>
#include <avr/eeprom.h>
#include <avr/interrupt.h>
#include <avr/io.h>

#if defined(ARDUINO_AVR_NANO)
#define BOARD_NAME "nano"
#else
#define BOARD_NAME "uno"
#endif

const uint8_t ADC_BITS = 10;
const uint16_t VREF_MV = 5000;  // AVcc reference = the FSR divider's supply
const uint32_t DEFAULT_RATE_HZ = 1000;
const uint32_t LINK_BAUD = 500000;  // exact at 16 MHz with U2X
const uint8_t ADC_CHANNELS[3] = {0, 1, 2};  // raw, env, fsr: A0, A1, A2
// Timer1 ticks at F_CPU / 8 = 2 MHz; only rates that divide it exactly are
// accepted, so the host's sample_index -> time mapping never drifts.
const uint32_t TIMER1_HZ = F_CPU / 8;
// 4 kHz x 3 channels runs without a lost sample on simavr (30 s); 5 kHz does
// not (three 52 us conversions plus the ISRs no longer fit in 200 us).
const uint32_t MIN_RATE_HZ = 100, MAX_RATE_HZ = 4000;

inline bool board_rate_ok(uint32_t rate) {
  return rate >= MIN_RATE_HZ && rate <= MAX_RATE_HZ && TIMER1_HZ % rate == 0;
}

// State of the conversion chain, touched by the two ISRs (and by
// sampling_start/stop only while Timer1 is off).
static volatile uint32_t avr_next_index;
static volatile uint8_t avr_channel;
static volatile bool avr_busy;
static Sample avr_sample;

// Every sample period: timestamp the sample and start its first conversion.
// The ADC interrupt does the rest, so the CPU is free while converting
// (analogRead() would block for ~3 x 104 us).
ISR(TIMER1_COMPA_vect) {
  uint32_t index = avr_next_index;
  avr_next_index = index + 1;
  if (avr_busy) {  // the previous chain has not finished: lose this one, visibly
    sample_ring.drop();
    return;
  }
  avr_busy = true;
  avr_sample.index = index;
  avr_sample.t_us = micros();
  avr_channel = 0;
  ADMUX = _BV(REFS0) | ADC_CHANNELS[0];
  ADCSRA |= _BV(ADSC);
}

ISR(ADC_vect) {
  uint8_t c = avr_channel;
  avr_sample.v[c] = ADC;
  if (++c < 3) {
    avr_channel = c;
    ADMUX = _BV(REFS0) | ADC_CHANNELS[c];
    ADCSRA |= _BV(ADSC);
    return;
  }
  avr_busy = false;
  sample_ring.push(avr_sample);  // counts an overflow if the ring is full
}

inline void sampling_stop() {
  TIMSK1 = 0;
  TCCR1B = 0;
  while (avr_busy) {
  }  // let a running chain finish (at most ~160 us)
}

inline void sampling_start(uint32_t rate, uint32_t first_index) {
  uint8_t sreg = SREG;
  cli();
  avr_next_index = first_index;
  avr_busy = false;
  TCCR1A = 0;
  TCNT1 = 0;
  OCR1A = static_cast<uint16_t>(TIMER1_HZ / rate - 1);
  ADCSRA |= _BV(ADIF) | _BV(ADIE);  // the ADC interrupt walks the channels
  TIFR1 = _BV(OCF1A);
  TCCR1B = _BV(WGM12) | _BV(CS11);  // CTC on OCR1A, clk/8
  TIMSK1 = _BV(OCIE1A);
  SREG = sreg;
}

inline void board_begin() {
  Serial.begin(LINK_BAUD);
  DIDR0 = _BV(ADC0D) | _BV(ADC1D) | _BV(ADC2D);  // analog pins: no digital input buffer
  // ADC clock 16 MHz / 64 = 250 kHz: 52 us a conversion, 156 us for all three
  // channels, which leaves room up to 4 kHz while keeping the ADC close to
  // its full-resolution range (<= 200 kHz; 250 kHz costs well under 1 LSB).
  // No ADIE yet: board_device_id() polls the ADC; sampling_start() enables it.
  ADCSRA = _BV(ADEN) | _BV(ADPS2) | _BV(ADPS1);
}

inline uint32_t board_micros() { return micros(); }

inline void link_write(const uint8_t* data, size_t n) { Serial.write(data, n); }

inline int link_read() { return Serial.read(); }

// Device id "TW-XXXXXX": 24 bits generated once, from the noise of the
// floating pins A3-A5 and the jitter of Timer0 against the ADC, and kept in
// EEPROM so it never changes for a board.
const int EEPROM_ID_ADDR = 0x3F0;  // away from address 0, where sketches tend to write
const uint8_t EEPROM_ID_MAGIC[2] = {'T', 'W'};

inline uint32_t avr_noise24() {
  uint16_t a = 0xFFFF, b = 0x1D0F;
  for (uint16_t i = 0; i < 512; ++i) {
    ADMUX = _BV(REFS0) | static_cast<uint8_t>(3 + i % 3);
    ADCSRA |= _BV(ADSC);
    while (ADCSRA & _BV(ADSC)) {
    }
    uint8_t lo = ADCL, hi = ADCH;  // ADCL first: reading it locks ADCH
    a = twitch::crc16_update(a, static_cast<uint8_t>(lo ^ TCNT0));
    b = twitch::crc16_update(b, static_cast<uint8_t>(hi ^ lo ^ static_cast<uint8_t>(micros())));
  }
  return (static_cast<uint32_t>(a) << 8 ^ b) & 0xFFFFFFUL;
}

inline void board_device_id(char out[10]) {
  uint8_t* base = reinterpret_cast<uint8_t*>(EEPROM_ID_ADDR);
  uint32_t id;
  if (eeprom_read_byte(base) == EEPROM_ID_MAGIC[0] && eeprom_read_byte(base + 1) == EEPROM_ID_MAGIC[1]) {
    id = static_cast<uint32_t>(eeprom_read_byte(base + 2)) << 16 |
         static_cast<uint32_t>(eeprom_read_byte(base + 3)) << 8 | eeprom_read_byte(base + 4);
  } else {
    id = avr_noise24();
    eeprom_update_byte(base + 2, static_cast<uint8_t>(id >> 16));
    eeprom_update_byte(base + 3, static_cast<uint8_t>(id >> 8));
    eeprom_update_byte(base + 4, static_cast<uint8_t>(id));
    eeprom_update_byte(base, EEPROM_ID_MAGIC[0]);  // magic last: a reset mid-way retries
    eeprom_update_byte(base + 1, EEPROM_ID_MAGIC[1]);
  }
  twitch::format_device_id(id, out);
}

#endif  // TWITCH_BOARD_AVR_H
