#!/usr/bin/env bash
# bench/slow.sh — slow-client attacks (slowhttptest: slowloris, slow body, slow read) against Pnyx with its
# defaults and against nginx as a reverse proxy with Debian's defaults, side by side in one run, while a
# legitimate client polls the site from another address.
#
# For each server and mode, slowhttptest opens CONNECTIONS connections (RATE per second) from 127.0.0.1 for
# DURATION seconds; meanwhile a legitimate client (curl from 127.0.0.2) asks for the page every 0.5 s with a 5 s
# timeout. Prints the legitimate success rate (bar: >= 99%) and how many attack connections the server held open
# at most, and closed (from slowhttptest's report).
#
#   bench/slow.sh
#   CONNECTIONS=4000 DURATION=60 bench/slow.sh
#   PER_IP=100000 bench/slow.sh    # lift Pnyx's per-address connection cap: only its deadlines and rates defend
#
# Loopback only. Needs nginx and slowhttptest (installed from Debian if missing) and a Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-3000}
RATE=${RATE:-500}
PER_IP=${PER_IP:-}
D=${BENCH_DIR:-/tmp/pnyx-slow}
ORIGIN_PORT=19301 NGINX_PORT=19302 PNYX_PORT=19303

bench_need nginx slowhttptest
bench_build_pnyx

rm -rf "$D"; mkdir -p "$D/www" "$D/logs" "$D/tmp" "$D/data"
head -c 2000 /dev/urandom | base64 -w 76 > "$D/www/index.html"
head -c 1500000 /dev/urandom | base64 -w 76 > "$D/www/big.html"   # ~2 MB, for slow read
temp="client_body_temp_path $D/tmp/\$1-cb; proxy_temp_path $D/tmp/\$1-px; fastcgi_temp_path $D/tmp/\$1-fc; uwsgi_temp_path $D/tmp/\$1-uw; scgi_temp_path $D/tmp/\$1-sc;"
cat > "$D/origin.conf" <<NG
worker_processes auto;
pid $D/origin.pid;
error_log $D/logs/origin-error.log crit;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $D/tmp/o-cb; proxy_temp_path $D/tmp/o-px; fastcgi_temp_path $D/tmp/o-fc;
  uwsgi_temp_path $D/tmp/o-uw; scgi_temp_path $D/tmp/o-sc;
  server { listen 127.0.0.1:$ORIGIN_PORT backlog=4096; root $D/www; client_max_body_size 100m;
    location = /big.html { }
    location / { if (\$request_method = POST) { return 200 "ok\n"; } try_files /index.html =404; } }
}
NG
# nginx as a reverse proxy with Debian's stock settings (nginx.conf: worker_connections 768; timeouts at their
# defaults: client_header_timeout, client_body_timeout and send_timeout 60s, no per-address connection limit).
cat > "$D/proxy.conf" <<NG
worker_processes auto;
pid $D/proxy.pid;
error_log $D/logs/proxy-error.log crit;
events { worker_connections 768; }
http {
  access_log off;
  client_body_temp_path $D/tmp/p-cb; proxy_temp_path $D/tmp/p-px; fastcgi_temp_path $D/tmp/p-fc;
  uwsgi_temp_path $D/tmp/p-uw; scgi_temp_path $D/tmp/p-sc;
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 32; }
  server { listen 127.0.0.1:$NGINX_PORT; client_max_body_size 100m;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}
NG
# Pnyx with its defaults (nothing about slow clients is configured).
cat > "$D/pnyx.yaml" <<YAML
listen: { http: 127.0.0.1:$PNYX_PORT }
admin: { listen: off }
data_dir: $D/data
access_log: { path: off }
$([ -n "$PER_IP" ] && echo "limits: { max_connections_per_ip: $PER_IP }")
sites:
  - name: county
    hosts: [127.0.0.1, localhost]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    limits: { max_body_bytes: 100MiB }
YAML

