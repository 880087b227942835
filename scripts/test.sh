#!/usr/bin/env bash
# Builds Pnyx and runs the whole test suite (unit tests and real-socket tests against the built binary).
# The headless-Chromium tests run on their own after the rest: a browser's start-up takes the machine's CPU for a
# few seconds, which would slow the timing-sensitive tests running beside it. Arguments go to `swift test` as is.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
swift build --build-tests
# A throwaway PostgreSQL server on loopback for the fleet tests (stopped when the tests end).
eval "$(scripts/test-postgres.sh start)"
trap 'scripts/test-postgres.sh stop' EXIT
if [ $# -gt 0 ]; then
  swift test --skip-build "$@"
  exit
fi
# The second group also holds the control-plane suites that start mail servers, hash passwords (scrypt, 32 MiB
# each) and load CRS at once: run beside the first group's timing-sensitive tests, they starve them of CPU.
later="ChallengeBrowserTests|IntegrityBrowserTests|DashboardBrowserTests|AlertDeliveryTests|NightSettingsLiveTests|NightPagesLiveTests|SetupLinkLiveTests|CountryStatsLiveTests|FleetLiveTests|FleetStoreTests|AccountLiveTests"
# Live suites that measure time (posture raised within seconds, 408 after the header timeout, stale copies after
# expiry, slow clients cut) run last, on their own, so no other group's CPU load can stretch their clocks.
timing="EscalationLiveTests|LifecycleTests|SlowClientTests|PnyxTests.CacheTests/"
swift test --skip-build --skip "$later|$timing"
swift test --skip-build --filter "$later"
swift test --skip-build --filter "$timing"
