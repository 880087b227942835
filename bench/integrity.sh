#!/usr/bin/env bash
# The cost of integrity on the data path, for a 50 KB HTML page that is not cached (every request reaches the
# origin): the same Pnyx serves three sites in front of one nginx origin: one plain, one whose page is pinned
# (compared with its approved version) and signed (Content-Digest, an Ed25519 signature, the log lookup), and one
# with scripts: enforce (an enforced CSP with a per-response nonce written into the approved script tags as the
# page streams).
# nginx as a reverse proxy runs beside them for scale. Prints requests/s and the integrity on/off ratio.
#
#   bench/integrity.sh              # 3 rounds of 8 s each
#   ROUNDS=5 DURATION=10 bench/integrity.sh
#
# Loopback only. Needs nginx and wrk (installed from Debian if missing) and a Swift toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-50}
D=${BENCH_DIR:-/tmp/pnyx-bench-integrity}
ORIGIN_PORT=19201 NGINX_PORT=19202 PNYX_PORT=19203 ADMIN_PORT=19204

bench_need nginx wrk
bench_build_pnyx

rm -rf "$D"; mkdir -p "$D/www" "$D/logs" "$D/tmp" "$D/data"
# A 50 KB results page: markup and text, as an election results page is.
python3 - "$D/www/index.html" <<'PY'
import sys, random
random.seed(7)
rows = "".join(f"<tr><td>Precinct {i}</td><td>{random.randint(100,900)}</td><td>{random.randint(100,900)}</td></tr>\n" for i in range(1, 2000))
page = f"<!doctype html><html><head><title>Results</title><script src=\"/app.js\"></script></head><body><h1>Results</h1><table>{rows}</table></body></html>\n"
open(sys.argv[1], "w").write(page[:50 * 1024 - 20] + "</table></body></html>\n")
PY
SIZE=$(stat -c %s "$D/www/index.html")
cat > "$D/nginx.conf" <<NG
worker_processes auto;
pid $D/nginx.pid;
error_log $D/logs/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $D/tmp/cb; proxy_temp_path $D/tmp/px; fastcgi_temp_path $D/tmp/fc; uwsgi_temp_path $D/tmp/uw; scgi_temp_path $D/tmp/sc;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$ORIGIN_PORT reuseport backlog=4096; root $D/www; location / { try_files /index.html =404; } }
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 128; }
  server { listen 127.0.0.1:$NGINX_PORT reuseport backlog=4096;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$host; } }
}
NG
cat > "$D/pnyx.yaml" <<YAML
listen: { http: 127.0.0.1:$PNYX_PORT }
admin: { listen: 127.0.0.1:$ADMIN_PORT }
data_dir: $D/data
access_log: { path: off }
sites:
  - name: plain
    hosts: [plain.test]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    cache: off
    waf: { engine: off }
    rate_limits: []
    escalation: off
  - name: guarded
    hosts: [guarded.test]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    cache: off
    waf: { engine: off }
    rate_limits: []
    escalation: off
    integrity: { signed_paths: ["/**"], mode: protect }
  - name: enforced
    hosts: [enforced.test]
    origins: [http://127.0.0.1:$ORIGIN_PORT]
    cache: off
    waf: { engine: off }
    rate_limits: []
    escalation: off
    integrity: { scripts: enforce }
YAML
cleanup() {
  [ -f "$D/nginx.pid" ] && kill "$(cat "$D/nginx.pid")" 2>/dev/null || true
  [ -n "${P1:-}" ] && kill "$P1" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
nginx -c "$D/nginx.conf" -p "$D/"
"$PNYX" serve --config "$D/pnyx.yaml" --log-level warning 2>"$D/logs/pnyx.err" & P1=$!
for i in $(seq 100); do curl -s -o /dev/null -H "Host: plain.test" "http://127.0.0.1:$PNYX_PORT/" && break; sleep 0.1; done
"$PNYX" integrity pin --config "$D/pnyx.yaml" --site guarded / >/dev/null
check=$(curl -s -D - -o /dev/null -H "Host: guarded.test" "http://127.0.0.1:$PNYX_PORT/")
grep -qi "^signature:" <<<"$check" || { echo "the guarded site's response is not signed" >&2; exit 1; }
grep -qi "^pnyx-integrity:" <<<"$check" && { echo "the pinned page does not match its baseline" >&2; exit 1; }
curl -s -o /dev/null -H "Host: enforced.test" "http://127.0.0.1:$PNYX_PORT/"   # the inventory learns the page's script
sleep 0.5
"$PNYX" integrity approve-scripts --config "$D/pnyx.yaml" --site enforced --all >/dev/null
curl -s -H "Host: enforced.test" "http://127.0.0.1:$PNYX_PORT/" | grep -q 'src="/app.js" nonce=' || { echo "the enforced page's script has no nonce" >&2; exit 1; }

measure() { # port host
  local out; out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -H "Host: $2" "http://127.0.0.1:$1/")
  if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "error: $(grep 'Non-2xx\|Socket errors' <<<"$out")" >&2; echo 0; return; fi
  awk '/^Requests\/sec/ {print $2}' <<<"$out"
}
median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "warming up…" >&2
for h in plain.test guarded.test enforced.test; do wrk -t1 -c"$CONNECTIONS" -d2s -H "Host: $h" "http://127.0.0.1:$PNYX_PORT/" >/dev/null; done
printf "\nwrk -t1 -c%s -d%ss, %s rounds, %s-byte HTML page (uncached), loopback, %s cores\n" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$SIZE" "$(nproc)"
N=() P=() G=() E=()
for r in $(seq "$ROUNDS"); do
  n=$(measure $NGINX_PORT plain.test); p=$(measure $PNYX_PORT plain.test); g=$(measure $PNYX_PORT guarded.test)
  e=$(measure $PNYX_PORT enforced.test)
  N+=("$n"); P+=("$p"); G+=("$g"); E+=("$e")
  printf "round %s: nginx proxy %7.0f   pnyx %7.0f   pinned+signed %7.0f   CSP nonce rewrite %7.0f req/s\n" "$r" "$n" "$p" "$g" "$e"
done
mn=$(median "${N[@]}"); mp=$(median "${P[@]}"); mg=$(median "${G[@]}"); me=$(median "${E[@]}")
printf "median: nginx %.0f · pnyx %.0f · pinned+signed %.0f · CSP rewrite %.0f req/s\n" "$mn" "$mp" "$mg" "$me"
awk -v g="$mg" -v e="$me" -v p="$mp" -v n="$mn" 'BEGIN { printf "ratio on/off: pinned+signed %.2f, CSP rewrite %.2f   pnyx/nginx: %.2f   pinned+signed/nginx %.2f, CSP rewrite/nginx %.2f\n", g/p, e/p, p/n, g/n, e/n }'
