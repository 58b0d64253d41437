#!/usr/bin/env bash
# bench/train.sh - wall time and peak memory of `profil train` beside R's glm
# (reading with data.table) and scikit-learn's LogisticRegression (solver
# newton-cholesky) on the same 40-parameter design (bench/train/spec40.json),
# with a check that the three agree on the coefficients.
#
#   bench/train.sh [ROWS]          default 1e6 rows of `profil synth -s 1`
#
# Environment: PROFIL (default build/profil), RUNS (hyperfine runs of each
# profil command, default 5), PEER_RUNS (runs of each peer, the faster one
# counts, default 3). Installs its peers from Debian when they are missing
# (r-base-core, r-cran-data.table, python3-pandas, python3-sklearn,
# python3-numpy, hyperfine). Exit status 1 when the coefficients disagree.
#
# Whole-process wall time: the hyperfine median for profil, /usr/bin/time
# for the peers; peak RSS: /usr/bin/time. The peers (bench/train/glm.R,
# bench/train/sklearn_fit.py) print the seconds of their read, design and
# fit steps. profil prints no timing; its fit is measured two ways:
#   fit*  wall time of pf_irls_fit itself, from perf uprobes on its entry and
#         return (when perf can place them, i.e. as root with uprobes);
#   fit~  `profil train` minus `profil validate` of the same file (medians),
#         which also counts encoding the design and the training
#         distributions, so it is an upper bound on the fit.
set -euo pipefail

ROWS=${1:-1e6}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFIL=${PROFIL:-$root/build/profil}
RUNS=${RUNS:-5}
PEER_RUNS=${PEER_RUNS:-3}
PY=/usr/bin/python3 # Debian's, whatever python3 comes first on PATH
SPEC=$root/bench/train/spec40.json
REGION=${PROFIL_DATA:-$root/data}/ref/fodelseland-region.csv

# --- peers -------------------------------------------------------------------
. "$root/bench/lib.sh"
bench_install r-base-core r-cran-data.table python3-pandas python3-sklearn python3-numpy \
    hyperfine

tmp=$(mktemp -d)
probes=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    [ -z "$probes" ] || perf probe -q -d 'profil_bench:*' >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# --- machine and input --------------------------------------------------------
nrows=$(awk -v r="$ROWS" 'BEGIN { printf "%d", r + 0 }')
"$PROFIL" synth -n "$ROWS" -s 1 -o "$tmp/pop.csv" >/dev/null
mb=$(($(stat -c %s "$tmp/pop.csv") / 1000000))
blas=$(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null || echo unknown)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); BLAS $blas"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "profil: $("$PROFIL" --version | head -1)"
echo "R: $(Rscript -e 'cat(R.version.string, "data.table", format(packageVersion("data.table")))')"
echo "python: $($PY -c 'import sys, sklearn, pandas, numpy; print(sys.version.split()[0], "scikit-learn", sklearn.__version__, "pandas", pandas.__version__, "numpy", numpy.__version__)')"
echo "input: $nrows rows, $mb MB (profil synth -n $ROWS -s 1); model bench/train/spec40.json"
echo

# --- profil -------------------------------------------------------------------
train_cmd() { # train_cmd THREADS: sets cmd to the benchmarked command line
    cmd=("$PROFIL" train -m "$SPEC" -o "$tmp/model-t$1.json" --coef-csv "$tmp/profil-t$1.csv"
        --holdout 0 --threads "$1" -q "$tmp/pop.csv")
}
quoted() { printf '%q ' "${cmd[@]}"; }
declare -A secs rss
hf=()
for t in 1 2; do
    train_cmd $t
    /usr/bin/time -f '%e %M' -o "$tmp/time" "${cmd[@]}" >/dev/null
    read -r _ "rss[t$t]" <"$tmp/time"
    hf+=("$(quoted)")
