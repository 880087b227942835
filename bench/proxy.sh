#!/usr/bin/env bash
# bench/proxy.sh — Pnyx vs nginx as a plain reverse proxy, side by side in one run.
#
# Starts an nginx origin serving a small (2.7 KB) page, nginx as a reverse proxy in front of it (its own instance)
# (worker_processes auto, upstream keepalive), and Pnyx (release build, full pipeline: limits, rate limit, security
# headers, metrics; access log off like nginx's, and a second Pnyx with its JSON access log on), then runs
# wrk against each in turn for several rounds and prints requests/s, p99 latency, each server's own CPU time per
# request (steadier than requests/s on a shared machine) and the Pnyx/nginx ratio.
#
#   bench/proxy.sh                 # 3 rounds of 10 s, 50 connections
#   ROUNDS=5 DURATION=15 CONNECTIONS=100 bench/proxy.sh
#   RELAY=1 bench/proxy.sh         # also a bare SwiftNIO TCP relay (bench/relay): the NIO ceiling here
#   CHALLENGE=1 bench/proxy.sh     # also Pnyx in under-attack mode, wrk presenting a clearance cookie: the cost
#                                  # of verifying the cookie on every request
#   BARE=1 bench/proxy.sh          # also Pnyx with its traffic defenses off (rate limits, bans, escalation):
#                                  # the per-request cost of the defenses, same binary, measured in alternation
#
# Loopback only. Needs nginx and wrk (installed from Debian if missing) and a Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
THREADS=${THREADS:-1}
D=${BENCH_DIR:-/tmp/pnyx-bench}
ORIGIN_PORT=19101 NGINX_PORT=19102 PNYX_PORT=19103 PNYX_LOG_PORT=19104 RELAY_PORT=19106
RELAY=${RELAY:-0}
BARE=${BARE:-0}
PNYX_BARE_PORT=19105
CHALLENGE=${CHALLENGE:-0}
PNYX_CHALLENGE_PORT=19107

bench_need nginx wrk

bench_build_pnyx

rm -rf "$D"; mkdir -p "$D/www" "$D/logs" "$D/tmp" "$D/data" "$D/data-log"
head -c 2000 /dev/urandom | base64 -w 76 > "$D/www/index.html"   # ~2.7 KB
# The origin and the nginx proxy are two separate nginx instances, so the proxy under test never shares a worker
# process with the origin (one shared instance lets nginx serve proxy and origin side in the same worker, an
# advantage no separate proxy has). Both proxies talk to the same origin.
nginx_conf() { # name, server block
  cat <<NG
worker_processes auto;
pid $D/$1.pid;
error_log $D/logs/$1-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $D/tmp/$1-cb; proxy_temp_path $D/tmp/$1-px; fastcgi_temp_path $D/tmp/$1-fc;
  uwsgi_temp_path $D/tmp/$1-uw; scgi_temp_path $D/tmp/$1-sc;
  keepalive_requests 1000000;
  $2
}
NG
}
nginx_conf origin "server { listen 127.0.0.1:$ORIGIN_PORT reuseport backlog=4096; root $D/www;
    location / { try_files /index.html =404; } }" > "$D/origin.conf"
nginx_conf proxy "upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 128; }
  server { listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host \$host; } }" > "$D/proxy.conf"
