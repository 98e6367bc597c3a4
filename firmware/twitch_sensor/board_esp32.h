// ESP32 DevKit (Arduino-ESP32 core 2.0.x, ESP-IDF 4.4 ADC API). UNTESTED:
// no ESP32 toolchain in this project's CI; keep this file small and change it
// only with a board on the desk.
//
// Pins (ADC1 only: ADC2 is unusable while the radio runs):
//   GPIO36 (VP, ADC1_CH0) = MyoWare RAW, GPIO39 (VN, ADC1_CH3) = ENV,
//   GPIO34 (ADC1_CH6) = FSR divider (FSR from 3V3 to GPIO34, 10 kOhm to GND).
// GPIO27 = the optional mark button (to GND, internal pull-up: pressed reads low).
// Links: USB serial at 921600 baud, and BLE Nordic UART service (the same
// byte stream, in notifications of up to MTU - 3 bytes), advertised under
// the device id. Both carry every frame; commands are taken from either.
#ifndef TWITCH_BOARD_ESP32_H
#define TWITCH_BOARD_ESP32_H

#include <Arduino.h>
#include <BLE2902.h>
#include <BLEDevice.h>
#include <BLEServer.h>
#include <driver/adc.h>
#include <esp_adc_cal.h>
#include <esp_timer.h>

#define BOARD_NAME "esp32"

const uint8_t ADC_BITS = 12;
// One conversion a sample for every channel.
const uint8_t RAW_BITS = ADC_BITS, ENV_BITS = ADC_BITS, FSR_BITS = ADC_BITS;
// Samples are eFuse-calibrated millivolts rescaled to 0..4095 over 0..3300 mV,
// so the host's count x vref / 4095 gives calibrated volts. At 11 dB the ADC is
// only accurate from ~150 to ~2450 mV: MyoWare RAW (centred on 1.65 V) fits
// unless the EMG swings beyond +-0.8 V.
const uint16_t VREF_MV = 3300;
const uint32_t DEFAULT_RATE_HZ = 2000;
const uint32_t LINK_BAUD = 921600;
const adc1_channel_t ADC_CHANNELS[3] = {ADC1_CHANNEL_0, ADC1_CHANNEL_3, ADC1_CHANNEL_6};
const uint32_t MIN_RATE_HZ = 250, MAX_RATE_HZ = 4000;
// The mark button: GPIO27 has an internal pull-up (GPIO34-39 have none), is
// no strapping pin (0, 2, 5, 12, 15 are) and no ADC1 pin the sensors might
// want; as a digital input it is free while the radio runs.
const uint8_t BUTTON_PIN = 27;

inline bool board_rate_ok(uint32_t rate) {
  // esp_timer periods are whole microseconds: only exact rates, so no drift.
  return rate >= MIN_RATE_HZ && rate <= MAX_RATE_HZ && 1000000UL % rate == 0;
}

static esp_adc_cal_characteristics_t esp_cal;
static esp_timer_handle_t esp_sampler;
static volatile uint32_t esp_next_index;

// Runs in the esp_timer task (not an ISR: the ADC driver may not be called
// from one), woken by the hardware timer every sample period.
static void esp_take_sample(void*) {
  Sample s;
  s.index = esp_next_index;
  esp_next_index = s.index + 1;
  s.t_us = static_cast<uint32_t>(esp_timer_get_time());
  for (uint8_t c = 0; c < 3; ++c) {
    uint32_t mv = esp_adc_cal_raw_to_voltage(static_cast<uint32_t>(adc1_get_raw(ADC_CHANNELS[c])), &esp_cal);
    uint32_t counts = mv * 4095UL / VREF_MV;
    s.v[c] = static_cast<uint16_t>(counts > 4095 ? 4095 : counts);
  }
  sample_ring.push(s);  // the ring is safe across cores (acquire/release)
}

inline void sampling_stop() {
  esp_timer_stop(esp_sampler);  // an error if it was not running: harmless
  vTaskDelay(2);  // let a callback already running (~100 us) finish before the ring is cleared
}

inline void sampling_start(uint32_t rate, uint32_t first_index) {
  esp_next_index = first_index;
  esp_timer_start_periodic(esp_sampler, 1000000UL / rate);
}

inline uint32_t board_micros() { return static_cast<uint32_t>(esp_timer_get_time()); }

inline bool board_button_pressed() { return digitalRead(BUTTON_PIN) == LOW; }

