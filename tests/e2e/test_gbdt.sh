#!/usr/bin/env bash
# `profil train --kind gbdt` end to end: better holdout AUC than the
# logistic model on the synthetic population (whose truth has
# interactions), the same model bytes for any thread count, TreeSHAP
# against exact Shapley values computed in Python from the model file,
# monotone constraints on sweeps, leaf limits, early stopping, scoring
# through the decision core, and the errors a user meets.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
SCHEMA="$SRC/data/schema/af-inskrivning.json"

"$PROFIL" synth -n 200000 -s 11 -o pop.csv >/dev/null

# 1. Holdout AUC above the logistic model's on the same holdout rows.
expect_exit 0 "train logit" -- "$PROFIL" train -q -o logit.json pop.csv
expect_exit 0 "train gbdt" -- "$PROFIL" train --kind gbdt -o gbdt.json pop.csv
expect_grep "^trees: +[0-9]+ kept of [0-9]+ built \(20 features" out.txt "trees summary"
expect_grep "^holdout: +AUC 0\.7[4-9]" out.txt "holdout AUC printed"
auc() { "$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["holdout"]["auc"], m["holdout"]["rows"])' "$1"; }
read -r auc_l rows_l < <(auc logit.json)
read -r auc_g rows_g < <(auc gbdt.json)
expect_eq "$rows_g" "$rows_l" "the same holdout rows"
if "$PY" -c "import sys; sys.exit(not $auc_g > $auc_l + 0.001)"; then pass; else
    fail "gbdt holdout AUC $auc_g not above the logistic model's $auc_l"; fi
expect_grep '"kind": "gbdt"' gbdt.json "kind in the model file"
expect_grep '"data_sha256": "'"$(sha256sum < pop.csv | cut -d' ' -f1)"'"' gbdt.json "data hash"
expect_grep '"inskrivningsdagar": \{' gbdt.json "training distributions"

# 2. The same bytes for 1 and 2 threads (with row and feature subsampling).
"$PROFIL" synth -n 60000 -s 12 -o small.csv >/dev/null
for t in 1 2; do
    expect_exit 0 "train gbdt, $t threads" -- "$PROFIL" train --kind gbdt -q --threads $t \
        --trees 40 --subsample 0.8 --colsample 0.7 -o t$t.json small.csv
done
if cmp -s t1.json t2.json; then pass; else fail "gbdt model differs between 1 and 2 threads"; fi
expect_exit 0 "train gbdt, other seed" -- "$PROFIL" train --kind gbdt -q --seed 99 \
    --trees 40 --subsample 0.8 --colsample 0.7 -o t3.json small.csv
if cmp -s t1.json t3.json; then fail "another seed gave the same model"; else pass; fi

# 3. TreeSHAP against exact Shapley values (every coalition of 8 features),
#    computed in Python from the model file and the CSV text.
expect_exit 0 "train small gbdt" -- "$PROFIL" train --kind gbdt -q \
    -m "$SRC/tests/e2e/data/gbdt-small.spec.json" --trees 25 --max-depth 5 -o shap.json small.csv
head -61 small.csv > rows60.csv
expect_exit 0 "model explain" -- "$PROFIL" model explain shap.json rows60.csv -o explain.csv
expect_exit 0 "exact Shapley values" -- "$PY" "$SRC/tests/e2e/gbdt_shapley.py" shap.json \
    "$SCHEMA" rows60.csv explain.csv 60
expect_grep "^60 rows checked$" out.txt "every row checked"
expect_grep '^row,logit,reference_logit,alder,kon,erfarenhet_sokt_yrke,akassa,inskrivningsdagar,' \
    explain.csv "explain header"

# 4. Monotone constraints hold on sweeps: p never rises with registration
#    time, never falls with unemployment experience.
expect_exit 0 "train monotone" -- "$PROFIL" train --kind gbdt -q --trees 60 \
    --monotone inskrivningsdagar=-1 --monotone erfarenhet_sokt_yrke=+1 -o mono.json small.csv
"$PY" - small.csv sweep.csv <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))[:40]
out = csv.DictWriter(open(sys.argv[2], "w", newline=""), fieldnames=list(rows[0].keys()))
out.writeheader()
for r in rows:  # per base row: 61 registration times, then 5 experience levels
    for d in range(0, 7320, 120):
        out.writerow({**r, "inskrivningsdagar": d})
    for e in range(5):
        out.writerow({**r, "erfarenhet_sokt_yrke": e})
