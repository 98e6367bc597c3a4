// Arduino Uno / Nano (ATmega328P at 16 MHz): Timer1 paces the sampling, the
// ADC interrupt walks the channels, USB serial at 500000 baud.
//
// Pins: A0 = MyoWare RAW, A1 = MyoWare ENV (optional: floats if unwired),
// A2 = FSR divider (FSR from 5V to A2, 10 kOhm from A2 to GND), D2 = the
// optional mark button (to GND, internal pull-up: pressed reads low).
// Uses Timer1, so PWM on pins 9 and 10 and the Servo library are unavailable.
//
// Timing: ADC clock 250 kHz, 52 us a conversion, 55 us with its interrupt
// (on simavr). A sample converts each pin as many times as its rate leaves
// room for (CONVERSION_TIERS below): 13 conversions up to 1 kHz, 7 up to
// 2 kHz, 3 above.
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
// 5 kHz fails even with three conversions a sample (156 us plus the ISRs in
// 200 us). At 4 kHz the limit is loop() instead: a build that busy-waits
// 100 us more per DATA frame (2.5 ms) overflows the ring (50 us does not), so
// keep the data path lean.
const uint32_t MIN_RATE_HZ = 100, MAX_RATE_HZ = 4000;

inline bool board_rate_ok(uint32_t rate) {
  return rate >= MIN_RATE_HZ && rate <= MAX_RATE_HZ && TIMER1_HZ % rate == 0;
}

// Oversampling (Atmel AVR121, "Enhancing ADC resolution by oversampling"):
// a channel is the sum of several conversions of its pin, back to back, with
// the ADC's own ~0.3 LSB of noise as dither. The sum is sent whole, never
// shifted down, and a tier that converts a pin fewer times sends its sum
// multiplied up to the same full scale, so every channel's scale (counts per
// volt) is the same at every rate; only the resolution below one 10-bit code
// changes. AVR121 gains one bit for every four conversions (noise down by
// sqrt(n) for n), so the bits a channel declares are the span of its largest
// sum, not its effective resolution: 8 conversions span 13 bits (0..8184)
// and gain a bit and a half, half a bit more than 4.
// - raw (A0): at 5 V one 10-bit code is 24 uV at the skin, more than the EMG's
//   own noise, so quantization dominates its in-band noise (on the daemon's
//   simulator four dithered conversions took the twitch F1 of 10-bit sessions
//   from ~0.8 to ~0.95).
// - env (A1): the MyoWare's smoothed envelope; one conversion.
// - fsr (A2): one 10-bit code is up to 0.27 N of a firm press, and an LTR's
//   force bump is 0.2-0.8 N.
// The tops are 8184 and 4092, not 8191 and 4095: the host's
// counts / (2^bits - 1) x 5000 mV reads 0.09 % and 0.07 % low, far below the
// tolerance of the reference itself (USB's 5 V is 4.75-5.25 V), of the
// MyoWare's gain and of the FSR divider.
struct ConversionTier {
  uint16_t max_hz;         // for the rates up to this one
  uint8_t conversions[3];  // of A0, A1, A2 in each sample, in that order
};
// Each tier's chain, ISRs included, must end well inside its sample period.
// On simavr (tests/firmware/test_firmware_rates.py, 30 s at each tier's
// fastest rate) a chain took 55 us a conversion plus 23 us (Timer1's ISR,
// the last push): 737 / 407 / 188 us on average, 772 / 441 / 212 us at most
// (probably where another interrupt held an ISR up), of 1000 / 500 / 250 us. A real ADC also
// waits up to one ADC clock (4 us) to start each conversion: 824 / 469 /
// 224 us at worst.
constexpr ConversionTier CONVERSION_TIERS[] = {
    {1000, {8, 1, 4}},         // 13 conversions
    {2000, {4, 1, 2}},         // 7
    {MAX_RATE_HZ, {1, 1, 1}},  // 3
};
constexpr uint8_t N_TIERS = sizeof CONVERSION_TIERS / sizeof CONVERSION_TIERS[0];

