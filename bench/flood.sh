#!/usr/bin/env bash
# bench/flood.sh — an application-layer flood from many addresses while legitimate clients keep using the site,
# with and without Pnyx's defenses, side by side in one run.
#
# The origin is nginx with a capacity: beyond ORIGIN_CAPACITY requests/s it answers 503 (limit_req), like a county
# web server that falls over. In front of it, Pnyx twice: once with its defenses (a per-address rate limit, bans,
# escalation, and a whole-site `count: origin` budget equal to the origin's capacity), once with them off. Against
# each, bench/loadgen runs ATTACKERS source addresses in 127.1.0.0/16 (CONNECTIONS each, requests back to back
# as fast as answered) alongside LEGIT clients from 127.100.0.0/16 (one request every INTERVAL_MS each).
# It prints the legitimate clients' success rate and p99 latency, the attack's request rate, and the request
# rate that reached the origin (mean and worst second).
#
#   bench/flood.sh
#   ATTACKERS=500 CONNECTIONS=2 DURATION=30 bench/flood.sh
#
# Loopback only. Needs nginx (installed from Debian if missing) and a Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION=${DURATION:-20}
ATTACKERS=${ATTACKERS:-200}
CONNECTIONS=${CONNECTIONS:-2}
LEGIT=${LEGIT:-20}
INTERVAL_MS=${INTERVAL_MS:-200}
ORIGIN_CAPACITY=${ORIGIN_CAPACITY:-1000}
D=${BENCH_DIR:-/tmp/pnyx-flood}
ORIGIN_PORT=19201 STATUS_PORT=19202 DEFENDED_PORT=19203 OPEN_PORT=19204

bench_need nginx

bench_build_pnyx
(cd bench/loadgen && swift build -c release >/dev/null)
LOADGEN=bench/loadgen/.build/release/loadgen

rm -rf "$D"; mkdir -p "$D/www" "$D/logs" "$D/tmp" "$D/data-defended" "$D/data-open"
head -c 2000 /dev/urandom | base64 -w 76 > "$D/www/index.html"
cat > "$D/origin.conf" <<NG
worker_processes 1;
pid $D/origin.pid;
error_log $D/logs/origin-error.log crit;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $D/tmp/cb; proxy_temp_path $D/tmp/px; fastcgi_temp_path $D/tmp/fc;
  uwsgi_temp_path $D/tmp/uw; scgi_temp_path $D/tmp/sc;
  keepalive_requests 1000000;
  limit_req_zone \$server_name zone=capacity:1m rate=${ORIGIN_CAPACITY}r/s;
  limit_req_status 503;
  server { listen 127.0.0.1:$ORIGIN_PORT backlog=4096; server_name origin; root $D/www;
    location / { limit_req zone=capacity burst=$ORIGIN_CAPACITY nodelay; try_files /index.html =404; } }
  server { listen 127.0.0.1:$STATUS_PORT; location / { stub_status; } }
}
NG

pnyx_config() { # port data_dir defended
  cat <<YAML
listen: { http: 127.0.0.1:$1 }
admin: { listen: off }
data_dir: $2
access_log: { path: off }
limits: { max_connections_per_ip: 64 }
$([ "$3" = 1 ] && echo "bans: { after: 30, within: 1m, duration: 10m }" || echo "bans: off")
sites:
  - name: county
    hosts: [vote.test]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    critical_paths: [/page]
YAML
  if [ "$3" = 1 ]; then cat <<YAML
    rate_limits:
      # Per address: 20 requests a second (a voter's page load with its assets fits easily), then 1 minute out.
      - { name: per-address, key: ip, requests: 20, period: 1s, timeout: 1m }
      # The origin's capacity, counted only on requests that reach it: a backstop for distributed floods.
      - { name: origin-budget, key: site, requests: $ORIGIN_CAPACITY, period: 1s, count: origin }
YAML
  else cat <<YAML
    rate_limits: []
    escalation: off
YAML
  fi
}
pnyx_config $DEFENDED_PORT "$D/data-defended" 1 > "$D/defended.yaml"
pnyx_config $OPEN_PORT "$D/data-open" 0 > "$D/open.yaml"