PY
expect_exit 0 "explain the sweep" -- "$PROFIL" model explain mono.json sweep.csv -o sweep.out.csv
expect_exit 0 "sweeps are monotone" -- "$PY" - sweep.out.csv <<'PY'
import csv, sys
logit = [float(r["logit"]) for r in csv.DictReader(open(sys.argv[1]))]
bad = 0
assert len(logit) == 40 * 66, len(logit)
for b in range(40):
    s = logit[b * 66: b * 66 + 66]
    days, exp = s[:61], s[61:]
    bad += sum(1 for a, c in zip(days, days[1:]) if c > a)
    bad += sum(1 for a, c in zip(exp, exp[1:]) if c < a)
print("violations", bad)
sys.exit(bad != 0)
PY
expect_grep '"name": "inskrivningsdagar",[[:space:]]*$' mono.json "feature listed"
"$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); f={x["name"]:x["monotone"] for x in m["features"]}; sys.exit(not (f["inskrivningsdagar"]==-1 and f["erfarenhet_sokt_yrke"]==1 and f["alder"]==0))' mono.json &&
    pass || fail "monotone directions in the model file"

# 5. Leaf-limited trees; early stopping keeps the best round.
expect_exit 0 "leaf-limited" -- "$PROFIL" train --kind gbdt -q --max-depth 0 --max-leaves 6 \
    --trees 20 --early-stopping 0 -o leaves.json small.csv
"$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); t=m["trees"]; sys.exit(not (len(t)==20 and all(sum(1 for l in x["left"] if l<0)<=6 for x in t) and max(sum(1 for l in x["left"] if l<0) for x in t)==6))' leaves.json &&
    pass || fail "20 trees of at most 6 leaves"
expect_exit 0 "early stopping" -- "$PROFIL" train --kind gbdt --learning-rate 0.8 --trees 400 \
    --early-stopping 5 -o es.json small.csv
expect_grep "^trees: +([0-9]+) kept of ([0-9]+) built" out.txt "rounds printed"
kept=$(sed -nE 's/^trees: +([0-9]+) kept of ([0-9]+) built.*/\1 \2/p' out.txt)
set -- $kept
if [ "${1:-0}" -gt 0 ] && [ "$2" -lt 400 ] && [ "$2" -eq $(($1 + 5)) ]; then pass; else
    fail "early stopping: kept ${1:-?} of ${2:-?}"; fi

# 6. Scoring through the decision core: decisions and reasons.
head -2001 pop.csv > score.csv
expect_exit 0 "score with gbdt" -- "$PROFIL" score -m gbdt.json -d 2022-01-01 --reasons 3 \
    -o dec.jsonl score.csv
expect_grep "^rows: +2000 read, 2000 scored, 0 rejected" out.txt "rows scored"
expect_eq "$(grep -c '"reasons":\[{' dec.jsonl)" 2000 "reasons on every row"
expect_exit 0 "score, 1 thread" -- "$PROFIL" score -q -m gbdt.json -d 2022-01-01 -t 1 -o d1.csv score.csv
expect_exit 0 "score, 2 threads" -- "$PROFIL" score -q -m gbdt.json -d 2022-01-01 -t 2 -o d2.csv score.csv
if cmp -s d1.csv d2.csv; then pass; else fail "decisions differ between 1 and 2 threads"; fi

# 7. Errors.
expect_exit 2 "unknown monotone feature" -- "$PROFIL" train --kind gbdt --monotone fodelseland=1 small.csv
expect_grep "'fodelseland' is not a feature of the model" err.txt "unknown feature named"
expect_exit 2 "bad direction" -- "$PROFIL" train --kind gbdt --monotone alder=up small.csv
expect_exit 2 "no tree limit" -- "$PROFIL" train --kind gbdt --max-depth 0 small.csv
expect_exit 2 "bad kind" -- "$PROFIL" train --kind forest small.csv
awk -F, 'BEGIN{OFS=","} NR>1{$NF=1} 1' small.csv > oneclass.csv
expect_exit 1 "single class" -- "$PROFIL" train --kind gbdt oneclass.csv
expect_grep "only one value" err.txt "single class explained"
expect_exit 2 "coef of a gbdt" -- "$PROFIL" model coef gbdt.json
expect_grep "no coefficient table" err.txt "coef refused"
"$PY" -c 'import json,sys; m=json.load(open(sys.argv[1])); m["trees"][3]["left"][0]=0; json.dump(m,open(sys.argv[2],"w"))' gbdt.json cyclic.json
expect_exit 2 "a tree with a cycle" -- "$PROFIL" score -m cyclic.json -d 2022-01-01 -o x.csv score.csv
expect_grep "tree 3, node 0" err.txt "bad tree named"
expect_eq "$(ls | grep -c '\.tmp\.')" 0 "no temporary files left"
finish
