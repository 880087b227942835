#!/usr/bin/env bash
# Installs the Debian packages Pnyx needs to build (only those missing); with --tests, also what the tests use:
# headless Chromium and its driver (the challenge is tested in a real browser), PostgreSQL (the fleet tests start a
# throwaway server), zbar-tools (reads the enrolment QR codes back), Selenium, mmdb-writer and aiosmtpd (PyPI).
# Needs a Swift 6 toolchain on PATH (https://swift.org/install); everything else comes from Debian and PyPI.
set -euo pipefail
packages=(libsqlite3-dev libmaxminddb-dev libpcre2-dev modsecurity-crs pkg-config curl openssl ca-certificates)
[ "${1:-}" = "--tests" ] && packages+=(chromium chromium-driver python3-pip postgresql zbar-tools)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ "${1:-}" = "--tests" ]; then
  # mmdb-writer builds a small MaxMind-format country database; Selenium drives Chromium; aiosmtpd is the mail
  # server the alert tests send to.
  for module in mmdb_writer:mmdb-writer selenium:selenium aiosmtpd:aiosmtpd; do
    if ! python3 -c "import ${module%%:*}" 2>/dev/null; then
      echo "installing: ${module##*:} (PyPI)" >&2
      python3 -m pip install -q "${module##*:}" 2>/dev/null || python3 -m pip install -q --break-system-packages "${module##*:}"
    fi
  done
fi
command -v swift >/dev/null || { echo "swift not found: install a Swift 6 toolchain first" >&2; exit 1; }
