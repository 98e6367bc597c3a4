#!/usr/bin/env bash
# Creates .venv with Python >= 3.11 and installs twitchd into it (editable),
# with the extras named in $1 (e.g. "test"). Installs Debian's python3-venv
# when the interpreter cannot make a venv, as on a fresh Debian/Ubuntu.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv=.venv

pick_python() {
  for candidate in "${PYTHON:-}" python3 python3.13 python3.12 python3.11; do
    [[ -n "$candidate" ]] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

py=$(pick_python) || { echo "twitchd needs Python 3.11 or newer: install python3 (>= 3.11) first" >&2; exit 1; }

if [[ ! -x $venv/bin/python ]]; then
  if ! "$py" -m venv "$venv" 2>/dev/null; then
    echo "== installing Debian's venv support for $py" >&2
    rm -rf "$venv"
    as_root apt-get update -qq
    as_root apt-get install -y -qq python3-venv python3-pip >/dev/null
    "$py" -m venv "$venv"
  fi
fi

# Reinstall only when pyproject.toml or the wanted extras change.
stamp="$venv/.installed-$(cat pyproject.toml <(echo "$extras") | sha1sum | cut -c1-12)"
if [[ ! -f $stamp ]]; then
  echo "== installing twitchd${extras:+ with [$extras]} into $venv" >&2
  # (this machine's pip config names local mirrors that may be absent: hide that noise)
  quiet() { "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2); }
  quiet "$venv/bin/python" -m pip install -q --upgrade pip
  quiet "$venv/bin/python" -m pip install -q -e ".${extras:+[$extras]}"
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi
