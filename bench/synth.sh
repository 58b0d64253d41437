#!/usr/bin/env bash
# bench/synth.sh - throughput and peak memory of the synthetic population
# generator (`profil synth`): to standard output (generation and formatting
# only), to a plain file (with fsync and rename) and to a gzip file.
# Builds nothing; give it the executable.
#
#   bench/synth.sh [PROFIL] [ROWS]     defaults: build/profil, 1e6
set -euo pipefail
PROFIL=${1:-build/profil}
ROWS=${2:-1e6}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nrows=$(awk -v r="$ROWS" 'BEGIN { printf "%d", r + 0 }')

measure() { # measure LABEL ARGS...
    local label=$1
    shift
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$PROFIL" synth --rows "$ROWS" "$@" >/dev/null
    local secs rss
    read -r secs rss <"$tmp/time"
    if command -v hyperfine >/dev/null; then
        hyperfine -N -w 1 -r 5 --export-json "$tmp/h.json" \
            "$PROFIL synth --rows $ROWS $*" >/dev/null
        secs=$(python3 -c "import json;print(json.load(open('$tmp/h.json'))['results'][0]['median'])")
    fi
    awk -v l="$label" -v s="$secs" -v n="$nrows" -v r="$rss" 'BEGIN {
        printf "%-7s %9d rows  %6.3f s  %10.0f rows/s  peak RSS %.1f MiB\n", l, n, s, n / s, r / 1024 }'
}

echo "profil synth: $nrows rows; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
measure stdout
measure csv --output "$tmp/pop.csv"
echo "        $(($(stat -c %s "$tmp/pop.csv") / 1000000)) MB uncompressed"
measure gzip --output "$tmp/pop.csv.gz"
