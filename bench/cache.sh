#!/usr/bin/env bash
# bench/cache.sh — cache-hit throughput: Pnyx vs Varnish (Debian varnish, default VCL) on the same object, same
# wrk, same run, plus nginx serving the file itself. Then the election-night scenario (bench/election-night.sh).
#
#   bench/cache.sh                 # 3 rounds of 10 s, 50 connections, a 2.7 KB results JSON
#   ROUNDS=5 DURATION=15 CONNECTIONS=100 bench/cache.sh
#
# Loopback only. Needs nginx, varnish and wrk (installed from Debian if missing) and a Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
D=${BENCH_DIR:-/tmp/pnyx-cache-bench}
ORIGIN_PORT=19201 VARNISH_PORT=19202 PNYX_PORT=19203
PATH_=/results/summary.json

bench_need nginx wrk varnishd:varnish
VARNISHD=$(command -v varnishd || echo /usr/sbin/varnishd)

bench_build_pnyx

rm -rf "$D"; mkdir -p "$D/www/results" "$D/logs" "$D/tmp" "$D/data" "$D/varnish"; chmod 755 "$D" "$D/varnish"
head -c 2000 /dev/urandom | base64 -w 76 > "$D/www/results/summary.json"   # ~2.7 KB
cat > "$D/origin.conf" <<NG
worker_processes auto;
pid $D/origin.pid;
error_log $D/logs/origin-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $D/tmp/cb; proxy_temp_path $D/tmp/px; fastcgi_temp_path $D/tmp/fc;
  uwsgi_temp_path $D/tmp/uw; scgi_temp_path $D/tmp/sc;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$ORIGIN_PORT reuseport backlog=4096; root $D/www;
    location / { add_header Cache-Control "public, max-age=3600"; } }
}
NG
cat > "$D/pnyx.yaml" <<YAML
listen: { http: 127.0.0.1:$PNYX_PORT }
admin: { listen: off }
data_dir: $D/data
access_log: { path: off }
sites:
  - name: bench
    hosts: [127.0.0.1, localhost]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    waf: { engine: off }  # measured on its own by bench/waf.sh
    rate_limits: [{ name: bench, key: ip, requests: 65535, period: 1s, action: log }]
    escalation: { rate_factor: 1000 }
YAML

cleanup() {
  [ -f "$D/origin.pid" ] && kill "$(cat "$D/origin.pid")" 2>/dev/null || true
  [ -n "${P1:-}" ] && kill "$P1" 2>/dev/null || true
  pkill -f "varnishd.*$VARNISH_PORT" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for p in $ORIGIN_PORT $VARNISH_PORT $PNYX_PORT; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
    echo "port $p is already in use; stop what listens there first" >&2; exit 1
  fi
done
nginx -c "$D/origin.conf" -p "$D/"
# Varnish with its default VCL and a malloc store, threads as Debian ships them.
"$VARNISHD" -a 127.0.0.1:$VARNISH_PORT -b 127.0.0.1:$ORIGIN_PORT -s malloc,256m -n "$D/varnish" \
  -p default_ttl=3600 2>"$D/logs/varnish.err"
"$PNYX" serve --config "$D/pnyx.yaml" --log-level warning 2>"$D/logs/pnyx.err" & P1=$!
for p in $ORIGIN_PORT $VARNISH_PORT $PNYX_PORT; do
  for i in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$p$PATH_" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$p$PATH_" || { echo "port $p did not come up" >&2; exit 1; }
done
# Both caches must be answering from cache, or the comparison means nothing.
curl -s -D - -o /dev/null "http://127.0.0.1:$PNYX_PORT$PATH_" | grep -qi '^pnyx-cache: HIT' \
  || { echo "pnyx is not answering from cache" >&2; exit 1; }
curl -s -D - -o /dev/null "http://127.0.0.1:$VARNISH_PORT$PATH_" | grep -qiE '^x-varnish: [0-9]+ [0-9]+' \
  || { echo "varnish is not answering from cache" >&2; exit 1; }

measure() {
  local out rps p99
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "http://127.0.0.1:$1$PATH_")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  case "$p99" in
    *us) p99=$(awk -v v="${p99%us}" 'BEGIN{printf "%.2f", v/1000}') ;;
    *ms) p99=${p99%ms} ;;
    *s)  p99=$(awk -v v="${p99%s}" 'BEGIN{printf "%.2f", v*1000}') ;;
  esac
  if grep -qE 'Non-2xx|Socket errors' <<<"$out"; then echo "ERR ERR"; return; fi
  echo "$rps $p99"
}
echo "warming up…" >&2
for p in $ORIGIN_PORT $VARNISH_PORT $PNYX_PORT; do wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$p$PATH_" >/dev/null; done

printf "\ncache hits: wrk -t%s -c%s -d%ss, %s rounds, 2.7 KB JSON, loopback, %s cores\n" "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$(nproc)"
printf "%-6s %-26s %12s %10s\n" round server "req/s" "p99 ms"
declare -a R_N R_V R_P
for r in $(seq "$ROUNDS"); do
  for target in nginx varnish pnyx; do
    case $target in
      nginx) port=$ORIGIN_PORT; label="nginx serving the file";;
      varnish) port=$VARNISH_PORT; label="varnish (cache hit)";;
      pnyx) port=$PNYX_PORT; label="pnyx (cache hit)";;
    esac
    read -r rps p99 < <(measure $port)
    if [ "$rps" = ERR ]; then echo "$label answered errors; see $D/logs" >&2; exit 1; fi
    printf "%-6s %-26s %12s %10s\n" "$r" "$label" "$rps" "$p99"
    case $target in nginx) R_N+=("$rps");; varnish) R_V+=("$rps");; pnyx) R_P+=("$rps");; esac
  done
done
median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mn=$(median "${R_N[@]}"); mv=$(median "${R_V[@]}"); mp=$(median "${R_P[@]}")
echo
printf "median req/s: nginx file %.0f · varnish %.0f · pnyx %.0f\n" "$mn" "$mv" "$mp"
printf "ratio pnyx/varnish:     %.2f   (bar: 1.0)\n" "$(awk -v a="$mp" -v b="$mv" 'BEGIN{print a/b}')"
printf "ratio pnyx/nginx file:  %.2f\n" "$(awk -v a="$mp" -v b="$mn" 'BEGIN{print a/b}')"
for r in $(seq 0 $((ROUNDS-1))); do
  printf "round %d ratio pnyx/varnish: %.2f\n" $((r+1)) "$(awk -v a="${R_P[$r]}" -v b="${R_V[$r]}" 'BEGIN{print a/b}')"
done
