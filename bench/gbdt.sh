#!/usr/bin/env bash
# bench/gbdt.sh - gradient-boosted trees beside XGBoost (Debian's
# python3-xgboost, tree_method "hist") with the same hyperparameters on the
# same rows, features and holdout split: training time, holdout AUC,
# in-memory scoring throughput with 2 threads, and TreeSHAP throughput.
#
#   bench/gbdt.sh [ROWS]        default 1e6 rows of `profil synth -s 1`
#
# Environment: PROFIL (default build/profil), KERNEL (default
# build/bench/bench_gbdt_kernel), TREES (default 200), THREADS (default 2).
# Installs python3-xgboost, python3-pandas and python3-numpy when missing.
#
# Hyperparameters (both): TREES rounds, depth 6, learning rate 0.1,
# lambda 1, min child weight 1, 255 value bins (XGBoost max_bin 256), no
# subsampling, no early stopping, base score = the fit rows' mean label,
# THREADS threads. profil's time is the whole `profil train` process
# (reading and parsing the CSV included); `profil validate` of the same file
# is printed beside it as the reading cost. XGBoost's is xgboost.train alone
# (reading with pandas and building the DMatrix printed separately). CPU
# seconds are printed beside wall seconds: on a shared machine they are the
# steadier figure. Scoring: pf_gbdt_predict over all rows in memory
# (bench_gbdt_kernel, rows split between THREADS threads) against XGBoost's
# inplace_predict on the numpy array with THREADS threads, best of 3-5;
# and `profil score` end to end (CSV in, decisions out, no reasons).
set -euo pipefail

ROWS=${1:-1e6}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROFIL=${PROFIL:-$root/build/profil}
KERNEL=${KERNEL:-$root/build/bench/bench_gbdt_kernel}
TREES=${TREES:-200}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
SCHEMA=${PROFIL_DATA:-$root/data}/schema/af-inskrivning.json

. "$root/bench/lib.sh"
bench_install python3-xgboost python3-pandas python3-numpy

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PROFIL" synth -n "$ROWS" -s 1 -o "$tmp/pop.csv" >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
    "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "profil: $("$PROFIL" --version | head -1); xgboost $("$PY" -c 'import xgboost; print(xgboost.__version__)')"
echo "rows: $ROWS, trees: $TREES, threads: $THREADS"

# timed OUT COMMAND...: runs the command, writes "wall cpu rss_mib" to OUT.
timed() {
    local out=$1
    shift
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$@" >"$tmp/stdout" 2>"$tmp/stderr" || {
        cat "$tmp/stderr" >&2
        exit 1
    }
    awk '{ printf "%.2f %.2f %.0f\n", $1, $2 + $3, $4 / 1024 }' "$tmp/time" >"$out"
}

timed "$tmp/t.validate" "$PROFIL" validate "$tmp/pop.csv"
timed "$tmp/t.train" "$PROFIL" train --kind gbdt --trees "$TREES" --max-depth 6 \
    --learning-rate 0.1 --l2 1 --min-child-weight 1 --bins 255 --validation 0 \
    --early-stopping 0 -t "$THREADS" -o "$tmp/profil.json" "$tmp/pop.csv"
grep -E '^(trees|holdout):' "$tmp/stdout"
timed "$tmp/t.xgb" "$PY" "$root/bench/gbdt/xgb_peer.py" "$SCHEMA" "$tmp/profil.json" \
    "$tmp/pop.csv" 20200330 0.2 "$TREES" 6 0.1 1 1 256 "$THREADS" "$tmp/xgb.json"
xgb=$(grep '^timing' "$tmp/stdout")
kern=$("$KERNEL" "$tmp/profil.json" "$SCHEMA" "$tmp/pop.csv" "$THREADS" 5 5000)
timed "$tmp/t.score" "$PROFIL" score -q -d 2022-01-01 -m "$tmp/profil.json" --reasons 0 \
    -t "$THREADS" -o "$tmp/dec.csv" "$tmp/pop.csv"

get() { sed -nE "s/.*[ ^]$1=([^ ]+).*/\1/p" <<<" $2"; }
read -r v_wall v_cpu v_rss <"$tmp/t.validate"
read -r p_wall p_cpu p_rss <"$tmp/t.train"
read -r x_wall x_cpu x_rss <"$tmp/t.xgb"
read -r s_wall s_cpu s_rss <"$tmp/t.score"
rows=$(get predict_rows "$xgb")
holdout=$(get holdout_rows "$xgb")
p_auc=$("$PY" -c 'import json,sys; print("%.5f" % json.load(open(sys.argv[1]))["holdout"]["auc"])' "$tmp/profil.json")
awk -v pw="$p_wall" -v pc="$p_cpu" -v pr="$p_rss" -v vw="$v_wall" -v vc="$v_cpu" \
    -v xt="$(get train "$xgb")" -v xc="$(get train_cpu "$xgb")" -v xr="$(get read "$xgb")" \
    -v xd="$(get dmatrix "$xgb")" -v xrss="$x_rss" -v pa="$p_auc" -v xa="$(get auc "$xgb")" \
    -v pa2="$(get profil_auc "$xgb")" -v hold="$holdout" -v rows="$rows" \
    -v kw="$(get predict_wall "$kern")" -v kc="$(get predict_cpu "$kern")" \
    -v xw="$(get predict "$xgb")" -v xpc="$(get predict_cpu "$xgb")" \
    -v sw="$(get shap_wall "$kern")" -v sc="$(get shap_cpu "$kern")" -v sr="$(get shap_rows "$kern")" \
    -v xs="$(get contribs "$xgb")" -v xsr="$(get contribs_rows "$xgb")" \
    -v ew="$s_wall" -v ec="$s_cpu" -v erss="$s_rss" -v th="$THREADS" 'BEGIN {
    printf "\ntraining (%d rows; holdout %d)              wall s   CPU s   peak MiB\n", rows, hold
    printf "  profil train --kind gbdt (whole process)  %7.2f %7.2f %8d\n", pw, pc, pr
    printf "    of which reading (profil validate)      %7.2f %7.2f\n", vw, vc
    printf "  xgboost.train (hist)                      %7.2f %7.2f %8d (process)\n", xt, xc, xrss
    printf "    pandas read + features %.2f s, DMatrix %.2f s\n", xr, xd
    printf "  ratio XGBoost / profil                    %7.2f %7.2f\n", xt / pw, xc / pc
    printf "holdout AUC: profil %s (recomputed by the peer: %s), XGBoost %s, difference %+.5f\n",
        pa, pa2, xa, pa2 - xa
    printf "scoring, in memory, %d threads                rows/s (wall)  CPU s\n", th
    printf "  profil pf_gbdt_predict                    %12.0f %7.3f\n", rows / kw, kc
    printf "  XGBoost inplace_predict                   %12.0f %7.3f\n", rows / xw, xpc
    printf "  ratio profil / XGBoost                    %12.2f %7.2f\n", xw / kw, xpc / kc
    printf "  profil score end to end (CSV in, decisions out, no reasons): %.0f rows/s, %.1f CPU s, %d MiB\n",
        rows / ew, ec, erss
    printf "TreeSHAP: profil %.0f rows/s (1 thread; %.0f per CPU second), XGBoost pred_contribs %.0f rows/s (%d threads)\n",
        sr / sw, sr / sc, xsr / xs, th
}'
