#!/usr/bin/env bash
# Installs the Debian packages that build the firmware and run its tests:
# the AVR toolchain + Arduino core + arduino-mk (firmware/Makefile), g++ (host
# tests of the C++ core) and simavr (firmware-in-the-loop test).
# Idempotent and fast when everything is there: dpkg -s decides, apt runs only
# for what is missing, and 'apt-get update' at most once.
set -euo pipefail

packages=(gcc-avr binutils-avr avr-libc arduino-core-avr arduino-mk
          simavr libsimavr-dev libelf-dev pkg-config gcc g++ make)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "== installing firmware tools: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
