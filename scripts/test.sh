#!/usr/bin/env bash
# Builds Pnyx and runs the whole test suite (unit tests and real-socket tests against the built binary).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
swift build --build-tests
swift test --skip-build "$@"
