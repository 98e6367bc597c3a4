#!/usr/bin/env bash
# apt-ensure.sh WHAT PACKAGE...: installs the Debian packages that are missing.
# Shared by the install-*-deps.sh scripts. Idempotent and fast when everything
# is there: dpkg -s decides, and apt runs (as root or through sudo) only for
# what is missing.
set -euo pipefail

what=$1
shift
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "$@"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "== installing $what: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
