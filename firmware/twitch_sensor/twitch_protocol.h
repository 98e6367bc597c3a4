// twitchd wire protocol v1 (docs/protocol.md), device side.
//
// Portable C++ (avr-gcc 5.4 and host g++): no heap, no exceptions, no STL,
// fixed buffers owned by the caller. The host tests (firmware/tests/) check
// every frame built here byte for byte against docs/protocol_vectors.tsv.
#ifndef TWITCH_PROTOCOL_H
#define TWITCH_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

namespace twitch {

const uint8_t PROTOCOL_VERSION = 1;
// A body (header + payload + CRC) is at most this long; the Python decoder
// drops anything longer, so we never build one.
const uint16_t MAX_FRAME = 1024;
const uint8_t HEADER_LEN = 4;  // version, type, seq:u16
const uint8_t CRC_LEN = 2;

enum FrameType {
  FRAME_HELLO = 0x01,
  FRAME_DATA = 0x02,
  FRAME_STATUS = 0x03,
  FRAME_PONG = 0x04,
  FRAME_ACK = 0x05,
  FRAME_MARK = 0x06,
  FRAME_COMMAND = 0x10,
};

enum Opcode {
  OP_START = 0x01,
  OP_STOP = 0x02,
  OP_SET_RATE = 0x03,
  OP_HELLO = 0x04,
  OP_TEST_SIGNAL = 0x05,
  OP_PING = 0x06,
  OP_STATUS = 0x07,
};

enum AckCode {
  ACK_OK = 0,
  ACK_UNKNOWN_OPCODE = 1,
  ACK_BAD_ARGUMENT = 2,
  ACK_BAD_LENGTH = 3,
};

const uint8_t STATUS_STREAMING = 0x01;
const uint8_t STATUS_TEST_SIGNAL = 0x02;

// Argument length each opcode must carry, or -1 for an unknown opcode.
inline int8_t opcode_arg_len(uint8_t opcode) {
  switch (opcode) {
    case OP_START: case OP_STOP: case OP_HELLO: case OP_STATUS: return 0;
    case OP_SET_RATE: return 4;
    case OP_TEST_SIGNAL: return 1;
    case OP_PING: return 8;
    default: return -1;
  }
}

// ---------------------------------------------------------------- CRC, COBS

// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR.
// Bitwise rather than a 512-byte table: an Uno has 2 KB of RAM and the link,
// not the CPU, limits the frame rate.
inline uint16_t crc16_update(uint16_t crc, uint8_t byte) {
  crc = static_cast<uint16_t>(crc ^ (byte << 8));
  for (uint8_t bit = 0; bit < 8; ++bit) {
    crc = (crc & 0x8000) ? static_cast<uint16_t>((crc << 1) ^ 0x1021)
                         : static_cast<uint16_t>(crc << 1);
  }
  return crc;
}

inline uint16_t crc16(const uint8_t* data, size_t n) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < n; ++i) crc = crc16_update(crc, data[i]);
  return crc;
}

// Room COBS needs for n input bytes, including the trailing 0x00 delimiter.
inline size_t cobs_wire_size(size_t n) { return n + n / 254 + 2; }

// Encodes in[0..n) into out and appends the 0x00 delimiter; returns the bytes
// written (at most cobs_wire_size(n)). in and out must not overlap.
inline size_t cobs_encode(const uint8_t* in, size_t n, uint8_t* out) {
  size_t code_at = 0;  // where the current block's length byte goes
  size_t o = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; ++i) {
    if (in[i] == 0) {
      out[code_at] = code;
      code_at = o++;
      code = 1;
    } else {
      out[o++] = in[i];
      if (++code == 0xFF) {  // a full block of 254 non-zero bytes
        out[code_at] = code;
        code_at = o++;
        code = 1;
      }
    }
  }
  out[code_at] = code;
  out[o++] = 0x00;
  return o;
}

// Decodes one piece (without its delimiter); returns the decoded length, or
// -1 if the piece is malformed or does not fit in cap bytes. Same rules as
// the Python decoder: no 0x00 inside, no block running past the end.
inline int cobs_decode(const uint8_t* in, size_t n, uint8_t* out, size_t cap) {
  size_t i = 0, o = 0;
  while (i < n) {
    uint8_t code = in[i];
    if (code == 0 || i + code > n) return -1;
    ++i;
    for (uint8_t k = 1; k < code; ++k) {
      if (in[i] == 0 || o >= cap) return -1;
      out[o++] = in[i++];
    }
    if (code != 0xFF && i < n) {
      if (o >= cap) return -1;
      out[o++] = 0;
    }
  }
  return static_cast<int>(o);
}

// ---------------------------------------------------------------- building

