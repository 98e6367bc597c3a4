// twitch_sensor: streams MyoWare 2.0 EMG (RAW, ENV) and FSR force samples to
// twitchd over wire protocol v1 (docs/protocol.md).
//
// Boards: Arduino Uno / Nano (ATmega328P, 16 MHz, USB serial at 500000 baud)
// and ESP32 DevKit (USB serial at 921600 baud + BLE Nordic UART service).
// Pins: see board_avr.h / board_esp32.h and hardware/README.md.
//
// Shape: a timer interrupt takes every sample (never delay() or polling), so
// the rate is exact and does not depend on what loop() is doing; samples go
// through a lock-free ring buffer to loop(), which frames and sends them and
// answers commands. A full ring drops the newest sample and counts it in
// STATUS.overflows; dropped samples keep their sample_index, so the host sees
// the gap too.

#include "twitch_device.h"

void setup() { app::setup(); }

void loop() { app::loop(); }
