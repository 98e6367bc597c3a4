// Arduino Uno / Nano (ATmega328P at 16 MHz): Timer1 paces the sampling, the
// ADC interrupt walks the channels, USB serial at 500000 baud.
//
// Pins: A0 = MyoWare RAW, A1 = MyoWare ENV (optional: floats if unwired),
// A2 = FSR divider (FSR from 5V to A2, 10 kOhm from A2 to GND).
// Uses Timer1, so PWM on pins 9 and 10 and the Servo library are unavailable.
//
// Timing: ADC clock 250 kHz, 52 us a conversion. Up to 2 kHz a sample is
// A0 four times back to back, then A1, then A2: 6 conversions, 312 us of the
// 500 us period at 2 kHz. Above 2 kHz only three conversions fit (156 us of
// 250 us at 4 kHz), so A0 is converted once.
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
// RAW is the sum of RAW_OVERSAMPLE conversions of A0 (Atmel AVR121,
// "Enhancing ADC resolution by oversampling": 4^n conversions for n more
// bits), so it is declared 12 bits. At 5 V one 10-bit code is 24 uV at the
// skin, more than the EMG's own noise, so quantization dominated the in-band
// noise; with the ADC's own ~0.3 LSB of noise as dither, four conversions
// halve it (on the daemon's simulator the twitch F1 of 10-bit sessions went
// from ~0.8 to ~0.95). Above OVERSAMPLE_MAX_HZ the one conversion is sent
// times four, so the channel's scale never changes with the rate (and there
// is no gain in resolution there). The top is 4092, not 4095: the host's
// counts / 4095 x 5000 mV reads 0.07 % low, far below the tolerance of the
// reference itself (USB's 5 V is 4.75-5.25 V) and of the MyoWare's gain.
const uint8_t RAW_OVERSAMPLE = 4;
const uint8_t RAW_BITS = 12;
static_assert(1 << (RAW_BITS - ADC_BITS) == RAW_OVERSAMPLE, "RAW_BITS must span the sum of the conversions");
const uint32_t OVERSAMPLE_MAX_HZ = 2000;
const uint16_t VREF_MV = 5000;  // AVcc reference = the FSR divider's supply
const uint32_t DEFAULT_RATE_HZ = 1000;
const uint32_t LINK_BAUD = 500000;  // exact at 16 MHz with U2X
const uint8_t ADC_CHANNELS[3] = {0, 1, 2};  // raw, env, fsr: A0, A1, A2
// Timer1 ticks at F_CPU / 8 = 2 MHz; only rates that divide it exactly are
// accepted, so the host's sample_index -> time mapping never drifts.
const uint32_t TIMER1_HZ = F_CPU / 8;
// On simavr (tests/firmware/test_firmware_rates.py) 30 s at 2 kHz (six
// conversions a sample) and at 4 kHz (three) lose no sample. The six take
// 320-400 us with their ISRs (enough at 2.5 kHz, not at 3125 Hz), so 2 kHz
// has room; 5 kHz fails even with three (156 us plus the ISRs in 200 us).
// At 4 kHz the limit is loop() instead: a build that busy-waits 100 us more
// per DATA frame (2.5 ms) overflows the ring (50 us does not), so keep the
// data path lean.
const uint32_t MIN_RATE_HZ = 100, MAX_RATE_HZ = 4000;

inline bool board_rate_ok(uint32_t rate) {
  return rate >= MIN_RATE_HZ && rate <= MAX_RATE_HZ && TIMER1_HZ % rate == 0;
}

// State of the conversion chain, touched by the two ISRs (and by
// sampling_start/stop only while Timer1 is off).
static volatile uint32_t avr_next_index;
static volatile uint8_t avr_channel;
static volatile uint8_t avr_raw_left;  // conversions of A0 still to come in this sample
static volatile bool avr_busy;
static uint8_t avr_raw_repeat;  // conversions of A0 after the first: set by sampling_start()
static Sample avr_sample;

// Every sample period: timestamp the sample and start its first conversion.
// The ADC interrupt does the rest, so the CPU is free while converting
// (analogRead() would block for ~6 x 104 us).
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
  avr_sample.v[0] = 0;
  avr_channel = 0;
  avr_raw_left = avr_raw_repeat;
  ADMUX = _BV(REFS0) | ADC_CHANNELS[0];
  ADCSRA |= _BV(ADSC);
}

ISR(ADC_vect) {
  uint8_t c = avr_channel;
  uint16_t v = ADC;
  if (c == 0) {
    v = static_cast<uint16_t>(avr_sample.v[0] + v);
    uint8_t left = avr_raw_left;
    if (left != 0) {  // A0 again: ADMUX stays
      avr_raw_left = static_cast<uint8_t>(left - 1);
      avr_sample.v[0] = v;
      ADCSRA |= _BV(ADSC);
      return;
    }
    if (avr_raw_repeat == 0) v = static_cast<uint16_t>(v * RAW_OVERSAMPLE);  // one conversion, same scale
  }
  avr_sample.v[c] = v;
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
  }  // let a running chain finish (at most ~400 us)
}

inline void sampling_start(uint32_t rate, uint32_t first_index) {
  uint8_t sreg = SREG;
  cli();
  avr_next_index = first_index;
  avr_busy = false;
  avr_raw_repeat = static_cast<uint8_t>(rate <= OVERSAMPLE_MAX_HZ ? RAW_OVERSAMPLE - 1 : 0);
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
  // ADC clock 16 MHz / 64 = 250 kHz (timing: top of this file), close to
  // the ADC's full-resolution range (<= 200 kHz; 250 kHz costs well under 1 LSB).
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