// The most conversions of channel c in any tier from t on: what its value is
// the sum of, at full scale.
constexpr uint8_t most_conversions(uint8_t c, uint8_t t = 0) {
  return t == N_TIERS ? 1
                      : (CONVERSION_TIERS[t].conversions[c] > most_conversions(c, t + 1)
                             ? CONVERSION_TIERS[t].conversions[c]
                             : most_conversions(c, t + 1));
}
constexpr uint8_t CHANNEL_SUM[3] = {most_conversions(0), most_conversions(1), most_conversions(2)};
const uint8_t RAW_BITS = 13;  // 8 x 1023 = 8184
const uint8_t ENV_BITS = 10;  // 1 x 1023
const uint8_t FSR_BITS = 12;  // 4 x 1023 = 4092
static_assert(1 << (RAW_BITS - ADC_BITS) == CHANNEL_SUM[0], "RAW_BITS must span the largest sum of A0");
static_assert(1 << (ENV_BITS - ADC_BITS) == CHANNEL_SUM[1], "ENV_BITS must span the largest sum of A1");
static_assert(1 << (FSR_BITS - ADC_BITS) == CHANNEL_SUM[2], "FSR_BITS must span the largest sum of A2");

// A conversion with its ISR, for the budget below: the 55 us above, up to
// 4 us waiting for the ADC clock, and room for another interrupt to delay
// the ISR. Adding a conversion that does not fit fails to compile.
const uint16_t CONVERSION_BUDGET_US = 65;
constexpr bool tiers_ok(uint8_t t = 0, uint32_t above_hz = 0) {
  return t == N_TIERS
             ? above_hz == MAX_RATE_HZ  // every rate the board takes has a tier
             : CONVERSION_TIERS[t].max_hz > above_hz &&
                   // a sum multiplied up lands exactly on the channel's scale
                   CHANNEL_SUM[0] % CONVERSION_TIERS[t].conversions[0] == 0 &&
                   CHANNEL_SUM[1] % CONVERSION_TIERS[t].conversions[1] == 0 &&
                   CHANNEL_SUM[2] % CONVERSION_TIERS[t].conversions[2] == 0 &&
                   // and the chain fits in the tier's shortest period
                   (CONVERSION_TIERS[t].conversions[0] + CONVERSION_TIERS[t].conversions[1] +
                    CONVERSION_TIERS[t].conversions[2]) * static_cast<uint32_t>(CONVERSION_BUDGET_US) <
                       1000000UL / CONVERSION_TIERS[t].max_hz &&
                   tiers_ok(static_cast<uint8_t>(t + 1), CONVERSION_TIERS[t].max_hz);
}
static_assert(tiers_ok(), "CONVERSION_TIERS: rising rates up to MAX_RATE_HZ, sums that divide, chains that fit");

// State of the conversion chain, touched by the two ISRs (and by
// sampling_start/stop only while Timer1 is off).
static volatile uint32_t avr_next_index;
static volatile uint8_t avr_channel;  // the channel being converted
static volatile uint8_t avr_left;     // conversions of its pin still to come after this one
static volatile uint16_t avr_sum;     // of its conversions so far
static volatile bool avr_busy;
// Set by sampling_start() from the rate's tier: conversions of each channel's
// pin after the first, and what their sum is multiplied by to reach the
// channel's full scale (CHANNEL_SUM / conversions: 1 at the slowest rates).
static uint8_t avr_repeat[3], avr_scale[3];
static Sample avr_sample;

// Every sample period: start the sample's first conversion, then timestamp
// it. The ADC interrupt does the rest, so the CPU is free while converting
// (analogRead() would block for ~13 x 104 us).
ISR(TIMER1_COMPA_vect) {
  uint32_t index = avr_next_index;
  avr_next_index = index + 1;
  if (avr_busy) {  // the previous chain has not finished: lose this one, visibly
    sample_ring.drop();
    return;
  }
  ADMUX = _BV(REFS0) | ADC_CHANNELS[0];
  ADCSRA |= _BV(ADSC);  // first: micros() below takes a few us
  avr_busy = true;
  avr_channel = 0;
  avr_left = avr_repeat[0];
  avr_sum = 0;
  avr_sample.index = index;
  avr_sample.t_us = micros();
}

