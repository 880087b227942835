#!/usr/bin/env bash
# bench/challenge.sh — how long a real browser takes to pass the bot challenge at the default difficulty.
#
# Runs `pnyx demo --under-attack` (release build) and drives headless Chromium (Debian chromium +
# chromium-driver, Selenium from PyPI) to the home page RUNS times, each in a fresh profile (no cookie), timing
# from the navigation to the site's own page. Prints every run and the median. Target: under 1 s.
#
#   bench/challenge.sh            # 15 runs
#   RUNS=31 bench/challenge.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
RUNS=${RUNS:-15}
D=${BENCH_DIR:-/tmp/pnyx-challenge-bench}
PORT=19201 ORIGIN_PORT=19202 ADMIN_PORT=19203
scripts/install-deps.sh --tests
bench_build_pnyx
rm -rf "$D"; mkdir -p "$D"
"$PNYX" demo --under-attack --port $PORT --origin-port $ORIGIN_PORT --admin-port $ADMIN_PORT --data-dir "$D" \
  --log-level warning >"$D/demo.log" 2>&1 & P=$!
trap 'kill $P 2>/dev/null || true; wait 2>/dev/null || true' EXIT
for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 403 ] || { echo "the demo does not challenge" >&2; exit 1; }
python3 Tests/browser/challenge.py "http://127.0.0.1:$PORT/" "$RUNS" | tee "$D/runs.jsonl"
python3 - "$D/runs.jsonl" <<'PY'
import json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
times = sorted(r["seconds"] for r in runs)
passed = sum(1 for r in runs if r["passed"] and r["cookie"])
print(f"\nChromium passed {passed}/{len(runs)}; time to the site: median {statistics.median(times):.3f} s, "
      f"min {times[0]:.3f} s, max {times[-1]:.3f} s (difficulty 16 bits, {len(runs)} fresh profiles)")
PY
