#!/usr/bin/env bash
# `profil train` end to end: parameter recovery against the synthetic
# population's ground truth, thread-count invariance, the coefficient-table
# round trip, holdout metrics, and the errors a user meets.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

"$PROFIL" synth -n 400000 -s 11 -o pop.csv

# 1. Recovery: a model family that contains the truth recovers every
#    coefficient within 4 standard errors.
expect_exit 0 "train truth family" -- "$PROFIL" train -q -m "$SRC/tests/e2e/data/truth-family.spec.json" \
    --coef-csv coef.csv -o family.json pop.csv
expect_exit 0 "parameter recovery" -- "$PY" "$SRC/tests/e2e/recovery.py" pop.truth.json coef.csv \
    "$SRC/data/schema/af-inskrivning.json"
expect_grep "^54 passed, 0 failed$" out.txt "all coefficients within 4 SE"

# 2. The default specification: holdout metrics printed and plausible, the
#    same model bytes for 1 and 2 threads.
"$PROFIL" synth -n 60000 -s 12 -o small.csv
expect_exit 0 "train default, 1 thread" -- "$PROFIL" train --threads 1 -o m1.json small.csv
expect_grep "^holdout: +AUC 0\.(6[89]|7[0-9])" out.txt "holdout AUC in range"
expect_grep "^rows: +60000 read, 0 rejected" out.txt "row counts"
expect_exit 0 "train default, 2 threads" -- "$PROFIL" train -q --threads 2 -o m2.json small.csv
if cmp -s m1.json m2.json; then pass; else fail "model differs between 1 and 2 threads"; fi
expect_grep "\"data_sha256\": \"$(sha256sum < small.csv | cut -d' ' -f1)\"" m1.json "data hash"

# Cross-validation: K refits; the mean AUC is close to the holdout's.
expect_exit 0 "train with 5-fold CV" -- "$PROFIL" train --cv 5 -o cv.json small.csv
expect_grep "^5-fold CV: AUC 0\.7[0-9]+ \(sd 0\.0[0-9]+\)" out.txt "CV summary"
expect_grep '"folds_k": 5' cv.json "CV in the model file"
expect_exit 2 "one fold" -- "$PROFIL" train --cv 1 small.csv

# 3. Coefficient table round trip: export, rebuild, export again.
expect_exit 0 "model coef" -- "$PROFIL" model coef m1.json -o t1.csv
expect_exit 0 "model from-table" -- "$PROFIL" model from-table t1.csv -o rebuilt.json
expect_exit 0 "model coef again" -- "$PROFIL" model coef rebuilt.json -o t2.csv
if cmp -s t1.csv t2.csv; then pass; else fail "coefficient table changed in a round trip"; fi
expect_eq "$(head -1 t1.csv)" "term,level,coefficient,std_error" "table header"
printf 'term,level,coefficient\n(Intercept),,0.5\nkon,X,1\n' > badlevel.csv
expect_exit 2 "from-table with an unknown level" -- "$PROFIL" model from-table badlevel.csv
expect_grep "'X' is not a level of kon" err.txt "unknown level named"
printf 'term,level,coefficient\n(Intercept),,0.5\nlog1p(dagar_sedan_foregaende_period),,1\n' > nomiss.csv
expect_exit 2 "from-table without missing indicator" -- "$PROFIL" model from-table nomiss.csv
expect_grep "missing\(dagar_sedan_foregaende_period\)" err.txt "missing indicator required"

# 4. Errors name what is wrong.
cat > dup.json <<'JSON'
{"format": "profil-modelspec/1", "label": "arbete_studier_180d",
 "terms": [{"feature": "alder"}, {"feature": "alder", "spline": [40]}]}
JSON
expect_exit 2 "duplicate term" -- "$PROFIL" train -m dup.json small.csv
expect_grep "term 'alder' appears twice" err.txt "duplicate term named"
cat > collinear.json <<'JSON'
{"format": "profil-modelspec/1", "label": "arbete_studier_180d",
 "terms": [{"feature": "sprakstod"}, {"feature": "akassa"},
           {"interaction": ["sprakstod", "akassa"]}, {"feature": "nedsatt_arbetsformaga"},
           {"feature": "funktionsnedsattning", "reference": "00"}]}
JSON
awk -F, 'BEGIN{OFS=","} NR==1{for(i=1;i<=NF;i++) if($i=="funktionsnedsattning") fc=i; else if($i=="nedsatt_arbetsformaga") nc=i}
         NR>1{ $nc = ($fc == "50") ? 1 : 0 } 1' small.csv > collinear.csv
expect_exit 1 "collinear columns" -- "$PROFIL" train -m collinear.json collinear.csv
expect_grep "funktionsnedsattning=50" err.txt "collinear columns named"
awk -F, 'BEGIN{OFS=","} NR>1{$NF=0} 1' small.csv > oneclass.csv
expect_exit 1 "single class" -- "$PROFIL" train oneclass.csv
expect_grep "class|one outcome|only" err.txt "single class explained"
awk -F, 'BEGIN{OFS=","} NR>1 && NR<=101 {$NF=""} 1' small.csv > nolabel.csv
expect_exit 0 "missing labels" -- "$PROFIL" train -o nl.json nolabel.csv
expect_grep "100 without label" out.txt "rows without label counted"
echo '{"format": "profil-modelspec/1", "label": "arbete_studier_180d", "terms": [{"feature": "alder", "splin": [3]}]}' > typo.json
expect_exit 2 "spec typo" -- "$PROFIL" train -m typo.json small.csv
expect_grep "unknown key 'splin'" err.txt "spec typo named"
expect_exit 2 "bad holdout" -- "$PROFIL" train --holdout 1.5 small.csv
expect_eq "$(ls | grep -c '\.tmp\.')" 0 "no temporary files left"
finish
