#!/usr/bin/env bash
# Installs the Debian packages that build the firmware and run its tests:
# the AVR toolchain + Arduino core + arduino-mk (firmware/Makefile), g++ (host
# tests of the C++ core), simavr (firmware-in-the-loop test), and clang with
# its compiler-rt (libFuzzer + ASan/UBSan runtimes) for the command fuzzer
# (make -C firmware fuzz). clang and libclang-rt-dev are Debian's default-version
# metapackages, so the compiler and its runtime always match (14 on bookworm).
# Idempotent and fast when everything is there: dpkg -s decides, apt runs only
# for what is missing, and 'apt-get update' at most once.
set -euo pipefail

packages=(gcc-avr binutils-avr avr-libc arduino-core-avr arduino-mk
          simavr libsimavr-dev libelf-dev pkg-config gcc g++ make
          clang libclang-rt-dev)

"$(dirname "$0")/apt-ensure.sh" "firmware tools" "${packages[@]}"
