#!/usr/bin/env bash
# Installs the Debian packages that build the firmware and run its tests:
# the AVR toolchain + Arduino core + arduino-mk (firmware/Makefile), g++ (host
# tests of the C++ core) and simavr (firmware-in-the-loop test).
# Idempotent and fast when everything is there: dpkg -s decides, apt runs only
# for what is missing, and 'apt-get update' at most once.
set -euo pipefail

packages=(gcc-avr binutils-avr avr-libc arduino-core-avr arduino-mk
          simavr libsimavr-dev libelf-dev pkg-config gcc g++ make)

"$(dirname "$0")/apt-ensure.sh" "firmware tools" "${packages[@]}"
