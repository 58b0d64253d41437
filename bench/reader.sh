#!/usr/bin/env bash
# bench/reader.sh - throughput and peak memory of the CSV reader
# (`profil validate`) on a synthetic population, plain and gzip.
#
#   bench/reader.sh [PROFIL] [ROWS]     defaults: build/profil, 1000000
set -euo pipefail
PROFIL=${1:-build/profil}
ROWS=${2:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PROFIL" synth --rows "$ROWS" --seed 1 --output "$tmp/pop.csv"
gzip -1 -k "$tmp/pop.csv"
bytes=$(stat -c %s "$tmp/pop.csv")

measure() { # measure LABEL FILE
    local label=$1 file=$2
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$PROFIL" validate --no-rejects "$file" >/dev/null
    local secs rss
    read -r secs rss < "$tmp/time"
    if command -v hyperfine >/dev/null; then
        hyperfine -N -w 1 -r 5 --export-json "$tmp/h.json" \
            "$PROFIL validate --no-rejects $file" >/dev/null
        secs=$(python3 -c "import json;print(json.load(open('$tmp/h.json'))['results'][0]['median'])")
    fi
    awk -v l="$label" -v s="$secs" -v n="$ROWS" -v b="$bytes" -v r="$rss" 'BEGIN {
        printf "%-6s %9d rows  %6.3f s  %10.0f rows/s  %6.1f MB/s (uncompressed)  peak RSS %.1f MiB\n",
               l, n, s, n / s, b / s / 1e6, r / 1024 }'
}
echo "input: $ROWS rows, $((bytes / 1000000)) MB; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
measure csv "$tmp/pop.csv"
measure gzip "$tmp/pop.csv.gz"