cleanup() {
  for pid in "$D/origin.pid" "$D/proxy.pid"; do [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true; done
  [ -n "${P1:-}" ] && kill "$P1" 2>/dev/null || true
  pkill -f "slowhttptest .*127.0.0.1:193" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for p in $ORIGIN_PORT $NGINX_PORT $PNYX_PORT; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$p/"; then echo "port $p is already in use" >&2; exit 1; fi
done
ulimit -n 65536 2>/dev/null || true
nginx -c "$D/origin.conf" -p "$D/"
nginx -c "$D/proxy.conf" -p "$D/"
"$PNYX" serve --config "$D/pnyx.yaml" --log-level warning 2>"$D/logs/pnyx.err" & P1=$!
for p in $NGINX_PORT $PNYX_PORT; do
  for i in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$p/" && break; sleep 0.1; done
done

# The legitimate client: one request every 0.5 s from 127.0.0.2 for the whole run; prints "ok total".
poll() {
  local port=$1 end=$((SECONDS + DURATION)) ok=0 total=0
  while [ $SECONDS -lt $end ]; do
    total=$((total + 1))
    if [ "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 --max-time 5 "http://127.0.0.1:$port/")" = 200 ]; then
      ok=$((ok + 1))
    fi
    sleep 0.5
  done
  echo "$ok $total"
}

attack() { # port mode
  local url="http://127.0.0.1:$1/" extra=()
  case $2 in
    slowloris) extra=(-H -i 5 -x 24) ;;
    slowbody) extra=(-B -i 5 -s 100000 -x 10) ;;
    slowread) url="http://127.0.0.1:$1/big.html"; extra=(-X -k 4 -n 2 -w 16 -y 64 -z 32) ;;
  esac
  slowhttptest "${extra[@]}" -c "$CONNECTIONS" -r "$RATE" -l "$DURATION" -p 5 -u "$url" -o "$D/logs/$2-$1" -g \
    >"$D/logs/slowhttptest-$2-$1.out" 2>&1 || true
}

printf "\nslowhttptest: %s connections at %s/s for %s s per run from 127.0.0.1; a legitimate client polls from 127.0.0.2\n" \
  "$CONNECTIONS" "$RATE" "$DURATION"
printf "every 0.5 s (5 s timeout). %s cores, loopback.\n\n" "$(nproc)"
printf "%-10s %-28s %16s   %s\n" mode server "legit success" "attack connections"
declare -A RESULT
for mode in slowloris slowbody slowread; do
  for server in nginx pnyx; do
    port=$([ $server = nginx ] && echo $NGINX_PORT || echo $PNYX_PORT)
    attack "$port" "$mode" &
    A=$!
    sleep 1
    read -r ok total < <(poll "$port")
    wait $A
    # From slowhttptest's CSV: the most attack connections the server held open at once, and how many it closed.
    verdict=$(awk -F, 'NR>1 { if ($4>m) m=$4; c=$2 } END { printf "held open at most %d, closed %d", m, c }' \
      "$D/logs/$mode-$port.csv" 2>/dev/null || echo "no report")
    label=$([ $server = nginx ] && echo "nginx proxy (Debian defaults)" || echo "pnyx (defaults${PER_IP:+, per-IP $PER_IP})")
    pct=$(awk -v o="$ok" -v t="$total" 'BEGIN{printf "%.1f", (t ? 100*o/t : 0)}')
    RESULT[$mode-$server]=$pct
    printf "%-10s %-28s %9s%% (%s/%s)   %s\n" "$mode" "$label" "$pct" "$ok" "$total" "$verdict"
    sleep 3
  done
done
pass=yes
for mode in slowloris slowbody slowread; do
  awk -v p="${RESULT[$mode-pnyx]}" 'BEGIN{exit !(p >= 99)}' || pass=no
done
printf "\nbar: legitimate success >= 99%% against Pnyx in every mode: %s\n" "$pass"