cleanup() {
  [ -f "$D/origin.pid" ] && kill "$(cat "$D/origin.pid")" 2>/dev/null || true
  [ -n "${P1:-}" ] && kill "$P1" 2>/dev/null || true
  [ -n "${P2:-}" ] && kill "$P2" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for p in $ORIGIN_PORT $STATUS_PORT $DEFENDED_PORT $OPEN_PORT; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then echo "port $p is already in use" >&2; exit 1; fi
done
ulimit -n 65536 2>/dev/null || true
nginx -c "$D/origin.conf" -p "$D/"
"$PNYX" serve --config "$D/defended.yaml" --log-level warning 2>"$D/logs/defended.err" & P1=$!
"$PNYX" serve --config "$D/open.yaml" --log-level warning 2>"$D/logs/open.err" & P2=$!
for p in $DEFENDED_PORT $OPEN_PORT; do
  for i in $(seq 100); do curl -sf -o /dev/null -H "Host: vote.test" "http://127.0.0.1:$p/page" && break; sleep 0.1; done
done

origin_count() { curl -s "http://127.0.0.1:$STATUS_PORT/" | awk 'NR==3 {print $3}'; }

# One run against a port: prints the loadgen summary plus the origin's request rate (mean and worst second).
run() {
  local port=$1 before after peak=0 prev now
  before=$(origin_count); prev=$before
  "$LOADGEN" "$port" "$DURATION" "$ATTACKERS" "$CONNECTIONS" "$LEGIT" "$INTERVAL_MS" > "$D/loadgen-$port.out" &
  local lg=$!
  for _ in $(seq "$DURATION"); do
    sleep 1; now=$(origin_count)
    [ $((now - prev)) -gt "$peak" ] && peak=$((now - prev)); prev=$now
  done
  wait $lg
  after=$(origin_count)
  echo "$(cat "$D/loadgen-$port.out") origin_rps=$(( (after - before) / DURATION )) origin_peak_rps=$peak"
}
field() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1==k {print $2}'; }

printf "\nflood: %s attacker addresses x %s connections at full speed, %s legitimate clients (one request per %s ms each),\n" \
  "$ATTACKERS" "$CONNECTIONS" "$LEGIT" "$INTERVAL_MS"
printf "%s s per run, origin capacity %s requests/s (503 beyond), loopback, %s cores\n\n" "$DURATION" "$ORIGIN_CAPACITY" "$(nproc)"
printf "%-22s %10s %10s %12s %12s %14s %14s\n" "pnyx" "legit ok" "legit p99" "attack req/s" "attack 2xx" "origin req/s" "origin worst s"
for mode in defended open; do
  port=$([ $mode = defended ] && echo $DEFENDED_PORT || echo $OPEN_PORT)
  out=$(run "$port")
  echo "$out" > "$D/result-$mode.txt"
  printf "%-22s %9.2f%% %8.1fms %12s %12s %14s %14s\n" "$([ $mode = defended ] && echo "defenses on" || echo "defenses off")" \
    "$(awk -v s="$(field "$out" legit_success)" 'BEGIN{print s*100}')" "$(field "$out" legit_p99_ms)" \
    "$(field "$out" attack_rps)" "$(field "$out" attack_2xx)" "$(field "$out" origin_rps)" "$(field "$out" origin_peak_rps)"
  printf "  legit requests %s, failures: %s; attack statuses: %s\n" "$(field "$out" legit_requests)" \
    "$(field "$out" legit_failures)" "$(field "$out" attack_statuses)"
  sleep 2
done
d=$(cat "$D/result-defended.txt")
ok=$(awk -v s="$(field "$d" legit_success)" 'BEGIN{print (s>=0.99)?"yes":"no"}')
held=$([ "$(field "$d" origin_rps)" -le "$ORIGIN_CAPACITY" ] && echo yes || echo no)
printf "\nbar: legitimate success >= 99%% with defenses: %s; origin load (mean) under its budget of %s/s: %s\n" "$ok" "$ORIGIN_CAPACITY" "$held"
printf "(worst second at the origin with defenses: %s requests; it is the first second, when every attacking address\n" "$(field "$d" origin_peak_rps)"
printf " starts at once with a fresh per-address budget)\n"