pnyx_config() { # port data_dir access_log [bare|challenge]
  cat <<YAML
listen: { http: 127.0.0.1:$1 }
admin: { listen: off }
data_dir: $2
access_log: { path: $3 }
$([ "${4:-}" = bare ] && echo "bans: off")
sites:
  - name: bench
    hosts: [127.0.0.1, localhost]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    # The page is static (nginx sends Last-Modified), so the cache would answer it: measure proxying instead.
    cache: off
    # The WAF (on by default) has its own benchmark, bench/waf.sh: measure the data path without it.
    waf: { engine: off }
$([ "${4:-}" = challenge ] && echo "    challenge: { under_attack: true }")
YAML
  if [ "${4:-}" = bare ]; then
    printf "    rate_limits: []\n    escalation: off\n"
  else
    # A per-address rule that counts every request, so the limiter's per-request cost is measured. wrk from one
    # address can exceed 65535/s on a fast machine: the rule only logs, so it never blocks (blocks earn a ban).
    printf "    rate_limits: [{ name: bench, key: ip, requests: 65535, period: 1s, action: log }]\n"
    # Escalation samples every request, but wrk after an idle spell *is* a flood to it (it would raise the posture
    # and scale the budget down): a rate factor it never reaches keeps the posture normal while it measures.
    printf "    escalation: { rate_factor: 1000 }\n"
  fi
}
pnyx_config $PNYX_PORT "$D/data" off > "$D/pnyx.yaml"
pnyx_config $PNYX_LOG_PORT "$D/data-log" "$D/logs/pnyx-access.log" > "$D/pnyx-log.yaml"
mkdir -p "$D/data-bare"; pnyx_config $PNYX_BARE_PORT "$D/data-bare" off bare > "$D/pnyx-bare.yaml"
mkdir -p "$D/data-challenge"; pnyx_config $PNYX_CHALLENGE_PORT "$D/data-challenge" off challenge > "$D/pnyx-challenge.yaml"

cleanup() {
  for pid in "$D/origin.pid" "$D/proxy.pid"; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  [ -n "${P1:-}" ] && kill "$P1" 2>/dev/null || true
  [ -n "${P2:-}" ] && kill "$P2" 2>/dev/null || true
  [ -n "${P4:-}" ] && kill "$P4" 2>/dev/null || true
  [ -n "${P3:-}" ] && kill "$P3" 2>/dev/null || true
  [ -n "${P5:-}" ] && kill "$P5" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
# A port that already answers would measure whatever holds it (an old Pnyx left running, say): refuse.
for p in $ORIGIN_PORT $NGINX_PORT $PNYX_PORT $PNYX_LOG_PORT $PNYX_BARE_PORT $RELAY_PORT $PNYX_CHALLENGE_PORT; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then
    echo "port $p is already in use; stop what listens there first" >&2; exit 1
  fi
done
nginx -c "$D/origin.conf" -p "$D/"
nginx -c "$D/proxy.conf" -p "$D/"
"$PNYX" serve --config "$D/pnyx.yaml" --log-level warning 2>"$D/logs/pnyx.err" & P1=$!
"$PNYX" serve --config "$D/pnyx-log.yaml" --log-level warning 2>"$D/logs/pnyx-log.err" & P2=$!
PORTS=($ORIGIN_PORT $NGINX_PORT $PNYX_PORT $PNYX_LOG_PORT)
TARGETS=(origin nginx pnyx pnyxlog)
if [ "$BARE" = 1 ]; then
  "$PNYX" serve --config "$D/pnyx-bare.yaml" --log-level warning 2>"$D/logs/pnyx-bare.err" & P4=$!
  PORTS+=($PNYX_BARE_PORT); TARGETS+=(bare)
fi
if [ "$RELAY" = 1 ]; then
  echo "building the bare NIO relay (bench/relay)…" >&2
  (cd bench/relay && swift build -c release >/dev/null)
  bench/relay/.build/release/relay $RELAY_PORT $ORIGIN_PORT & P3=$!
  PORTS+=($RELAY_PORT); TARGETS+=(relay)
fi
COOKIE=""
if [ "$CHALLENGE" = 1 ]; then
  "$PNYX" serve --config "$D/pnyx-challenge.yaml" --log-level warning 2>"$D/logs/pnyx-challenge.err" & P5=$!
  for i in $(seq 100); do [ -f "$D/data-challenge/challenge.key" ] && curl -s -o /dev/null "http://127.0.0.1:$PNYX_CHALLENGE_PORT/" && break; sleep 0.1; done
  COOKIE=$("$PNYX" challenge clearance --config "$D/pnyx-challenge.yaml" --site bench --client 127.0.0.1 --lifetime 86400)
  code=$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$PNYX_CHALLENGE_PORT/")
  with=$(curl -s -o /dev/null -w "%{http_code}" -H "Cookie: $COOKIE" "http://127.0.0.1:$PNYX_CHALLENGE_PORT/")
  [ "$code" = 403 ] && [ "$with" = 200 ] || { echo "challenge instance: $code without the cookie, $with with it (want 403, 200)" >&2; exit 1; }
  TARGETS+=(challenge)
fi
for p in "${PORTS[@]}"; do
  for i in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
  curl -sf -o /dev/null "http://127.0.0.1:$p/" || { echo "port $p did not come up" >&2; exit 1; }
done

# The processes that serve a target (nginx: the master's workers), for CPU accounting.
pids_of() {
  case $1 in
    origin) pgrep -P "$(cat "$D/origin.pid")";; nginx) pgrep -P "$(cat "$D/proxy.pid")";;
    pnyx) echo "$P1";; pnyxlog) echo "$P2";; bare) echo "$P4";; relay) echo "$P3";; challenge) echo "$P5";;
  esac
}
# User + system CPU of the processes (all their threads), in clock ticks.
cpu_ticks() {
  local sum=0 p a
  for p in "$@"; do read -r -a a < "/proc/$p/stat" && sum=$((sum + a[13] + a[14])); done
  echo "$sum"
}
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# One wrk run (port cookie pids…): prints "req_per_s p99_ms cpu_us_per_request" (the server's own CPU time per
# request: steadier than req/s on a shared machine, since it does not count what wrk and the origin take).
measure() {
  local out rps p99 unit before after requests
  local header=()
  [ -n "${2:-}" ] && header=(-H "Cookie: $2")
  local pids=("${@:3}")
  before=$(cpu_ticks "${pids[@]}")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency "${header[@]}" "http://127.0.0.1:$1/")
  after=$(cpu_ticks "${pids[@]}")
  requests=$(awk '/requests in/ {print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  case "$p99" in
    *us) p99=$(awk -v v="${p99%us}" 'BEGIN{printf "%.2f", v/1000}') ;;
    *ms) p99=${p99%ms} ;;
    *s)  p99=$(awk -v v="${p99%s}" 'BEGIN{printf "%.2f", v*1000}') ;;
  esac
  local errors; errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
  if [ -n "$errors" ]; then
    echo "  error ($1): $errors" >&2
    echo "ERR ERR ERR"
    return
  fi
  echo "$rps $p99 $(awk -v t=$((after - before)) -v u=$TICK_US -v n="$requests" 'BEGIN{printf "%.1f", t*u/n}')"
}

