#!/usr/bin/env bash
# Builds Pnyx and runs it in front of the built-in demo election site on loopback. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build --product pnyx
exec "$(swift build --show-bin-path)/pnyx" demo "$@"
