#!/usr/bin/env bash
# bench/waf.sh — the WAF's cost, side by side in one run: nginx as a plain proxy, nginx + ModSecurity v3 + CRS 3.3
# at paranoia level 1 (Debian's libnginx-mod-http-modsecurity and modsecurity-crs, ../shared/bench/anchors.sh),
# Pnyx with the same CRS at paranoia level 1, and Pnyx with its WAF off. Two workloads, both benign (nothing is
# blocked, checked before measuring):
#   GET  /lookup?first=…&last=…&zip=…&county=…&lang=en   (5 query parameters, real browser headers)
#   POST /ok, a ~1 KB URL-encoded registration form (names such as O'Brien, an address with # and ;)
# Prints requests/s for each and the ratios Pnyx+CRS / plain nginx and Pnyx+CRS / nginx+ModSecurity; then the
# engine alone (`pnyx waf bench`: µs of CPU per request at PL1 and PL4, and CRS load time).
#
#   bench/waf.sh                       # 3 rounds of 10 s, 50 connections
#   ROUNDS=5 DURATION=15 bench/waf.sh
#
# Loopback only. Needs nginx, ModSecurity, CRS, wrk (installed from Debian if missing) and a Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-50}
D=${BENCH_DIR:-/tmp/pnyx-bench-waf}
ANCHORS=../shared/bench/anchors.sh
PNYX_PORT=19120 PNYX_OFF_PORT=19121

bench_need wrk
[ -x "$ANCHORS" ] || { echo "needs $ANCHORS (the reference nginx and nginx + ModSecurity)" >&2; exit 1; }
bench_build_pnyx