// For a MARK: the last sample taken and the clock now. The index is read
// first: a sample being taken right then may be stamped a few microseconds
// after `now_us`, never more.
inline void board_sample_clock(uint32_t& last_index, uint32_t& now_us) {
  last_index = esp_next_index - 1;
  now_us = board_micros();
}

// The eFuse MAC is unique and fixed: its device-specific 24 bits are the id.
inline void board_device_id(char out[10]) {
  uint32_t id = static_cast<uint32_t>(ESP.getEfuseMac() >> 24) & 0xFFFFFFUL;
  twitch::format_device_id(id, out);
}

// ---- BLE Nordic UART service
static BLECharacteristic* esp_tx;
static volatile bool esp_connected;
static volatile uint16_t esp_chunk = 20;  // MTU 23 - 3 until the central asks for more
static twitch::SampleRing<uint8_t, 128> esp_ble_rx;  // written by the BLE task, read by loop()

class EspServerCallbacks : public BLEServerCallbacks {
  void onConnect(BLEServer*) override { esp_connected = true; }
  void onDisconnect(BLEServer*) override {
    esp_connected = false;
    esp_chunk = 20;
    BLEDevice::startAdvertising();
  }
  void onMtuChanged(BLEServer*, esp_ble_gatts_cb_param_t* param) override {
    esp_chunk = static_cast<uint16_t>(param->mtu.mtu - 3);
  }
};

class EspRxCallbacks : public BLECharacteristicCallbacks {
  void onWrite(BLECharacteristic* c) override {
    const uint8_t* data = c->getData();
    for (size_t i = 0; i < c->getLength(); ++i) esp_ble_rx.push(data[i]);  // drops when full
  }
};

inline void esp_ble_begin(const char* name) {
  BLEDevice::init(name);
  BLEDevice::setMTU(247);
  BLEServer* server = BLEDevice::createServer();
  server->setCallbacks(new EspServerCallbacks());  // lives forever: set up once at boot
  BLEService* nus = server->createService("6E400001-B5A3-F393-E0A9-E50E24DCCA9E");
  esp_tx = nus->createCharacteristic("6E400003-B5A3-F393-E0A9-E50E24DCCA9E", BLECharacteristic::PROPERTY_NOTIFY);
  esp_tx->addDescriptor(new BLE2902());
  BLECharacteristic* rx = nus->createCharacteristic(
      "6E400002-B5A3-F393-E0A9-E50E24DCCA9E",
      BLECharacteristic::PROPERTY_WRITE | BLECharacteristic::PROPERTY_WRITE_NR);
  rx->setCallbacks(new EspRxCallbacks());
  nus->start();
  BLEAdvertising* adv = BLEDevice::getAdvertising();
  adv->addServiceUUID("6E400001-B5A3-F393-E0A9-E50E24DCCA9E");
  BLEDevice::startAdvertising();
}

inline void board_begin() {
  Serial.begin(LINK_BAUD);
  pinMode(BUTTON_PIN, INPUT_PULLUP);
  adc1_config_width(ADC_WIDTH_BIT_12);
  for (uint8_t c = 0; c < 3; ++c) adc1_config_channel_atten(ADC_CHANNELS[c], ADC_ATTEN_DB_11);
  esp_adc_cal_characterize(ADC_UNIT_1, ADC_ATTEN_DB_11, ADC_WIDTH_BIT_12, 1100, &esp_cal);
  esp_timer_create_args_t args = {};
  args.callback = esp_take_sample;
  args.name = "twitch_sample";
  esp_timer_create(&args, &esp_sampler);
  char name[10];
  board_device_id(name);
  esp_ble_begin(name);
}

inline void link_write(const uint8_t* data, size_t n) {
  Serial.write(data, n);
  if (!esp_connected) return;
  // Frames may span notifications; the host reassembles at the 0x00 delimiters.
  for (size_t at = 0; at < n; at += esp_chunk) {
    size_t len = n - at < esp_chunk ? n - at : esp_chunk;
    esp_tx->setValue(const_cast<uint8_t*>(data + at), len);
    esp_tx->notify();
  }
}

inline int link_read() {
  int b = Serial.read();
  if (b >= 0) return b;
  const uint8_t* p = esp_ble_rx.front();
  if (p == nullptr) return -1;
  b = *p;
  esp_ble_rx.pop();
  return b;
}

#endif  // TWITCH_BOARD_ESP32_H
