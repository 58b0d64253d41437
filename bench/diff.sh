#!/usr/bin/env bash
# bench/diff.sh - `profil diff` beside the scripts a user would otherwise
# write for the same comparison: pandas (merge + crosstab,
# bench/diff/diff_pandas.py) and R data.table (merge + table,
# bench/diff/diff_datatable.R, 2 threads), on the same two scored files, in
# one run; then profil's memory at a larger size.
#
#   bench/diff.sh [PROFIL] [ROWS] [MEM_ROWS]    defaults: build/profil, 1e6, 1e7
#                                               (0 skips either part)
#
# ROWS: `profil synth --rows ROWS --seed 1`, scored under krom-2020 (A) and
# under krom-2021-08 (B, rows shuffled, so matching is by id, and the first
# 1000 rows dropped), then
#   profil diff -q -o CHANGES.csv A.csv B.csv
# and the peers. Reports wall time (fastest of RUNS, default 3), peak RSS
# (/usr/bin/time -v) and the ratios peer / profil, and checks that the
# three list the same persons with the same change. MEM_ROWS: two minimal
# decision files with that many ids (awk), for profil's peak RSS alone
# (about 5 % of the decisions differ). Installs r-base-core, r-cran-data.table, python3-pandas and
# time from Debian when missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFIL=${1:-$root/build/profil}
ROWS=${2:-1e6}
MEM_ROWS=${3:-1e7}
RUNS=${RUNS:-3}
PY=/usr/bin/python3
. "$root/bench/lib.sh"
bench_install r-base-core r-cran-data.table python3-pandas time

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
echo "profil: $("$PROFIL" --version | head -1)"
echo "R: $(Rscript -e 'cat(R.version.string, "data.table", format(packageVersion("data.table")))')"
echo "python: $($PY -c 'import sys, pandas; print(sys.version.split()[0], "pandas", pandas.__version__)')"

wall_s() {
    sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}
peak_mb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1" | awk '{ printf "%.0f", $1 / 1024 }'; }
n=$($PY -c "print(int(float('$ROWS')))")
if [ "$n" -gt 0 ]; then
"$PROFIL" synth --rows "$n" --seed 1 -o "$tmp/pop.csv"
"$PROFIL" score -q --threads 2 --policy krom-2020 -o "$tmp/a.csv" "$tmp/pop.csv"
"$PROFIL" score -q --threads 2 --policy krom-2021-08 -o "$tmp/b0.csv" "$tmp/pop.csv"
{ head -1 "$tmp/b0.csv"; tail -n +1002 "$tmp/b0.csv" | shuf --random-source=<(yes); } >"$tmp/b.csv"
rm -f "$tmp/b0.csv" "$tmp/pop.csv"
echo "rows: A $n, B $((n - 1000)) (shuffled); $(du -m "$tmp/a.csv" | cut -f1) MB each"
echo

# measure NAME CMD...: fastest wall time of RUNS runs, peak RSS of the fastest
measure() {
    local name=$1 best= rss= k
    shift
    for ((k = 0; k < RUNS; k++)); do
        local st=0
        /usr/bin/time -v "$@" >"$tmp/$name.out" 2>"$tmp/$name.time" || st=$?
        # profil diff exits 1 when decisions changed, as diff(1) does
        [ "$st" -le 1 ] || { cat "$tmp/$name.time" >&2; exit 1; }
        local w
        w=$(wall_s "$tmp/$name.time")
        if [ -z "$best" ] || awk "BEGIN { exit !($w < $best) }"; then best=$w rss=$(peak_mb "$tmp/$name.time"); fi
    done
    echo "$name $best $rss" >>"$tmp/results"
}
: >"$tmp/results"
measure profil "$PROFIL" diff -q -o "$tmp/ch-profil.csv" "$tmp/a.csv" "$tmp/b.csv"
measure pandas "$PY" "$root/bench/diff/diff_pandas.py" "$tmp/a.csv" "$tmp/b.csv" "$tmp/ch-pandas.csv"
measure data.table env OMP_THREAD_LIMIT=2 Rscript "$root/bench/diff/diff_datatable.R" \
    "$tmp/a.csv" "$tmp/b.csv" "$tmp/ch-dt.csv"

# The same persons with the same change from all three.
$PY - "$tmp/ch-profil.csv" "$tmp/ch-pandas.csv" "$tmp/ch-dt.csv" <<'PY'
import csv, sys
sets = [sorted((r["id"], r["change"]) for r in csv.DictReader(open(p, newline=""))) for p in sys.argv[1:]]
assert sets[0] == sets[1] == sets[2], [len(s) for s in sets]
print(f"agreement: the three list the same {len(sets[0])} persons with the same change")
PY
echo
printf '%-12s %10s %10s %12s %12s\n' tool "time (s)" "RSS (MiB)" "time/profil" "RSS/profil"
read -r _ pt pr < <(grep '^profil ' "$tmp/results")
while read -r name t r; do
    printf '%-12s %10.2f %10s %12.1f %12.1f\n' "$name" "$t" "$r" \
        "$(awk "BEGIN { print $t / $pt }")" "$(awk "BEGIN { print $r / $pr }")"
done <"$tmp/results"
fi

m=$($PY -c "print(int(float('$MEM_ROWS')))")
if [ "$m" -gt 0 ]; then
    rm -f "$tmp"/a.csv "$tmp"/b.csv "$tmp"/ch-*
    gen() { # gen N SHIFT: a minimal decisions file with N ids P0000000001...;
        # SHIFT moves p of every tenth id, so about 5 % of the decisions change
        awk -v n="$1" -v d="$2" 'BEGIN {
            srand(1); print "id,p,grupp,niva,spar,leveransomrade,max_ersattning,eligible,ineligible_rule"
            for (i = 1; i <= n; i++) {
                p = rand(); if (i % 10 == 0) p = (p + d) % 1; g = p >= 0.5 ? 1 : p < 0.15 ? 3 : 2
                printf "P%010d,%.6f,%d,%s,,,,%d,%s\n", i, p, g, g == 2 ? "B" : "", g == 2, g == 2 ? "" : "statistisk_bedomning"
            } }'
    }
    gen "$m" 0 >"$tmp/ma.csv"
    gen "$m" 0.1 >"$tmp/mb.csv"
    /usr/bin/time -v "$PROFIL" diff -q -o "$tmp/mch.csv" "$tmp/ma.csv" "$tmp/mb.csv" 2>"$tmp/m.time" || true
    echo
    echo "memory: profil diff of two files of $m ids ($(du -m "$tmp/ma.csv" | cut -f1) MB each," \
        "$(($(wc -l <"$tmp/mch.csv") - 1)) persons listed): $(wall_s "$tmp/m.time") s," \
        "peak RSS $(peak_mb "$tmp/m.time") MiB"
fi
