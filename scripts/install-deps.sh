#!/usr/bin/env bash
# Installs the Debian packages Pnyx needs to build and test (only those missing). Needs a Swift 6 toolchain
# on PATH (https://swift.org/install); everything else comes from Debian.
set -euo pipefail
packages=(libsqlite3-dev curl openssl ca-certificates)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "swift not found: install a Swift 6 toolchain first" >&2; exit 1; }
