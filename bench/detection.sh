#!/usr/bin/env bash
# bench/detection.sh — detection and false-positive rates, side by side: Pnyx's WAF modes and nginx + ModSecurity +
# CRS 3.3 at paranoia level 1 (../shared/bench/anchors.sh), on
#   - Pnyx's own benign corpus (Tests/waf/benign, 1,800 requests made by bench/benign-corpus.py: registration forms with names such
#     as O'Brien and Nuñez, addresses with # and ;, free text that says select/union/drop/or, JSON APIs, multipart
#     uploads, real browser headers): every block is a false positive;
#   - CRS v4's regression payloads (../shared/crs-v4/tests/regression/tests): attack samples (tests that expect a
#     rule to match) and CRS's own negative samples.
# Replayed as raw HTTP by ../shared/bench/wafbench.py; a sample is blocked if the answer is 403.
#
#   bench/detection.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
D=${BENCH_DIR:-/tmp/pnyx-bench-detection}
ANCHORS=../shared/bench/anchors.sh
WAFBENCH=../shared/bench/wafbench.py
CRS_TESTS=../shared/crs-v4/tests/regression/tests
[ -x "$ANCHORS" ] && [ -f "$WAFBENCH" ] || { echo "needs $ANCHORS and $WAFBENCH" >&2; exit 1; }
python3 -c 'import yaml' 2>/dev/null || python3 -m pip install -q pyyaml 2>/dev/null || python3 -m pip install -q --break-system-packages pyyaml
bench_build_pnyx

rm -rf "$D"; mkdir -p "$D/logs"
# mode name, port, waf settings
MODES=("default-both-pl1 19133 { engine: both, mode: block, paranoia_level: 1 }" "native 19134 { engine: native, mode: block }" "crs-pl1 19131 { engine: crs, mode: block, paranoia_level: 1 }" "crs-pl2 19132 { engine: crs, mode: block, paranoia_level: 2 }")
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; "$ANCHORS" stop >/dev/null 2>&1 || true; wait 2>/dev/null || true; }
trap cleanup EXIT
"$ANCHORS" start >/dev/null
for entry in "${MODES[@]}"; do
  read -r name port waf <<<"$entry"
  mkdir -p "$D/$name"
  cat > "$D/$name.yaml" <<YAML
listen: { http: 127.0.0.1:$port }
admin: { listen: off }
data_dir: $D/$name
access_log: { path: off }
default_site: bench
bans: off
sites:
  - name: bench
    hosts: [localhost, vote.example.gov, 127.0.0.1]
    origins: [http://127.0.0.1:19001]
    cache: off
    rate_limits: []
    escalation: off
    integrity: { scripts: off }
    waf: $waf
YAML
  "$PNYX" serve --config "$D/$name.yaml" --log-level warning 2>"$D/logs/$name.err" & PIDS+=($!)
done
for entry in "${MODES[@]}"; do
  read -r name port _ <<<"$entry"
  for i in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

run() { # label url
  echo
  echo "=== $1 ($2)"
  python3 "$WAFBENCH" --target "$2" --host-header vote.example.gov --blazehttp Tests/waf/benign --crs "$CRS_TESTS" --only blazehttp --quiet \
    --json "$D/$1-benign.json" >/dev/null
  python3 "$WAFBENCH" --target "$2" --host-header vote.example.gov --crs "$CRS_TESTS" --only crs --quiet --json "$D/$1-crs.json" >/dev/null
  python3 - "$D/$1-benign.json" "$D/$1-crs.json" <<'PY'
import json, sys
benign = json.load(open(sys.argv[1])); crs = json.load(open(sys.argv[2]))
def corpus(data, name):
    for key, value in data.get("corpora", {}).items():
        if key == name: return value
    return {}
b = corpus(benign, "blazehttp"); c = corpus(crs, "crs")
def n(data, label): return data.get("labels", {}).get(label, {}).get("resolved", 0)
print("  Pnyx benign corpus: %s requests, false positives %s%%" % (n(b, "benign"), b.get("false_positive_rate_pct")))
print("  CRS regression payloads: detection %s%% of %s attacks, false positives %s%% of %s negatives" % (
    c.get("detection_rate_pct"), n(c, "attack"), c.get("false_positive_rate_pct"), n(c, "benign")))
PY
}
run "nginx+ModSecurity+CRS-PL1" http://127.0.0.1:19003
for entry in "${MODES[@]}"; do
  read -r name port _ <<<"$entry"
  run "pnyx-$name" "http://127.0.0.1:$port"
done
echo
echo "(default-both: Pnyx's default, CRS with the native detectors as a second opinion on the rules that fire on"
echo " prose; native: the native detectors alone, without CRS.)"
