#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser tests (tests/browser):
# Playwright drives /usr/bin/chromium through executable_path and never
# downloads a browser of its own. The Playwright driver itself comes from PyPI
# with the test extra (scripts/python-env.sh test).
# Idempotent and fast when Chromium is there: dpkg -s decides, apt runs only if
# it is missing, as root or through sudo.
set -euo pipefail

packages=(chromium)

"$(dirname "$0")/apt-ensure.sh" "the browser for the dashboard tests" "${packages[@]}"