echo "warming up…" >&2
for p in "${PORTS[@]}"; do wrk -t1 -c"$CONNECTIONS" -d2s "http://127.0.0.1:$p/" >/dev/null; done
[ "$CHALLENGE" = 1 ] && wrk -t1 -c"$CONNECTIONS" -d2s -H "Cookie: $COOKIE" "http://127.0.0.1:$PNYX_CHALLENGE_PORT/" >/dev/null

printf "\nwrk -t%s -c%s -d%ss, %s rounds, 2.7 KB page, loopback, %s cores\n" "$THREADS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$(nproc)"
printf "%-6s %-22s %12s %10s %12s\n" round server "req/s" "p99 ms" "cpu µs/req"
declare -a R_ORIGIN R_NGINX R_PNYX R_PNYXLOG R_RELAY R_BARE R_CHALLENGE C_NGINX C_PNYX C_RELAY
for r in $(seq "$ROUNDS"); do
  for target in "${TARGETS[@]}"; do
    case $target in
      origin) port=$ORIGIN_PORT; label="nginx origin (direct)";;
      nginx) port=$NGINX_PORT; label="nginx proxy";;
      pnyx) port=$PNYX_PORT; label="pnyx";;
      pnyxlog) port=$PNYX_LOG_PORT; label="pnyx + access log";;
      bare) port=$PNYX_BARE_PORT; label="pnyx, defenses off";;
      relay) port=$RELAY_PORT; label="bare NIO TCP relay";;
      challenge) port=$PNYX_CHALLENGE_PORT; label="pnyx, cookie checked";;
    esac
    cookie=""; [ "$target" = challenge ] && cookie=$COOKIE
    read -r rps p99 cpu < <(measure $port "$cookie" $(pids_of $target))
    if [ "$rps" = ERR ]; then echo "$label answered errors, so the measurement is invalid; see $D/logs" >&2; exit 1; fi
    printf "%-6s %-22s %12s %10s %12s\n" "$r" "$label" "$rps" "$p99" "$cpu"
    case $target in nginx) C_NGINX+=("$cpu");; pnyx) C_PNYX+=("$cpu");; relay) C_RELAY+=("$cpu");; esac
    case $target in
      origin) R_ORIGIN+=("$rps");; nginx) R_NGINX+=("$rps");; pnyx) R_PNYX+=("$rps");; pnyxlog) R_PNYXLOG+=("$rps");; relay) R_RELAY+=("$rps");; bare) R_BARE+=("$rps");; challenge) R_CHALLENGE+=("$rps");;
    esac
  done
