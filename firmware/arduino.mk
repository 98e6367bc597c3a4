# arduino-mk settings for the sketch in twitch_sensor/; firmware/Makefile runs
# it as `make -C twitch_sensor -f ../arduino.mk BOARD_TAG=uno OBJDIR=...`.
ARDUINO_DIR   = /usr/share/arduino
ARDMK_DIR     = /usr/share/arduino
AVR_TOOLS_DIR = /usr
BOARD_TAG    ?= uno
ARDUINO_LIBS  =
TARGET        = twitch_sensor
# Debian's gcc-avr 5.4 lacks DECIMAL_DIG, which the core's WString.cpp needs.
CPPFLAGS     += -DDECIMAL_DIG=9
include /usr/share/arduino/Arduino.mk