rm -rf "$D"; mkdir -p "$D/data" "$D/data-off" "$D/logs"
pnyx_config() { # port data_dir waf
  cat <<YAML
listen: { http: 127.0.0.1:$1 }
admin: { listen: off }
data_dir: $2
access_log: { path: off }
sites:
  - name: bench
    hosts: [vote.example.gov, 127.0.0.1, localhost]
    origins: [http://127.0.0.1:19001]
    cache: off
    rate_limits: [{ name: bench, key: ip, requests: 65535, period: 1s, action: log }]
    escalation: { rate_factor: 1000 }
    waf: $3
YAML
}
pnyx_config $PNYX_PORT "$D/data" "{ mode: block, paranoia_level: 1 }" > "$D/pnyx.yaml"
pnyx_config $PNYX_OFF_PORT "$D/data-off" "{ engine: off }" > "$D/pnyx-off.yaml"

cleanup() {
  [ -n "${P1:-}" ] && kill "$P1" 2>/dev/null || true
  [ -n "${P2:-}" ] && kill "$P2" 2>/dev/null || true
  "$ANCHORS" stop >/dev/null 2>&1 || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
"$ANCHORS" start >/dev/null
"$PNYX" serve --config "$D/pnyx.yaml" --log-level warning 2>"$D/logs/pnyx.err" & P1=$!
"$PNYX" serve --config "$D/pnyx-off.yaml" --log-level warning 2>"$D/logs/pnyx-off.err" & P2=$!
for p in $PNYX_PORT $PNYX_OFF_PORT; do
  for i in $(seq 100); do curl -sf -o /dev/null -H "Host: vote.example.gov" "http://127.0.0.1:$p/" && break; sleep 0.1; done
done

QUERY="/lookup?first=Siobhan&last=O%27Brien&zip=55555&county=Clearwater&lang=en"
BODY="first_name=Siobhan&last_name=O%27Brien&street=1234+Main+St+%234%3B+Apt+2&city=Clearwater&zip=55555&county=Clearwater&dob=1980-04-12&email=siobhan.obrien%40example.com&phone=555-0100&party=none&language=en&comments=I+moved+here+last+year+and+want+to+update+my+address.+Please+select+the+right+precinct+for+me%2C+I+could+not+find+it+on+the+union+county+map.+Thanks%21"
while [ ${#BODY} -lt 1000 ]; do BODY="$BODY&note${#BODY}=more+text+about+my+registration"; done
UA="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
cat > "$D/headers.lua" <<LUA
wrk.headers["Host"] = "vote.example.gov"
wrk.headers["User-Agent"] = "$UA"
wrk.headers["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
wrk.headers["Accept-Language"] = "en-US,en;q=0.9"
wrk.headers["Accept-Encoding"] = "gzip, deflate, br"
LUA
cp "$D/headers.lua" "$D/post.lua"
cat >> "$D/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "$BODY"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
LUA

# Nothing may be blocked: a 403 would measure the block page, not the inspection.
check() { # port
  local g p
  g=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: vote.example.gov" -H "User-Agent: $UA" -H "Accept: text/html" "http://127.0.0.1:$1$QUERY")
  p=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: vote.example.gov" -H "User-Agent: $UA" -H "Accept: text/html" \
    -H "Content-Type: application/x-www-form-urlencoded" --data "$BODY" "http://127.0.0.1:$1/ok")
  [ "$g" = 200 ] && [ "$p" = 200 ] || { echo "port $1 answered GET $g, POST $p (want 200, 200)" >&2; exit 1; }
}
for p in 19002 19003 $PNYX_PORT $PNYX_OFF_PORT; do check $p; done
# And both WAFs block an attack.
for p in 19003 $PNYX_PORT; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: vote.example.gov" -H "User-Agent: $UA" "http://127.0.0.1:$p/lookup?q=%27%20OR%201%3D1--")
  [ "$code" = 403 ] || { echo "port $p did not block ' OR 1=1-- (got $code)" >&2; exit 1; }
done

measure() { # port script path
  local out
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$2" "http://127.0.0.1:$1$3")
  if grep -q 'Non-2xx\|Socket errors' <<<"$out"; then echo "ERR"; return; fi
  awk '/^Requests\/sec/ {print $2}' <<<"$out"
}
echo "warming up…" >&2
for p in 19002 19003 $PNYX_PORT $PNYX_OFF_PORT; do wrk -t1 -c"$CONNECTIONS" -d2s -s "$D/headers.lua" "http://127.0.0.1:$p$QUERY" >/dev/null; done

declare -A R
printf "\nwrk -t1 -c%s -d%ss, %s rounds, loopback, %s cores\n" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$(nproc)"
printf "%-6s %-5s %-26s %10s\n" round kind server "req/s"
for r in $(seq "$ROUNDS"); do
  for kind in GET POST; do
    script="$D/headers.lua"; path=$QUERY
    [ $kind = POST ] && script="$D/post.lua" && path=/ok
    for target in nginx modsec pnyx pnyxoff; do
      case $target in
        nginx) port=19002; label="nginx proxy";;
        modsec) port=19003; label="nginx + ModSecurity + CRS";;
        pnyx) port=$PNYX_PORT; label="pnyx + CRS";;
        pnyxoff) port=$PNYX_OFF_PORT; label="pnyx, WAF off";;
      esac
      rps=$(measure $port "$script" "$path")
      [ "$rps" = ERR ] && { echo "$label answered errors; see $D/logs" >&2; exit 1; }
      printf "%-6s %-5s %-26s %10s\n" "$r" "$kind" "$label" "$rps"
      R[$kind-$target]="${R[$kind-$target]:-} $rps"
    done
  done
done
median() { printf "%s\n" $@ | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
for kind in GET POST; do
  n=$(median ${R[$kind-nginx]}); m=$(median ${R[$kind-modsec]}); p=$(median ${R[$kind-pnyx]}); o=$(median ${R[$kind-pnyxoff]})
  printf "%s median req/s: nginx %.0f · nginx+ModSecurity %.0f · pnyx+CRS %.0f · pnyx WAF off %.0f\n" $kind "$n" "$m" "$p" "$o"
  printf "  ratio pnyx+CRS / plain nginx:         %.2f  (bar 0.5)\n" "$(awk -v a="$p" -v b="$n" 'BEGIN{print a/b}')"
  printf "  ratio pnyx+CRS / nginx+ModSecurity:   %.2f\n" "$(awk -v a="$p" -v b="$m" 'BEGIN{print a/b}')"
done
echo
echo "engine alone (one thread, no network):"
"$PNYX" waf bench --iterations 5000
"$PNYX" waf bench --iterations 2000 --paranoia 4