done

median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mn=$(median "${R_NGINX[@]}"); mp=$(median "${R_PNYX[@]}"); ml=$(median "${R_PNYXLOG[@]}"); mo=$(median "${R_ORIGIN[@]}")
echo
printf "median req/s: origin %.0f · nginx proxy %.0f · pnyx %.0f · pnyx+log %.0f\n" "$mo" "$mn" "$mp" "$ml"
printf "ratio pnyx/nginx:            %.2f\n" "$(awk -v a="$mp" -v b="$mn" 'BEGIN{print a/b}')"
printf "ratio pnyx+access log/nginx: %.2f\n" "$(awk -v a="$ml" -v b="$mn" 'BEGIN{print a/b}')"
cn=$(median "${C_NGINX[@]}"); cx=$(median "${C_PNYX[@]}")
printf "median cpu µs per request: nginx proxy %.1f · pnyx %.1f%s (pnyx/nginx %.2f×)\n" "$cn" "$cx" \
  "$([ "$RELAY" = 1 ] && printf " · relay %.1f" "$(median "${C_RELAY[@]}")")" "$(awk -v a="$cx" -v b="$cn" 'BEGIN{print a/b}')"
if [ "$BARE" = 1 ]; then
  mb=$(median "${R_BARE[@]}")
  printf "ratio pnyx with/without its traffic defenses: %.3f\n" "$(awk -v a="$mp" -v b="$mb" 'BEGIN{print a/b}')"
fi
if [ "$CHALLENGE" = 1 ]; then
  mc=$(median "${R_CHALLENGE[@]}")
  printf "ratio pnyx checking a clearance cookie/nginx: %.2f   (vs pnyx without the challenge %.3f)\n" \
    "$(awk -v a="$mc" -v b="$mn" 'BEGIN{print a/b}')" "$(awk -v a="$mc" -v b="$mp" 'BEGIN{print a/b}')"
fi
if [ "$RELAY" = 1 ]; then
  mr=$(median "${R_RELAY[@]}")
  printf "ratio bare relay/nginx:      %.2f   (pnyx/relay %.2f)\n" "$(awk -v a="$mr" -v b="$mn" 'BEGIN{print a/b}')" \
    "$(awk -v a="$mp" -v b="$mr" 'BEGIN{print a/b}')"
fi
# Each round measures nginx and Pnyx back to back, so a round's ratio is not moved by the machine drifting
# between rounds; the median of the round ratios is printed beside the ratio of the medians.
round_ratios=()
for r in $(seq 0 $((ROUNDS-1))); do round_ratios+=("$(awk -v a="${R_PNYX[$r]}" -v b="${R_NGINX[$r]}" 'BEGIN{print a/b}')"); done
printf "median of round ratios:      %.2f\n" "$(median "${round_ratios[@]}")"
for r in $(seq 0 $((ROUNDS-1))); do
  printf "round %d ratio pnyx/nginx: %.2f\n" $((r+1)) "$(awk -v a="${R_PNYX[$r]}" -v b="${R_NGINX[$r]}" 'BEGIN{print a/b}')"
done
