#!/usr/bin/env bash
# bench/score.sh - batch scoring: `profil score` beside the scripts a user
# would otherwise write for the same decisions, R with data.table
# (bench/score/score_datatable.R, 2 threads) and pandas with scikit-learn
# (bench/score/score_sklearn.py), on the same population, in one run.
#
#   bench/score.sh [PROFIL] [ROWS...]     defaults: build/profil, 1e6 1e7
#                                         (any order; numbers are sizes)
#
# For each size: generates `profil synth --rows N --seed 1`, runs
#   profil score --policy krom-2021-08 --model data/models/af-logit.json
#                --threads 2 -q -o OUT.csv IN.csv
# and the two peers (same model, policy and schema files), and reports wall
# time, peak RSS, rows/s, input MB/s and the ratios peer / profil, with
# `profil validate --no-rejects` of the same file (reading and checking
# only) for reference. Then checks
# that the decisions agree on every row (bench/score/agree.py): grupp, nivå,
# spår, target groups, area, compensation, eligibility and the failed rule
# exactly, p within 1e-6, logit within 1e-4, and the three reasons, which may
# differ only on near-ties (|contributions| within 1e-9). Exit status 1 when
# a peer disagrees with profil.
#
# Environment:
#   RUNS           hyperfine runs of profil (median counts), default 5
#   PEER_RUNS      runs of each peer, the fastest counts; default 3 up to 10^6
#                  rows and 1 above
#   PEER_MAX_ROWS  skip the peers above this many rows (default: never)
#   THREADS        profil's --threads, default 2
#   POLICY         default krom-2021-08; MODEL default data/models/af-logit.json
#
# Every tool's output is removed before each of its runs, so that none pays
# for freeing the last run's file (see docs/performance.md).
#
# Installs its peers from Debian when they are missing (r-base-core,
# r-cran-data.table, r-cran-jsonlite, python3-pandas, python3-sklearn,
# python3-numpy, hyperfine, time), through sudo when not root, and runs
# Debian's /usr/bin/python3 whatever python3 comes first on PATH. Wall time:
# the hyperfine median for profil, /usr/bin/time for the peers; peak RSS:
# /usr/bin/time -v of one run ("Maximum resident set size").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFIL=$root/build/profil
sizes=()
for a in "$@"; do
    case $a in
    *[!0-9.eE+]*) PROFIL=$a ;;
    *) sizes+=("$a") ;;
    esac
