#!/usr/bin/env bash
# bench/serve.sh - the HTTP service: `profil serve` beside the FastAPI +
# uvicorn + scikit-learn service a team would otherwise build
# (bench/serve/peer_fastapi.py), both serving the same model, policy and
# schema files, in one run.
#
#   bench/serve.sh [PROFIL]        default build/profil
#
# Both answer single-profile POST /v1/score requests from wrk on loopback:
# 32 connections, 2 wrk threads, DURATION seconds (default 20) after a
# 3-second warm-up, the body one profile of `profil synth --rows 1 --seed 5`.
# profil runs with --threads 2, the peer with uvicorn --workers 2 (the
# machine's cores). Reports requests/s, latency p50/p90/p99 (wrk
# --latency), peak RSS of the server (all its processes, from /proc at the
# end of the run) and the ratio of requests/s. First checks that both
# answer the profile with the same p, grupp and nivå.
#
# Environment: DURATION, CONNECTIONS (32), POLICY (krom-2021-08), MODEL.
# Installs wrk, curl, python3-fastapi, python3-uvicorn, python3-sklearn and
# python3-pandas from Debian when missing; runs Debian's /usr/bin/python3.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/lib.sh"
PROFIL=${1:-$root/build/profil}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-32}
PY=/usr/bin/python3
DATA=${PROFIL_DATA:-$root/data}
POLICY=${POLICY:-krom-2021-08}
MODEL=${MODEL:-$DATA/models/af-logit.json}
SCHEMA=$DATA/schema/af-inskrivning.json
POLICY_FILE=$DATA/policies/$POLICY.json

bench_install wrk curl python3-fastapi python3-uvicorn python3-sklearn python3-pandas

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$PROFIL" synth --rows 1 --seed 5 --output "$work/one.csv" >/dev/null
$PY - "$work/one.csv" >"$work/one.json" <<'PYEOF'
import csv, json, sys
r = next(csv.DictReader(open(sys.argv[1], newline="")))
for k in ("arbete_studier_90d", "arbete_studier_180d"):
    r.pop(k)
print(json.dumps({k: (None if v == "" else v) for k, v in r.items()}))
PYEOF
cat >"$work/post.lua" <<LUAEOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$work/one.json", "r")
wrk.body = f:read("*a")
f:close()
LUAEOF

wait_port() { # wait_port PORT PID
    for _ in $(seq 300); do
        curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
        kill -0 "$2" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# rss PID: peak RSS in MiB of PID and its children (VmHWM).
rss() {
    local total=0 p
    for p in $1 $(pgrep -P "$1" || true); do
        total=$((total + $(awk '/VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    echo $((total / 1024))
}

# run NAME PORT PID: warm-up, then the measured wrk run; prints a table row.
run() {
    local name=$1 port=$2 pid=$3 url="http://127.0.0.1:$2/v1/score"
    wrk -t2 -c"$CONNECTIONS" -d3s -s "$work/post.lua" "$url" >/dev/null
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/post.lua" "$url" >"$work/$name.wrk"
    local rps p50 p90 p99 errors
    rps=$(awk '/^Requests\/sec/ { print $2 }' "$work/$name.wrk")
    p50=$(awk '$1 == "50%" { print $2 }' "$work/$name.wrk")
    p90=$(awk '$1 == "90%" { print $2 }' "$work/$name.wrk")
    p99=$(awk '$1 == "99%" { print $2 }' "$work/$name.wrk")
    errors=$(awk '/Non-2xx|Socket errors/ { print }' "$work/$name.wrk" | tr '\n' ' ')
    printf '%-28s %12s %10s %10s %10s %8s MiB %s\n' "$name" "$rps" "$p50" "$p90" "$p99" \
        "$(rss "$pid")" "$errors"
    echo "$rps" >"$work/$name.rps"
}

"$PROFIL" serve -q --port 0 --port-file "$work/profil.port" --threads 2 --policy "$POLICY_FILE" \
    --model "$MODEL" --schema "$SCHEMA" &
pids+=($!)
ppid=$!
for _ in $(seq 100); do [ -s "$work/profil.port" ] && break; sleep 0.1; done
pport=$(cat "$work/profil.port")
wait_port "$pport" "$ppid"

fport=$((20000 + RANDOM % 20000))
MODEL=$MODEL POLICY=$POLICY_FILE SCHEMA=$SCHEMA $PY -m uvicorn --app-dir "$root/bench/serve" \
    peer_fastapi:app --workers 2 --host 127.0.0.1 --port "$fport" --log-level warning &
pids+=($!)
fpid=$!
wait_port "$fport" "$fpid" || { echo "the FastAPI peer did not start" >&2; exit 2; }

# Agreement on the profile before timing.
curl -s -H 'Content-Type: application/json' --data-binary @"$work/one.json" \
    "http://127.0.0.1:$pport/v1/score" >"$work/profil.out"
curl -s -H 'Content-Type: application/json' --data-binary @"$work/one.json" \
    "http://127.0.0.1:$fport/v1/score" >"$work/peer.out"
$PY - "$work/profil.out" "$work/peer.out" <<'PYEOF'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert "p" in a and "p" in b, (a, b)
for k in ("p", "grupp", "niva", "ineligible_rule"):
    assert a[k] == b[k], (k, a[k], b[k])
print(f"agree: p {a['p']}, grupp {a['grupp']}, niva {a['niva']}")
PYEOF

echo "wrk -t2 -c$CONNECTIONS -d${DURATION}s, one profile per POST /v1/score; $(nproc) cores"
printf '%-28s %12s %10s %10s %10s %12s\n' server requests/s p50 p90 p99 "peak RSS"
run "profil serve (2 threads)" "$pport" "$ppid"
run "FastAPI+uvicorn (2 workers)" "$fport" "$fpid"
awk -v a="$(cat "$work/profil serve (2 threads).rps" 2>/dev/null || cat "$work"/profil*.rps)" \
    -v b="$(cat "$work"/FastAPI*.rps)" 'BEGIN { printf "ratio requests/s profil / peer: %.1f\n", a / b }'
