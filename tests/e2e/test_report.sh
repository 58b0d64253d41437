#!/usr/bin/env bash
# `profil report` end to end: the notebook validates against the nbformat 4
# schema (Debian's python3-nbformat) and matches eval.json, figures and HTML
# (report_check.py); its code cells run with jupyter nbconvert where that is
# installed; the same bytes on every run; a folder whose tables do not match
# eval.json is refused; another output folder gets the tables too.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3 # Debian's, with python3-nbformat (setup.sh test_packages)
CHECK="$PY $SRC/tests/e2e/report_check.py"

"$PROFIL" synth --rows 8000 --seed 9 --output pop.csv >/dev/null
"$PROFIL" eval -q --policy krom-2021-08 -o ev pop.csv

# 1. The report, checked.
expect_exit 0 "report" -- "$PROFIL" report ev
expect_grep '^notebook: ev/report.ipynb' out.txt "names the notebook"
if $CHECK ev >check.txt 2>&1; then pass; else
    fail "report check"
    sed 's/^/    /' check.txt | head -20
fi

# 2. The check can fail: an HTML page that loads a script is refused.
mkdir -p bad && cp ev/* bad/
sed -i 's|</body>|<script src="https://example.org/x.js"></script></body>|' bad/report.html
if $CHECK bad >/dev/null 2>&1; then fail "the check accepted an external script"; else pass; fi

# 3. The code cells run (reloading every table with pandas).
if command -v jupyter >/dev/null && jupyter nbconvert --version >/dev/null 2>&1; then
    if (cd ev && jupyter nbconvert --to notebook --execute report.ipynb \
        --output "$WORK/executed.ipynb") >nbconvert.txt 2>&1; then pass; else
        fail "jupyter nbconvert --execute"
        tail -20 nbconvert.txt | sed 's/^/    /'
    fi
else
    echo "SKIP: jupyter nbconvert is not installed: the notebook's code cells were not run"
fi

# 4. The same bytes on every run, and in another folder with the tables.
expect_exit 0 "report to another folder" -- "$PROFIL" report -q -o out -n eval2021 ev
for f in eval.json metrics.csv calibration.csv roc.csv decisions.csv fairness.csv score_hist.csv; do
    expect_eq "$(sha256sum <out/$f)" "$(sha256sum <ev/$f)" "$f copied"
done
expect_eq "$(sha256sum <out/eval2021.ipynb)" "$(sha256sum <ev/report.ipynb)" "same notebook"
expect_eq "$(sha256sum <out/eval2021.html)" "$(sha256sum <ev/report.html)" "same HTML"
if $CHECK out eval2021 >check.txt 2>&1; then pass; else
    fail "report check in another folder"
    sed 's/^/    /' check.txt | head
fi

# 5. Errors.
expect_exit 2 "no folder" -- "$PROFIL" report
expect_exit 2 "bad name" -- "$PROFIL" report -n a/b ev
expect_exit 1 "no eval.json" -- "$PROFIL" report "$WORK/nothing"
mkdir -p mixed && cp ev/*.csv ev/eval.json mixed/
sed -i '2s/^/x/' mixed/fairness.csv
expect_exit 1 "a table from another run" -- "$PROFIL" report -o mixed-out mixed
expect_grep "fairness.csv does not match eval.json" err.txt "names the table"
if [ -e mixed-out/report.ipynb ]; then fail "a notebook from a refused folder"; else pass; fi
mkdir -p wrong && cp ev/* wrong/ && printf '{"format": "profil-eval/1"}' >wrong/eval.json
expect_exit 1 "an incomplete eval.json" -- "$PROFIL" report wrong
expect_grep "'input' is missing" err.txt "names the key"

finish
