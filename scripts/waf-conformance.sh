#!/usr/bin/env bash
# Runs all of CRS v4's go-ftw regression tests (../shared/crs-v4, about 5,000) against Pnyx's SecLang engine, in
# process, at blocking paranoia level 4 as CRS's CI does. Known differences are in Tests/waf/crs-v4-overrides.yaml.
# Prints passed / failed per rule file, then `N passed, N failed`. Extra arguments go to `pnyx waf test`
# (e.g. --filter 942 --verbose).
set -euo pipefail
cd "$(dirname "$0")/.."
crs="${CRS_DIR:-../shared/crs-v4}"
swift build -c release --product pnyx >&2
exec .build/release/pnyx waf test --rules "$crs" --tests "$crs/tests/regression/tests" \
  --overrides Tests/waf/crs-v4-overrides.yaml "$@"