// One conversion done. The chain is A0 x (avr_repeat[0] + 1), A1 x
// (avr_repeat[1] + 1), A2 x (avr_repeat[2] + 1). The next conversion starts
// before the bookkeeping, so the ISR's own time overlaps it; no loop, no
// division (AVR121 sums; the multiply is the AVR's 2-cycle MUL). The result
// is read first, before ADMUX changes or the next conversion starts: the chip
// would keep it until the next one completes, but simavr converts lazily,
// when ADCL is read.
ISR(ADC_vect) {
  uint16_t v = static_cast<uint16_t>(avr_sum + ADC);
  uint8_t left = avr_left;
  if (left != 0) {  // the same pin again: ADMUX stays
    ADCSRA |= _BV(ADSC);
    avr_sum = v;
    avr_left = static_cast<uint8_t>(left - 1);
    return;
  }
  uint8_t c = avr_channel;
  uint8_t next = static_cast<uint8_t>(c + 1);
  if (next < 3) {
    ADMUX = _BV(REFS0) | ADC_CHANNELS[next];
    ADCSRA |= _BV(ADSC);
  }
  avr_sample.v[c] = static_cast<uint16_t>(v * avr_scale[c]);  // x1, or fewer conversions on the full scale
  if (next < 3) {
    avr_channel = next;
    avr_left = avr_repeat[next];
    avr_sum = 0;
    return;
  }
  avr_busy = false;
  sample_ring.push(avr_sample);  // counts an overflow if the ring is full
}

inline void sampling_stop() {
  TIMSK1 = 0;
  TCCR1B = 0;
  while (avr_busy) {
  }  // let a running chain finish (at most ~1 ms)
}

// The tier of CONVERSION_TIERS for `rate`.
inline const ConversionTier& conversion_tier(uint32_t rate) {
  uint8_t t = 0;
  while (t + 1 < N_TIERS && rate > CONVERSION_TIERS[t].max_hz) ++t;
  return CONVERSION_TIERS[t];
}

inline void sampling_start(uint32_t rate, uint32_t first_index) {
  uint8_t sreg = SREG;
  cli();
  avr_next_index = first_index;
  avr_busy = false;
  const ConversionTier& tier = conversion_tier(rate);
  for (uint8_t c = 0; c < 3; ++c) {
    avr_repeat[c] = static_cast<uint8_t>(tier.conversions[c] - 1);
    avr_scale[c] = static_cast<uint8_t>(CHANNEL_SUM[c] / tier.conversions[c]);
  }
  TCCR1A = 0;
  TCNT1 = 0;
  OCR1A = static_cast<uint16_t>(TIMER1_HZ / rate - 1);
  ADCSRA |= _BV(ADIF) | _BV(ADIE);  // the ADC interrupt walks the channels
  TIFR1 = _BV(OCF1A);
  TCCR1B = _BV(WGM12) | _BV(CS11);  // CTC on OCR1A, clk/8
  TIMSK1 = _BV(OCIE1A);
  SREG = sreg;
}

// The mark button: D2 (PD2), free on an Uno and a Nano (D0/D1 are the
// serial link, A0-A2 the sensors, A3-A5 the id's noise, Timer1 takes the PWM
// of D9/D10). Input with the internal pull-up (20-50 kOhm), the button to
// GND, so pressed reads low and an unwired pin reads released.
inline bool board_button_pressed() { return !(PIND & _BV(PIND2)); }

// For a MARK: the last sample taken (its Timer1 ISR has run, so it was
// stamped no later than now) and micros(), read together with interrupts off
// so that no sample falls between them. Before the first sample of a run, the
// index is the one before it (0xFFFFFFFF after a reset).
inline void board_sample_clock(uint32_t& last_index, uint32_t& now_us) {
  uint8_t sreg = SREG;
  cli();
  last_index = avr_next_index - 1;
  now_us = micros();
  SREG = sreg;
}

inline void board_begin() {
  Serial.begin(LINK_BAUD);
  DDRD &= static_cast<uint8_t>(~_BV(DDD2));  // the mark button: input,
  PORTD |= _BV(PORTD2);                      // pulled up
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
