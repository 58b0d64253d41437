#!/usr/bin/env bash
# bench/compare.sh - profil against the tools a user would otherwise use, on
# the same input: `profil validate` vs pandas (bench/peers/validate_pandas.py)
# vs data.table (bench/peers/validate_datatable.R, 2 threads), and
# `profil synth` vs numpy/pandas (bench/peers/synth_numpy.py). Reports wall
# time (hyperfine median), peak RSS (/usr/bin/time) and the ratios peer/profil.
# First checks that the three validators reject exactly the same rows of the
# input (a profil population with 1 % of its rows corrupted by
# bench/peers/corrupt.py). Installs missing Debian packages for the peers
# (python3-pandas, python3-numpy, r-base-core, r-cran-data.table, hyperfine,
# time) with apt-get, through sudo when not root.
#
#   bench/compare.sh [ROWS] [PROFIL]     defaults: 1e6, build/profil
#                                        (either order; RUNS=5 timed runs each)
set -euo pipefail
PROFIL=build/profil
ROWS=1e6
for a in "$@"; do
    case $a in
    *[!0-9.eE+]*) PROFIL=$a ;;
    *) ROWS=$a ;;
    esac
done
RUNS=${RUNS:-5}
PY=/usr/bin/python3 # Debian's, whatever python3 comes first on PATH
here=$(cd "$(dirname "$0")" && pwd)
peers=$here/peers

. "$here/lib.sh"
bench_install python3-pandas python3-numpy r-base-core r-cran-data.table hyperfine time

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nrows=$(awk -v r="$ROWS" 'BEGIN { printf "%d", r + 0 }')

"$PROFIL" synth --rows "$ROWS" --seed 1 --output "$tmp/pop.csv"
"$PY" "$peers/corrupt.py" --rate 0.01 --seed 1 "$tmp/pop.csv" "$tmp/in.csv" 2>"$tmp/corrupt.txt"
rm -f "$tmp/pop.csv" "$tmp/pop.truth.json"
bytes=$(stat -c %s "$tmp/in.csv")

echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
# shellcheck disable=SC2016 # R code in single quotes
echo "$("$PROFIL" --version | head -1); pandas $("$PY" -c 'import pandas; print(pandas.__version__)')," \
    "numpy $("$PY" -c 'import numpy; print(numpy.__version__)');" \
    "$(Rscript -e 'cat(R.version$major, R.version$minor, sep = ".")' | sed 's/^/R /'), data.table" \
    "$(Rscript -e 'cat(format(packageVersion("data.table")))'); $(hyperfine --version)"
echo "input: $nrows rows, $((bytes / 1000000)) MB, $(cat "$tmp/corrupt.txt")"

# --- Agreement: the same rows rejected by all three. ---
"$PROFIL" validate --rejects "$tmp/profil.rej" "$tmp/in.csv" >"$tmp/profil.out" || true
tail -n +2 "$tmp/profil.rej" | cut -d, -f1 | sort -un >"$tmp/profil.rows"
"$PY" "$peers/validate_pandas.py" --rejected-rows "$tmp/pandas.rows" "$tmp/in.csv" >"$tmp/pandas.out"
Rscript "$peers/validate_datatable.R" --rejected-rows "$tmp/r.rows" "$tmp/in.csv" >"$tmp/r.out"
counts() { awk '/rows (read|accepted|rejected):/ { printf "%s %s  ", $2, $3 }' "$1"; }
agree=1
for peer in pandas r; do
    sort -n "$tmp/$peer.rows" -o "$tmp/$peer.rows"
    if ! cmp -s "$tmp/profil.rows" "$tmp/$peer.rows"; then
        agree=0
        echo "DISAGREEMENT profil vs $peer (< only profil rejects, > only $peer rejects; first 20):"
        diff "$tmp/profil.rows" "$tmp/$peer.rows" | grep '^[<>]' | head -20
    fi
done
echo "profil:     $(counts "$tmp/profil.out")"
echo "pandas:     $(counts "$tmp/pandas.out")"
echo "data.table: $(counts "$tmp/r.out")"
((agree)) && echo "rejected rows: identical in all three"
echo

# --- Timing. ---
results=$tmp/results
: >"$results"
measure() { # measure TASK TOOL COMMAND...
    local task=$1 tool=$2
    shift 2
    # profil validate exits with 1 when it rejects rows: that is success here.
    local rc=0
    /usr/bin/time -f '%M' -o "$tmp/rss" "$@" >/dev/null 2>"$tmp/stderr" || rc=$?
    if ((rc > 1)); then
        cat "$tmp/stderr" >&2
        return 1
    fi
    hyperfine -N -i -w 1 -r "$RUNS" --export-json "$tmp/h.json" "$*" >/dev/null 2>&1
    local secs
    secs=$("$PY" -c "import json; print(json.load(open('$tmp/h.json'))['results'][0]['median'])")
    echo "$task $tool $secs $(tail -1 "$tmp/rss")" >>"$results"
}
measure validate profil "$PROFIL" validate --no-rejects "$tmp/in.csv"
measure validate pandas "$PY" "$peers/validate_pandas.py" "$tmp/in.csv"
measure validate data.table Rscript "$peers/validate_datatable.R" "$tmp/in.csv"
measure synth profil "$PROFIL" synth --rows "$ROWS" --seed 1 --output "$tmp/s.csv"
measure synth numpy "$PY" "$peers/synth_numpy.py" --rows "$ROWS" --seed 1 --output "$tmp/s.csv"

awk -v n="$nrows" '
    BEGIN {
        printf "| task | tool | median s | rows/s | peak RSS MiB | time / profil | RSS / profil |\n"
        printf "| --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
    }
    $2 == "profil" { t[$1] = $3; m[$1] = $4 }
    {
        printf "| %s | %s | %.3f | %.0f | %.1f | %s | %s |\n", $1, $2, $3, n / $3, $4 / 1024,
               $2 == "profil" ? "1" : sprintf("%.1f", $3 / t[$1]),
               $2 == "profil" ? "1" : sprintf("%.1f", $4 / m[$1])
    }' "$results"
((agree)) || exit 1