done
cmd=("$PROFIL" validate --no-rejects "$tmp/pop.csv")
/usr/bin/time -f '%e %M' -o "$tmp/time" "${cmd[@]}" >/dev/null
read -r _ "rss[validate]" <"$tmp/time"
hf+=("$(quoted)")
hyperfine -N -w 1 -r "$RUNS" --export-json "$tmp/h.json" "${hf[@]}" >/dev/null 2>"$tmp/hf.err"
read -r "secs[t1]" "secs[t2]" "secs[validate]" < <($PY -c "import json, sys
print(*(r['median'] for r in json.load(open(sys.argv[1]))['results']))" "$tmp/h.json")

# The fit itself: uprobes on pf_irls_fit, median of three runs per thread count.
declare -A fit
perf probe -q -d 'profil_bench:*' >/dev/null 2>&1 || true # left by an interrupted run
if command -v perf >/dev/null &&
    perf probe -q -x "$PROFIL" -a 'profil_bench:fit=pf_irls_fit' \
        -a 'profil_bench:fit_ret=pf_irls_fit%return' >/dev/null 2>&1; then
    probes=1
    for t in 1 2; do
        train_cmd $t
        : >"$tmp/fit"
        for i in 1 2 3 4 5; do # three good runs, two spare
            [ "$(wc -l <"$tmp/fit")" -lt 3 ] || break
            perf record -q -o "$tmp/probe.data" -e 'profil_bench:*' "${cmd[@]}" >/dev/null 2>&1 ||
                continue
            perf script -i "$tmp/probe.data" -F time 2>/dev/null | tr -d ':' |
                awk 'NR == 1 { a = $1 } NR == 2 { printf "%.4f\n", $1 - a }' >>"$tmp/fit" || true
        done
        v=$(median <"$tmp/fit")
        [ -z "$v" ] || fit[t$t]=$v
    done
fi

# --- peers ---------------------------------------------------------------------
peer() { # peer NAME COMMAND...: the faster of PEER_RUNS runs; sets secs, rss, step times
    local name=$1 best='' i s m
    shift
    for ((i = 0; i < PEER_RUNS; i++)); do
        /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" "$tmp/$name.csv" >"$tmp/$name.out.$i"
        read -r s m <"$tmp/time"
        if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$s
            secs[$name]=$s
            rss[$name]=$m
            cp "$tmp/$name.out.$i" "$tmp/$name.out"
        fi
    done
    sed -n 's/^timing //p' "$tmp/$name.out" | tr ' ' '\n' >"$tmp/$name.steps"
}
step() { sed -n "s/^$2=//p" "$tmp/$1.steps"; }
peer R Rscript "$root/bench/train/glm.R" "$tmp/pop.csv" "$REGION"
peer sklearn $PY "$root/bench/train/sklearn_fit.py" "$tmp/pop.csv" "$REGION"

# --- report ---------------------------------------------------------------------
row() { # row LABEL WHOLE RSS_KB READ DESIGN FIT
    printf '%-36s %8.2f %9.0f %7s %7s %8s\n' "$1" "$2" "$(($3 / 1024))" "$4" "$5" "$6"
}
fitcol() { # the fit column of profil with THREADS
    local est
    est=$(awk -v a="${secs[t$1]}" -v b="${secs[validate]}" 'BEGIN { printf "%.2f", a - b }')
    if [ -n "${fit[t$1]:-}" ]; then
        printf '%.2f*/%s~' "${fit[t$1]}" "$est"
    else
        printf '%s~' "$est"
    fi
}
printf '%-36s %8s %9s %7s %7s %8s\n' "" "whole s" "peak MiB" "read s" "design" "fit s"
row "profil train --threads 1" "${secs[t1]}" "${rss[t1]}" - - "$(fitcol 1)"
row "profil train --threads 2" "${secs[t2]}" "${rss[t2]}" - - "$(fitcol 2)"
row "profil validate (read only)" "${secs[validate]}" "${rss[validate]}" - - -
row "R glm, data.table::fread" "${secs[R]}" "${rss[R]}" "$(step R read)" "$(step R design)" \
    "$(step R fit)"
row "sklearn newton-cholesky, pandas" "${secs[sklearn]}" "${rss[sklearn]}" "$(step sklearn read)" \
    "$(step sklearn design)" "$(step sklearn fit)"
echo
echo "profil: median of $RUNS runs (hyperfine); peers: the faster of $PEER_RUNS runs. Peak RSS"
echo "from one run each (/usr/bin/time). fit* = pf_irls_fit measured with perf uprobes (median"
echo "of 3); fit~ = train - validate, an upper bound (also encoding and training distributions)."
echo "IRLS iterations: R $(step R iterations), sklearn $(step sklearn iterations)."
if grep -q outlier "$tmp/hf.err"; then
    echo "hyperfine saw statistical outliers: other load on the machine; compare the load averages."
fi
echo

# --- goals -------------------------------------------------------------------------
verdict() { # verdict VALUE OP GOAL
    awk -v v="$1" -v g="$3" -v op="$2" 'BEGIN {
        ok = (op == ">=") ? v >= g : (op == "<=") ? v <= g : v > g
        printf "%s", ok ? "met" : "NOT met" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
for t in 1 2; do
    r=$(ratio "${secs[R]}" "${secs[t$t]}")
    echo "whole process, R glm / profil --threads $t:   ${r}x  (goal >= 10x: $(verdict "$r" '>=' 10))"
done
for t in 1 2; do
    r=$(ratio "${rss[t$t]}" "${rss[R]}")
    echo "peak memory, profil --threads $t / R glm:      $r   (goal <= 0.20: $(verdict "$r" '<=' 0.2))"
done
for t in 1 2; do
    pf=${fit[t$t]:-$(awk -v a="${secs[t$t]}" -v b="${secs[validate]}" 'BEGIN { print a - b }')}
    how=$([ -n "${fit[t$t]:-}" ] && echo 'fit*' || echo 'fit~')
    r=$(ratio "$(step sklearn fit)" "$pf")
    echo "fit, sklearn / profil --threads $t ($how):     ${r}x  (goal > 1x: $(verdict "$r" '>' 1))"
    if [ -n "${fit[t$t]:-}" ]; then
        pf=$(awk -v a="${secs[t$t]}" -v b="${secs[validate]}" 'BEGIN { print a - b }')
        r=$(ratio "$(step sklearn fit)" "$pf")
        echo "fit, sklearn / profil --threads $t (fit~):     ${r}x  (goal > 1x: $(verdict "$r" '>' 1))"
    fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

# --- coefficients --------------------------------------------------------------------
status=0
$PY "$root/bench/train/coef_agree.py" "profil --threads 2" 1e-12 "$tmp/profil-t1.csv" \
    "$tmp/profil-t2.csv" || status=1
$PY "$root/bench/train/coef_agree.py" "R glm" 1e-6 "$tmp/profil-t1.csv" "$tmp/R.csv" || status=1
$PY "$root/bench/train/coef_agree.py" "sklearn" 1e-4 "$tmp/profil-t1.csv" "$tmp/sklearn.csv" ||
    status=1
exit $status
