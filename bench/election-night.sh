#!/usr/bin/env bash
# bench/election-night.sh — the election-night scenario: an origin that takes 500 ms per results request and can
# serve 5 at a time; 2,000 clients keep refreshing /results/summary.json through Pnyx; half-way through the origin
# is taken down. Reports the origin's request count, the clients' success rate and p99.
#
# Pnyx micro-caches the results for 10 s (the origin says no-cache) with stale-while-revalidate, coalesces misses,
# and serves the stored copy when the origin is gone. Then the same against the origin directly, for contrast.
#
#   bench/election-night.sh              # 2,000 connections for 30 s, origin killed at 15 s
#   CLIENTS=2000 DURATION=30 bench/election-night.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
CLIENTS=${CLIENTS:-2000}
DURATION=${DURATION:-30}
D=${BENCH_DIR:-/tmp/pnyx-election-bench}
ORIGIN_PORT=19301 PNYX_PORT=19302
ulimit -n 65536 || true
bench_need wrk

bench_build_pnyx

rm -rf "$D"; mkdir -p "$D/data"
cat > "$D/pnyx.yaml" <<YAML
listen: { http: 127.0.0.1:$PNYX_PORT }
admin: { listen: off }
data_dir: $D/data
access_log: { path: off }
# wrk's 2,000 clients share one address: the per-address caps are raised so they measure the cache, not the limits.
limits: { max_connections_per_ip: 10000, upstream_response_timeout: 5s }
sites:
  - name: county
    hosts: [127.0.0.1]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    rate_limits: []
    escalation: off
    cache:
      rules:
        - { path: /results/**, ttl: 10s, stale_while_revalidate: 10s }
YAML
cleanup() {
  [ -n "${O:-}" ] && kill "$O" 2>/dev/null || true
  [ -n "${P:-}" ] && kill "$P" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
python3 bench/election-origin.py $ORIGIN_PORT "$D/origin-count" & O=$!
"$PNYX" serve --config "$D/pnyx.yaml" --log-level warning 2>"$D/pnyx.err" & P=$!
for i in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$PNYX_PORT/results/summary.json" && break; sleep 0.2; done

run() { # url, label, kill-origin-after-seconds
  local out
  ( sleep "$3"; kill "$O" 2>/dev/null || true; echo "  (origin stopped at ${3}s)" >&2 ) &
  local killer=$!
  out=$(wrk -t2 -c"$CLIENTS" -d"${DURATION}s" --timeout 10s --latency "$1")
  wait $killer 2>/dev/null || true
  local total non2xx errors p99
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out"); non2xx=${non2xx:-0}
  errors=$(awk '/Socket errors/ {gsub(",","");s=0; for(i=1;i<=NF;i++) if($i ~ /^[0-9]+$/) s+=$i; print s}' <<<"$out"); errors=${errors:-0}
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  local origin; origin=$(cat "$D/origin-count" 2>/dev/null || echo 0)
  printf "%-22s requests %9s  ok %7.3f%%  non-2xx %6s  socket errors %6s  p99 %8s  origin requests %s\n" \
    "$2" "$total" "$(awk -v t="$total" -v n="$non2xx" -v e="$errors" 'BEGIN{print (t>0 ? 100*(t-n)/(t+e) : 0)}')" \
    "$non2xx" "$errors" "$p99" "$origin"
}
printf "\nelection night: %s clients refreshing for %ss; origin 500 ms/request, 5 at a time; origin stopped half-way\n" "$CLIENTS" "$DURATION"
run "http://127.0.0.1:$PNYX_PORT/results/summary.json" "through pnyx" $((DURATION / 2))
echo "pnyx: $(grep -c . "$D/pnyx.err" || true) log lines; ttl 10 s means about $((DURATION / 2 / 10 + 1)) origin requests before it went down"

# For contrast: the same clients straight at the origin (fresh origin, same half-way stop).
rm -f "$D/origin-count"
python3 bench/election-origin.py $ORIGIN_PORT "$D/origin-count" & O=$!
sleep 1
run "http://127.0.0.1:$ORIGIN_PORT/results/summary.json" "origin directly" $((DURATION / 2))
