#!/usr/bin/env bash
# `profil model import-xgboost` end to end: a small XGBoost model trained
# here in Python (Debian's python3-xgboost) on synthetic rows with missing
# values, imported, and compared row by row with XGBoost on other rows
# (tests/e2e/xgb_check.py): the same leaf in every tree, logits and
# probabilities to 1e-6, TreeSHAP contributions summing to the logit and
# agreeing with XGBoost's pred_contribs to 1e-5; the same on rows whose
# values sit on the split thresholds; the imported model used by score and
# whatif; training distributions from --data; and the refusals a user meets.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
SCHEMA="$SRC/data/schema/af-inskrivning.json"
CHECK="$SRC/tests/e2e/xgb_check.py"

"$PROFIL" synth -n 12000 -s 21 -o pop.csv >/dev/null
head -10001 pop.csv >train.csv
{ head -1 pop.csv; tail -n +10002 pop.csv; } >rows.csv

# 1. Train in XGBoost, import, compare on 2 000 other rows.
expect_exit 0 "XGBoost training" -- "$PY" "$CHECK" train "$SCHEMA" train.csv xgb.json
expect_exit 0 "import" -- "$PROFIL" model import-xgboost --data train.csv -o imp.json xgb.json
expect_grep "^model: imp\.json \(30 trees, 16 features, [0-9]+ nodes; training distributions" \
    out.txt "import summary"
expect_exit 0 "explain" -- "$PROFIL" model explain imp.json rows.csv -o explain.csv
expect_exit 0 "profil against XGBoost" -- "$PY" "$CHECK" compare "$SCHEMA" xgb.json rows.csv \
    explain.csv imp.json
cat out.txt
expect_grep "^2000 rows checked, [1-9][0-9]* with missing values$" out.txt "rows with missing values"

# 2. Rows on the thresholds: the float comparison reproduced.
expect_exit 0 "threshold rows" -- "$PY" "$CHECK" edges "$SCHEMA" xgb.json rows.csv edges.csv
expect_exit 0 "explain threshold rows" -- "$PROFIL" model explain imp.json edges.csv -o edges.out.csv
expect_exit 0 "threshold rows against XGBoost" -- "$PY" "$CHECK" compare "$SCHEMA" xgb.json \
    edges.csv edges.out.csv imp.json
expect_grep "^[1-9][0-9]+ rows checked" out.txt "threshold rows checked"

# 3. The model file: metadata, training distributions (from --data) or none.
"$PY" - imp.json <<'PY' && pass || fail "import metadata"
import json, sys
m = json.load(open(sys.argv[1]))
src = m["source"]
assert m["kind"] == "gbdt" and src["objective"] == "binary:logistic", src
assert src["xgboost_version"] == "1.7.4" and src["trees"] == 30, src
assert abs(src["base_score"] - 0.3) < 1e-7, src
assert set(m["distributions"]) == set(src["feature_names"]), m["distributions"].keys()
assert m["distributions_source"]["rows_read"] == 10000, m["distributions_source"]
assert "drift" not in m
PY
expect_exit 0 "import without data" -- "$PROFIL" model import-xgboost -q -o nodata.json xgb.json
expect_eq "$(cat out.txt)" "" "quiet"
expect_grep '"drift": "unavailable: imported without training data' nodata.json "drift unavailable"
if grep -q '"distributions"' nodata.json; then fail "distributions without data"; else pass; fi

# 4. Scoring and what-if with the imported model.
expect_exit 0 "score, 1 thread" -- "$PROFIL" score -q -m imp.json -d 2022-01-01 -t 1 \
    --reasons 3 -o d1.csv rows.csv
expect_exit 0 "score, 2 threads" -- "$PROFIL" score -q -m imp.json -d 2022-01-01 -t 2 \
    --reasons 3 -o d2.csv rows.csv
if cmp -s d1.csv d2.csv; then pass; else fail "decisions differ between 1 and 2 threads"; fi
"$PY" - d1.csv explain.csv <<'PY' && pass || fail "score's p from the imported model"
import csv, math, sys
dec = list(csv.DictReader(open(sys.argv[1])))
ex = list(csv.DictReader(open(sys.argv[2])))
assert len(dec) == len(ex) == 2000
for d, e in zip(dec, ex):
    p = 1 / (1 + math.exp(-float(e["logit"])))
    assert abs(float(d["p"]) - p) <= 5.1e-7, (d["p"], p)
PY
expect_exit 0 "whatif" -- "$PROFIL" whatif -m imp.json -d 2022-01-01 --json --set alder=30 \
    --set omr_arbetsloshet=9.9
"$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not 0 < d["p"] < 1)' out.txt &&
    pass || fail "whatif gives p"

# 5. Names: from --feature-names when the file has none; refused when a
#    name is not a feature column.
expect_exit 0 "XGBoost training, no names" -- "$PY" "$CHECK" train "$SCHEMA" train.csv \
    noname.json --no-names
expect_exit 2 "import without names" -- "$PROFIL" model import-xgboost -o x.json noname.json
expect_grep "no feature names" err.txt "missing names explained"
names=$("$PY" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["learner"]["feature_names"]))' xgb.json)
expect_exit 0 "import with --feature-names" -- "$PROFIL" model import-xgboost -q \
    --feature-names "$names" -o named.json noname.json
expect_exit 0 "explain named" -- "$PROFIL" model explain named.json rows.csv -o named.csv
if cmp -s named.csv explain.csv; then pass; else fail "--feature-names gave other logits"; fi
expect_exit 2 "too few names" -- "$PROFIL" model import-xgboost --feature-names alder,kon \
    -o x.json noname.json
expect_grep "2 feature names, but num_feature is not 2" err.txt "name count explained"
sed 's/"omr_arbetsloshet"/"unemployment_rate"/' xgb.json >renamed.json
expect_exit 2 "unknown feature" -- "$PROFIL" model import-xgboost -o x.json renamed.json
expect_grep "'unemployment_rate' is not a column of schema af-inskrivning" err.txt \
    "unknown feature named"
sed 's/"alder"/"id"/' xgb.json >idfeat.json
expect_exit 2 "the id as a feature" -- "$PROFIL" model import-xgboost -o x.json idfeat.json
expect_grep "'id' is not a feature column" err.txt "id refused"

# 6. Other refusals.
sed 's/"binary:logistic"/"multi:softprob"/' xgb.json >multi.json
expect_exit 2 "multi-class objective" -- "$PROFIL" model import-xgboost -o x.json multi.json
expect_grep "objective 'multi:softprob' is not supported" err.txt "objective refused"
printf '{"learner": ' >broken.json
expect_exit 2 "not JSON" -- "$PROFIL" model import-xgboost -o x.json broken.json
expect_grep "broken\.json: line 1" err.txt "JSON error located"
expect_exit 2 "no file" -- "$PROFIL" model import-xgboost -o x.json missing.json
expect_exit 2 "no model argument" -- "$PROFIL" model import-xgboost -o x.json
expect_exit 1 "data not readable" -- "$PROFIL" model import-xgboost --data nothere.csv \
    -o x.json xgb.json
if [ -e x.json ]; then fail "a model file written on failure"; else pass; fi
expect_eq "$(ls | grep -c '\.tmp\.')" 0 "no temporary files left"
finish
