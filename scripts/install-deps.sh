#!/usr/bin/env bash
# Installs the Debian packages Pnyx needs to build and test (only those missing). Needs a Swift 6 toolchain
# on PATH (https://swift.org/install); everything else comes from Debian.
set -euo pipefail
packages=(libsqlite3-dev libmaxminddb-dev pkg-config curl openssl ca-certificates)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The tests build a small MaxMind-format country database with the PyPI package mmdb-writer.
if ! python3 -c "import mmdb_writer" 2>/dev/null; then
  echo "installing: mmdb-writer (PyPI)" >&2
  python3 -m pip install -q mmdb-writer 2>/dev/null || python3 -m pip install -q --break-system-packages mmdb-writer
fi
command -v swift >/dev/null || { echo "swift not found: install a Swift 6 toolchain first" >&2; exit 1; }