// Appends little-endian fields to a caller-owned body buffer. Writing past
// the end sets a sticky error instead of overrunning, and finish() then
// returns 0, so a too-small buffer drops a frame but never corrupts memory.
class FrameWriter {
 public:
  FrameWriter(uint8_t* buf, uint16_t cap) : buf_(buf), cap_(cap), len_(0), bad_(false) {}

  void begin(uint8_t type, uint16_t seq) {
    len_ = 0;
    bad_ = false;
    u8(PROTOCOL_VERSION);
    u8(type);
    u16(seq);
  }
  void u8(uint8_t v) {
    if (len_ >= cap_) { bad_ = true; return; }
    buf_[len_++] = v;
  }
  void u16(uint16_t v) { u8(static_cast<uint8_t>(v)); u8(static_cast<uint8_t>(v >> 8)); }
  void u32(uint32_t v) { u16(static_cast<uint16_t>(v)); u16(static_cast<uint16_t>(v >> 16)); }
  void u64(uint64_t v) { u32(static_cast<uint32_t>(v)); u32(static_cast<uint32_t>(v >> 32)); }
  void str(const char* s) {  // len:u8 then the ASCII bytes
    uint8_t n = 0;
    while (s[n] != '\0' && n < 255) ++n;
    u8(n);
    for (uint8_t i = 0; i < n; ++i) u8(static_cast<uint8_t>(s[i]));
  }
  void bytes(const uint8_t* p, uint8_t n) { for (uint8_t i = 0; i < n; ++i) u8(p[i]); }

  // Appends the CRC; returns the body length, or 0 if anything did not fit.
  uint16_t finish() {
    if (bad_ || len_ + CRC_LEN > MAX_FRAME) return 0;
    u16(crc16(buf_, len_));
    return bad_ ? 0 : len_;
  }
  uint16_t length() const { return len_; }
  const uint8_t* data() const { return buf_; }

 private:
  uint8_t* buf_;
  uint16_t cap_;
  uint16_t len_;
  bool bad_;
};

struct ChannelDesc {
  const char* name;  // "raw", "env" or "fsr"
  uint8_t adc_bits;
  uint16_t vref_mv;  // ADC full scale, also the FSR divider's supply
};

struct DeviceInfo {
  uint8_t fw_major, fw_minor, fw_patch;
  const char* board;
  const char* device_id;  // "TW-" + 6 hex digits
  uint8_t samples_per_frame;
  uint8_t n_channels;
  const ChannelDesc* channels;
};

inline uint16_t build_hello(FrameWriter& w, uint16_t seq, const DeviceInfo& d, uint32_t rate_hz) {
  w.begin(FRAME_HELLO, seq);
  w.u8(d.fw_major); w.u8(d.fw_minor); w.u8(d.fw_patch);
  w.u32(rate_hz);
  w.u8(d.samples_per_frame);
  w.str(d.board);
  w.str(d.device_id);
  w.u8(d.n_channels);
  for (uint8_t c = 0; c < d.n_channels; ++c) {
    w.str(d.channels[c].name);
    w.u8(d.channels[c].adc_bits);
    w.u16(d.channels[c].vref_mv);
  }
  return w.finish();
}

// DATA in two steps so the firmware can copy samples straight out of its
// ring buffer: data_begin(), then n_samples * n_channels w.u16(), then
// w.finish(). build_data() does all three from a sample-major array.
inline void data_begin(FrameWriter& w, uint16_t seq, uint32_t sample_index, uint32_t t0_us,
                       uint8_t n_samples, uint8_t n_channels) {
  w.begin(FRAME_DATA, seq);
  w.u32(sample_index);
  w.u32(t0_us);
  w.u8(n_samples);
  w.u8(n_channels);
}

inline uint16_t build_data(FrameWriter& w, uint16_t seq, uint32_t sample_index, uint32_t t0_us,
                           uint8_t n_samples, uint8_t n_channels, const uint16_t* values) {
  data_begin(w, seq, sample_index, t0_us, n_samples, n_channels);
  for (uint16_t i = 0; i < static_cast<uint16_t>(n_samples) * n_channels; ++i) w.u16(values[i]);
  return w.finish();
}

inline uint16_t build_status(FrameWriter& w, uint16_t seq, uint32_t overflows, uint8_t flags,
                             uint32_t rate_hz) {
  w.begin(FRAME_STATUS, seq);
  w.u32(overflows);
  w.u8(flags);
  w.u32(rate_hz);
  return w.finish();
}

inline uint16_t build_pong(FrameWriter& w, uint16_t seq, uint64_t token, uint32_t device_us) {
  w.begin(FRAME_PONG, seq);
  w.u64(token);
  w.u32(device_us);
  return w.finish();
}

inline uint16_t build_ack(FrameWriter& w, uint16_t seq, uint8_t opcode, uint8_t code) {
  w.begin(FRAME_ACK, seq);
  w.u8(opcode);
  w.u8(code);
  return w.finish();
}

// MARK: the button `button` was pressed (the `count`-th press since boot) at
// device time `device_us`, during sample `sample_index` (the last sample taken
// at or before the press).
inline uint16_t build_mark(FrameWriter& w, uint16_t seq, uint32_t sample_index, uint32_t device_us,
                           uint8_t button, uint16_t count) {
  w.begin(FRAME_MARK, seq);
  w.u32(sample_index);
  w.u32(device_us);
  w.u8(button);
  w.u16(count);
  return w.finish();
}

// Used by the host tests (and a host-side tool could send commands with it).
inline uint16_t build_command(FrameWriter& w, uint16_t seq, uint8_t opcode, const uint8_t* arg,
                              uint8_t arg_len) {
  w.begin(FRAME_COMMAND, seq);
  w.u8(opcode);
  w.bytes(arg, arg_len);
  return w.finish();
}

// Device ids look like "TW-3F2A9C": the board's 24-bit id in hex (docs/protocol.md).
inline void format_device_id(uint32_t id, char out[10]) {
  static const char HEX_DIGITS[] = "0123456789ABCDEF";
  out[0] = 'T';
  out[1] = 'W';
  out[2] = '-';
  for (uint8_t k = 0; k < 6; ++k) out[3 + k] = HEX_DIGITS[(id >> (20 - 4 * k)) & 0xF];
  out[9] = '\0';
}

inline uint32_t read_u32le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline uint64_t read_u64le(const uint8_t* p) {
  return static_cast<uint64_t>(read_u32le(p)) | (static_cast<uint64_t>(read_u32le(p + 4)) << 32);
}

// ---------------------------------------------------------------- decoding

// Host -> device commands, fed one byte at a time from the UART or BLE.
// Bytes collect until a 0x00; then the piece is COBS-decoded and checked
// (CRC, version, type, length). Anything wrong drops just that piece, and the
// next 0x00 starts afresh, so joining mid-stream or a corrupt byte costs at
// most one command. A piece longer than the buffer is dropped whole.
class CommandDecoder {
 public:
  // The longest valid command is PING: 4 + 1 + 8 + 2 = 15 bytes. Room for a
  // few more so that a too-long argument is answered with ACK 3 rather than
  // silently dropped.
  static const uint8_t MAX_BODY = 32;
  static const uint8_t MAX_ENCODED = MAX_BODY + 2;

  enum Result { NOTHING = 0, COMMAND = 1, REJECTED = 2 };

  CommandDecoder() : n_(0), overlong_(false), rejected(0), seq(0), opcode(0), arg_len(0) {}

  // Returns COMMAND when a valid command just completed (see seq, opcode,
  // arg, arg_len), REJECTED when a piece was dropped, else NOTHING.
  Result feed(uint8_t byte) {
    if (byte != 0x00) {
      if (n_ < MAX_ENCODED) {
        enc_[n_++] = byte;
      } else {
        overlong_ = true;  // keep swallowing until the delimiter
      }
      return NOTHING;
    }
    uint8_t n = n_;
    bool overlong = overlong_;
    n_ = 0;
    overlong_ = false;
    if (n == 0 && !overlong) return NOTHING;  // idle filler between frames
    if (overlong) return reject();
    uint8_t body[MAX_BODY];
    int len = cobs_decode(enc_, n, body, sizeof body);
    // header + opcode + CRC at least
    if (len < HEADER_LEN + 1 + CRC_LEN) return reject();
    uint16_t got = static_cast<uint16_t>(body[len - 2] | (body[len - 1] << 8));
    if (crc16(body, static_cast<size_t>(len - CRC_LEN)) != got) return reject();
    if (body[0] != PROTOCOL_VERSION || body[1] != FRAME_COMMAND) return reject();
    seq = static_cast<uint16_t>(body[2] | (body[3] << 8));
    opcode = body[4];
    arg_len = static_cast<uint8_t>(len - HEADER_LEN - 1 - CRC_LEN);
    for (uint8_t i = 0; i < arg_len; ++i) arg[i] = body[5 + i];
    return COMMAND;
  }

 private:
  Result reject() {
    ++rejected;
    return REJECTED;
  }

  uint8_t enc_[MAX_ENCODED];
  uint8_t n_;
  bool overlong_;

 public:
  uint32_t rejected;  // pieces dropped: bad COBS, CRC, version, type or length
  uint16_t seq;
  uint8_t opcode;
  uint8_t arg_len;
  uint8_t arg[MAX_BODY];
};

}  // namespace twitch

#endif  // TWITCH_PROTOCOL_H