done
((${#sizes[@]})) || sizes=(1e6 1e7)
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}
PY=/usr/bin/python3 # Debian's, whatever python3 comes first on PATH
DATA=${PROFIL_DATA:-$root/data}
POLICY=${POLICY:-krom-2021-08}
MODEL=${MODEL:-$DATA/models/af-logit.json}
SCHEMA=$DATA/schema/af-inskrivning.json
case $POLICY in
*/* | *.json) POLICY_FILE=$POLICY ;;
*) POLICY_FILE=$DATA/policies/$POLICY.json ;;
esac
peers=$root/bench/score

# --- peers -------------------------------------------------------------------
. "$root/bench/lib.sh"
bench_install r-base-core r-cran-data.table r-cran-jsonlite python3-pandas python3-sklearn \
    python3-numpy hyperfine time

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- machine -------------------------------------------------------------------
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1)," \
    "$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
echo "profil: $("$PROFIL" --version | head -1)"
echo "R: $(Rscript -e 'cat(R.version.string, "data.table", format(packageVersion("data.table")), "jsonlite", format(packageVersion("jsonlite")))')"
echo "python: $($PY -c 'import sys, sklearn, pandas, numpy; print(sys.version.split()[0], "pandas", pandas.__version__, "scikit-learn", sklearn.__version__, "numpy", numpy.__version__)')"
echo "model: $MODEL; policy: $POLICY_FILE; profil --threads $THREADS"
echo

median() { "$PY" -c "import json, sys; print(json.load(open(sys.argv[1]))['results'][0]['median'])" "$1"; }
peak_kb() { sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$1"; }
wall_s() { # elapsed of /usr/bin/time -v, h:mm:ss or m:ss.ss, in seconds
    sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$1" |
        awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }'
}

status=0
for ROWS in "${sizes[@]}"; do
    nrows=$(awk -v r="$ROWS" 'BEGIN { printf "%d", r + 0 }')
    pop=$tmp/pop.csv
    "$PROFIL" synth --rows "$ROWS" --seed 1 --output "$pop" >/dev/null
    rm -f "$tmp/pop.truth.json"
    bytes=$(stat -c %s "$pop")
    echo "== $nrows rows, $((bytes / 1000000)) MB (profil synth --rows $ROWS --seed 1)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    results=$tmp/results
    : >"$results"

    # profil: peak RSS and the output from one run, the time from hyperfine.
    cmd=("$PROFIL" score --policy "$POLICY" --model "$MODEL" --threads "$THREADS" -q
        -o "$tmp/profil.csv" "$pop")
    # Every tool writes a new file on each run, as a nightly job writing a
    # dated file does: replacing the last run's output would add the file
    # system's cost of freeing it (see docs/performance.md) to whichever
    # tool happened to replace it.
    fresh=(rm -f "$tmp/profil.csv" "$tmp/profil.manifest.json" "$tmp/profil.rejects.csv")
    /usr/bin/time -v -o "$tmp/time" "${cmd[@]}"
    hyperfine -N -w 1 -r "$RUNS" --prepare "$(printf '%q ' "${fresh[@]}")" \
        --export-json "$tmp/h.json" "$(printf '%q ' "${cmd[@]}")" >/dev/null 2>"$tmp/hf.err"
    echo "profil $(median "$tmp/h.json") $(peak_kb "$tmp/time")" >>"$results"
    # For reference: reading and checking the same file, without scoring.
    cmd=("$PROFIL" validate --no-rejects -q "$pop")
    /usr/bin/time -v -o "$tmp/time" "${cmd[@]}"
    hyperfine -N -w 1 -r "$RUNS" --export-json "$tmp/h.json" "$(printf '%q ' "${cmd[@]}")" \
        >/dev/null 2>>"$tmp/hf.err"
    echo "validate $(median "$tmp/h.json") $(peak_kb "$tmp/time")" >>"$results"

    # Peers: the fastest of PEER_RUNS runs; peak RSS of that run.
    ran=()
    if [ -z "${PEER_MAX_ROWS:-}" ] ||
        awk -v n="$nrows" -v m="$PEER_MAX_ROWS" 'BEGIN { exit !(n <= m + 0) }'; then
        runs=${PEER_RUNS:-$( ((nrows <= 1000000)) && echo 3 || echo 1)}
        for peer in datatable sklearn; do
            case $peer in
            datatable) pcmd=(Rscript "$peers/score_datatable.R") ;;
            sklearn) pcmd=("$PY" "$peers/score_sklearn.py") ;;
            esac
            best=
            for ((i = 0; i < runs; i++)); do
                rm -f "$tmp/$peer.csv"
                /usr/bin/time -v -o "$tmp/time" "${pcmd[@]}" "$MODEL" "$POLICY_FILE" "$SCHEMA" \
                    "$pop" "$tmp/$peer.csv" >"$tmp/$peer.out"
                s=$(wall_s "$tmp/time")
                if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
                    best=$s
                    m=$(peak_kb "$tmp/time")
                    steps=$(sed -n 's/^timing //p' "$tmp/$peer.out")
                fi
            done
            echo "$peer $best $m" >>"$results"
            echo "$peer steps (s): $steps" >>"$tmp/steps"
            ran+=("$peer")
        done
    else
        echo "peers skipped above PEER_MAX_ROWS=$PEER_MAX_ROWS rows"
    fi

    awk -v n="$nrows" -v b="$bytes" '
        BEGIN {
            name["profil"] = "profil score"
            name["datatable"] = "R data.table (2 threads)"
            name["sklearn"] = "pandas + scikit-learn"
            name["validate"] = "profil validate (reading only)"
            printf "| tool | wall s | peak RSS MiB | rows/s | input MB/s | time / profil | RSS / profil |\n"
            printf "| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
        }
        $1 == "profil" { t = $2; m = $3 }
        {
            printf "| %s | %.2f | %.1f | %.0f | %.1f | %s | %s |\n", name[$1], $2, $3 / 1024,
                   n / $2, b / $2 / 1e6,
                   $1 == "profil" ? "1" : $1 == "validate" ? "-" : sprintf("%.1f", $2 / t),
                   $1 == "profil" ? "1" : $1 == "validate" ? "-" : sprintf("%.0f", $3 / m)
        }' "$results"
    [ ! -s "$tmp/steps" ] || cat "$tmp/steps"
    rm -f "$tmp/steps"
    echo "profil: median of $RUNS runs (hyperfine)$( ((${#ran[@]})) &&
        echo "; peers: the fastest of $runs run(s)")."
    ! grep -q outlier "$tmp/hf.err" ||
        echo "hyperfine saw statistical outliers: other load on the machine."

    # Goals of the issue.
    awk '
        $1 == "profil" { t = $2; m = $3 / 1024 }
        $1 == "datatable" { r = $2 }
        $1 == "sklearn" { s = $2 }
        END {
            if (r) printf "profil vs R data.table:          %.1fx faster (goal >= 5x: %s)\n",
                          r / t, (r / t >= 5 ? "met" : "NOT met")
            if (s) printf "profil vs pandas + scikit-learn: %.1fx faster (goal >= 15x: %s)\n",
                          s / t, (s / t >= 15 ? "met" : "NOT met")
            printf "profil peak memory:              %.1f MiB (goal < 64 MiB: %s)\n",
                   m, (m < 64 ? "met" : "NOT met")
        }' "$results"
    echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"

    # Agreement, row by row.
    for peer in "${ran[@]}"; do
        "$PY" "$peers/agree.py" "$peer" "$tmp/profil.csv" "$tmp/$peer.csv" "$pop" "$MODEL" \
            "$POLICY_FILE" "$SCHEMA" || status=1
        rm -f "$tmp/$peer.csv"
    done
    rm -f "$tmp"/profil.* "$pop"
    echo
done
exit $status
