#!/usr/bin/env bash
# bench/eval.sh - evaluation on labelled data: `profil eval` beside the
# script a user would otherwise write with pandas, numpy and scikit-learn
# (bench/eval/eval_sklearn.py), on the same population, in one run.
#
#   bench/eval.sh [PROFIL] [ROWS]      defaults: build/profil, 1e6
#
# Generates `profil synth --rows ROWS --seed 1`, then runs
#   profil eval --policy krom-2021-08 -q -o DIR IN.csv
# and the peer (same model, policy and schema files; it reads the CSV once,
# scores and decides the rows as bench/score/score_sklearn.py does, then
# computes AUC with DeLong's standard error, log-loss, Brier, calibration
# intercept and slope, ROC, a decile table, outcomes by decision, the
# fairness table of eight dimensions with AUC and calibration per group, and
# score histograms). Reports wall time and peak RSS (/usr/bin/time -v) of
# each, the fastest of RUNS runs (default 3), and the ratios peer / profil.
# Exit status 1 when the overall figures (AUC, its standard error, log-loss,
# Brier, base rate, mean p, calibration intercept and slope) differ by more
# than 1e-6.
#
# Installs its peers from Debian when missing (python3-pandas,
# python3-sklearn, python3-numpy, python3-scipy, time), through sudo when not
# root, and runs Debian's /usr/bin/python3.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/bench/lib.sh"
PROFIL=${1:-$root/build/profil}
ROWS=${2:-1e6}
RUNS=${RUNS:-3}
PY=/usr/bin/python3
bench_install python3-pandas python3-sklearn python3-numpy python3-scipy time

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PROFIL" synth --rows "$ROWS" --seed 1 --output "$work/pop.csv" >/dev/null

# best_of CMD...: the fastest of RUNS runs; prints "seconds peak_kib".
best_of() {
    local best= rss= k
    for ((k = 0; k < RUNS; k++)); do
        /usr/bin/time -v -o "$work/time.txt" "$@" >"$work/stdout.txt"
        local s m
        s=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":"); v = 0;
            for (i = 1; i <= n; i++) v = v * 60 + a[i]; print v }' "$work/time.txt")
        m=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time.txt")
        if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$s
            rss=$m
        fi
    done
    echo "$best $rss"
}

read -r pt pm < <(best_of "$PROFIL" eval --policy krom-2021-08 -q -o "$work/ev" "$work/pop.csv")
read -r st sm < <(best_of "$PY" "$root/bench/eval/eval_sklearn.py" "$root/data/models/af-logit.json" \
    "$root/data/policies/krom-2021-08.json" "$root/data/schema/af-inskrivning.json" \
    "$work/pop.csv" "$work/peer")
cp "$work/stdout.txt" "$work/peer.json"
rows=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["counts"]["rows_evaluated"])' "$work/ev/eval.json")

printf '%-28s %10s %12s %12s %10s %10s\n' "$ROWS rows" "wall" "peak RSS" "rows/s" "time/profil" "RSS/profil"
printf '%-28s %9.2fs %9.1f MiB %12.0f %10s %10s\n' "profil eval" "$pt" "$(echo "$pm / 1024" | bc -l)" \
    "$(echo "$rows / $pt" | bc -l)" 1 1
printf '%-28s %9.2fs %9.1f MiB %12.0f %10.1f %10.1f\n' "pandas + scikit-learn" "$st" \
    "$(echo "$sm / 1024" | bc -l)" "$(echo "$rows / $st" | bc -l)" "$(echo "$st / $pt" | bc -l)" \
    "$(echo "$sm / $pm" | bc -l)"
echo "peer timing: $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["timing"])' "$work/peer.json")"

# The overall figures must agree.
$PY - "$work/ev/eval.json" "$work/peer.json" <<'PYEOF'
import json, sys
ev = json.load(open(sys.argv[1]))["overall"]
pe = json.load(open(sys.argv[2]))
pairs = {"auc": ev["auc"]["value"], "auc_se": ev["auc"]["se"], "log_loss": ev["log_loss"],
         "brier": ev["brier"], "base_rate": ev["base_rate"], "mean_p": ev["mean_p"],
         "calib_intercept": ev["calibration"]["intercept"], "calib_slope": ev["calibration"]["slope"]}
worst = max(abs(v - pe[k]) for k, v in pairs.items())
for k, v in pairs.items():
    print(f"  {k:16s} profil {v:.10f}  peer {pe[k]:.10f}")
print(f"largest difference {worst:.2e}")
sys.exit(0 if worst <= 1e-6 else 1)
PYEOF
