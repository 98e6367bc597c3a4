#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser tests (tests/browser):
# Playwright drives /usr/bin/chromium through executable_path and never
# downloads a browser of its own. The Playwright driver itself comes from PyPI
# with the test extra (scripts/python-env.sh test).
# Idempotent and fast when Chromium is there: dpkg -s decides, apt runs only if
# it is missing, as root or through sudo.
set -euo pipefail

packages=(chromium)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "== installing the browser for the dashboard tests: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
as_root apt-get update -qq
as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
