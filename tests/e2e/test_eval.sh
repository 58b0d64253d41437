#!/usr/bin/env bash
# `profil eval` end to end: every figure recomputed independently
# (eval_check.py, from the input and the decisions of `profil score`) under a
# policy with levels and one with tracks; rows without an outcome and rejected
# rows counted; the same bytes on every run; options; usage and input errors;
# no table left behind by a failed run; no personal id in any output.
. "$(dirname "$0")/lib.sh"
CHECK="python3 $SRC/tests/e2e/eval_check.py"
POL="$SRC/data/policies"

"$PROFIL" synth --rows 20000 --seed 5 --output pop.csv >/dev/null
# Rows without an outcome (every 97th) and two rows the schema rejects.
awk -F, -v OFS=, 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "arbete_studier_180d") c = i; if ($i == "alder") a = i } }
     NR > 1 && NR % 97 == 0 { $c = "" }
     NR == 500 || NR == 900 { $a = 15 }
     { print }' pop.csv >lab.csv

# 1. The evaluation equals an independent recomputation, under two policies.
for p in krom-2021-08 stom; do
    expect_exit 0 "score under $p" -- "$PROFIL" score -q --policy $p -o "dec-$p.csv" lab.csv
    expect_exit 0 "eval under $p" -- "$PROFIL" eval --policy $p -o "ev-$p" lab.csv
    if $CHECK lab.csv "dec-$p.csv" "ev-$p" "$POL/$p.json" "$SRC/data/ref" >check.txt; then pass; else
        fail "eval under $p differs from the recomputation"
        sed 's/^/    /' check.txt | head -20
    fi
done
expect_grep '^rows: +20000 read, 2 rejected, 206 without arbete_studier_180d, 19792 evaluated' \
    <("$PROFIL" eval --policy krom-2021-08 -o ev-again lab.csv) "summary counts"
expect_eq "$(tail -n +2 ev-krom-2021-08/rejects.csv | cut -d, -f1 | sort -u | tr '\n' ' ')" \
    "499 899 " "rejected rows listed"
# The fairness table of a track policy has track shares, not levels.
expect_grep '^dimension,.*,spar_1,spar_2,spar_3,spar_4,' ev-stom/fairness.csv "track columns"

# 2. The check can fail: decisions of another policy do not match.
if $CHECK lab.csv dec-stom.csv ev-krom-2021-08 "$POL/krom-2021-08.json" "$SRC/data/ref" \
    >check.txt; then
    fail "the check accepted an evaluation of other decisions"
else pass; fi

# 3. The same bytes on every run.
for f in eval.json metrics.csv calibration.csv roc.csv decisions.csv fairness.csv score_hist.csv; do
    expect_eq "$(sha256sum <ev-again/$f)" "$(sha256sum <ev-krom-2021-08/$f)" "$f identical"
done
expect_eq "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"]["fairness.csv"])' \
    ev-again/eval.json)" "$(sha256sum <ev-again/fairness.csv | cut -c1-64)" "eval.json records the table's hash"

# 4. Options: dimensions, age bands, calibration groups, label, standard input.
expect_exit 0 "--by --age-bands --bins" -- "$PROFIL" eval -q --policy krom-2020 \
    --by kon,aldersgrupp,sprakstod --age-bands 30,50 --bins 5 -o ev-opt lab.csv
expect_eq "$(tail -n +2 ev-opt/calibration.csv | wc -l)" "5" "five calibration groups"
expect_eq "$(grep -c '^aldersgrupp,' ev-opt/fairness.csv)" "3" "three age bands"
expect_grep '^aldersgrupp,50-67,' ev-opt/fairness.csv "last band ends at the schema's maximum"
expect_eq "$(cut -d, -f1 ev-opt/fairness.csv | LC_ALL=C sort -u | tr '\n' ' ')" \
    "aldersgrupp alla dimension kon sprakstod " "only the dimensions asked for"
expect_exit 0 "--label arbete_studier_90d from standard input" -- \
    sh -c "\"$PROFIL\" eval -q --label arbete_studier_90d -o ev-90 - <lab.csv"
r90=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["overall"]["base_rate"] < 0.3)' ev-90/eval.json)
expect_eq "$r90" "True" "the 90-day outcome is rarer than the 180-day one"

# 5. Errors: usage (2), input (1); a failed run leaves no table.
expect_exit 2 "no -o" -- "$PROFIL" eval lab.csv
expect_exit 2 "unknown dimension" -- "$PROFIL" eval --by nosuch -o e lab.csv
expect_exit 2 "numeric dimension" -- "$PROFIL" eval --by alder -o e lab.csv
expect_exit 2 "id as a dimension" -- "$PROFIL" eval --by id -o e lab.csv
expect_exit 2 "label not boolean" -- "$PROFIL" eval --label kon -o e lab.csv
expect_exit 2 "areas of a policy without them" -- "$PROFIL" eval --policy stom --by leveransomrade -o e lab.csv
expect_exit 2 "bad age bands" -- "$PROFIL" eval --age-bands 30,20 -o e lab.csv
expect_exit 2 "bad bins" -- "$PROFIL" eval --bins 0 -o e lab.csv
cut -d, -f1-31 lab.csv >nolabel.csv
expect_exit 1 "input without the outcome column" -- "$PROFIL" eval -o ev-nolabel nolabel.csv
expect_grep "no labelled row" err.txt "says why"
expect_eq "$(ls ev-nolabel)" "rejects.csv" "no tables from a failed run"
expect_exit 1 "reject rate over the limit" -- "$PROFIL" eval --max-reject-rate 0.00001 -o ev-rej lab.csv
expect_grep "2 of 20000 rows rejected" err.txt "names the rejects"
expect_eq "$(ls ev-rej)" "rejects.csv" "only the rejects"
printf 'not a directory' >afile
expect_exit 1 "output is a file" -- "$PROFIL" eval -o afile lab.csv

# 6. No personal id reaches an output.
id=$(sed -n 2p lab.csv | cut -d, -f1)
if grep -rqF "$id" ev-krom-2021-08 --exclude=rejects.csv; then fail "an id in the eval output"; else pass; fi

finish
