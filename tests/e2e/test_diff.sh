#!/usr/bin/env bash
# `profil diff` end to end: a population scored before and after an input
# fault is corrected (birth countries and disabilities, as in 2020), with
# rows dropped, added and reordered. Everything diff reports is recomputed
# by diff_check.py from the two CSV files; ids never reach standard error.
. "$(dirname "$0")/lib.sh"
CHECK="python3 $SRC/tests/e2e/diff_check.py"

"$PROFIL" synth --rows 4000 --seed 43 --output pop.csv
"$PROFIL" synth --rows 30 --seed 44 --output extra.csv
# The fault: 300 rows with a wrong birth country and disability; B is the
# corrected population, 7 rows fewer, 30 more, in another order.
python3 - <<'PY'
import csv, random
random.seed(8)
rows = list(csv.reader(open("pop.csv", newline="")))
h, body = rows[0], rows[1:]
fl, fn, na = h.index("fodelseland"), h.index("funktionsnedsattning"), h.index("nedsatt_arbetsformaga")
faulty = [list(r) for r in body]
for r in random.sample(faulty, 300):
    r[fl] = "SE" if r[fl] != "SE" else "SO"
    r[fn], r[na] = ("00", "0") if r[fn] != "00" else ("30", "1")
w = lambda name, rs: csv.writer(open(name, "w", newline=""), lineterminator="\n").writerows([h] + rs)
w("faulty.csv", faulty)
fixed = body[7:] + list(csv.reader(open("extra.csv", newline="")))[1:]
random.shuffle(fixed)
w("fixed.csv", fixed)
PY
"$PROFIL" score -q --allow-drift --policy krom-2021-08 -o a.csv faulty.csv
"$PROFIL" score -q --policy krom-2021-08 -o b.csv fixed.csv

# 1. Everything reported agrees with an independent recomputation.
expect_exit 1 "decisions changed: exit 1" -- "$PROFIL" diff -o changes.csv --json d.json a.csv b.csv
if $CHECK a.csv b.csv d.json changes.csv >check.txt; then pass; else
    fail "diff differs from the recomputation"
    sed 's/^/    /' check.txt | head
fi
expect_grep "^ids: +3993 in both, 7 only in A, 30 only in B" out.txt "ids on each side"
expect_grep "^grupp \\(rows: A, columns: B\\)" out.txt "grupp matrix"
expect_grep "^nivå \\(rows: A, columns: B\\)" out.txt "nivå matrix"
expect_grep "^eligibility \\(rows: A, columns: B\\)" out.txt "eligibility matrix"
expect_grep "^changes: +changes.csv" out.txt "changes file named"
python3 - changes.csv <<'PY' && pass || fail "changes file columns"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
ch = [r for r in rows if r["change"] == "changed"]
assert ch and all(r["row_a"] and r["row_b"] for r in ch)
assert any(r["grupp_a"] != r["grupp_b"] for r in ch)
assert all(r["change"] != "only_a" or (r["row_a"] and not r["row_b"] and not r["grupp_b"]) for r in rows)
assert sum(r["change"] == "only_a" for r in rows) == 7 and sum(r["change"] == "only_b" for r in rows) == 30
PY

# 2. A file against itself: nothing changed, exit 0; gzip input reads the same.
expect_exit 0 "a against itself" -- "$PROFIL" diff a.csv a.csv
expect_grep "^changed: +0 decisions" out.txt "nothing changed"
gzip -c b.csv >b.csv.gz
"$PROFIL" diff -q --json dz.json a.csv b.csv.gz
python3 -c "
import json; a = json.load(open('d.json')); b = json.load(open('dz.json'))
del a['b']['path'], b['b']['path']; assert a == b" && pass || fail "gzip B gives another report"

# 3. Stöd och matchning: spår transitions.
"$PROFIL" score -q --allow-drift --policy stom -o sa.csv faulty.csv
"$PROFIL" score -q --policy stom -o sb.csv fixed.csv
"$PROFIL" diff -o schanges.csv --json sd.json sa.csv sb.csv >sout.txt
$CHECK sa.csv sb.csv sd.json schanges.csv >check.txt && pass || fail "stom: $(head -3 check.txt)"
expect_grep "^spår \\(rows: A, columns: B\\)" sout.txt "spår matrix"

# 4. Duplicate ids and rejected rows: counted, reported by row, never by id.
{
    cat b.csv
    sed -n 5p b.csv                                                   # a repeated id
    sed -n 6p b.csv | awk -F, 'BEGIN { OFS = "," } { $2 = "1.5"; print }' # p out of range
} >bad.csv
dup=$(sed -n 5p b.csv | cut -d, -f1)
bad=$(sed -n 6p b.csv | cut -d, -f1)
expect_exit 1 "duplicates and rejects" -- "$PROFIL" diff a.csv bad.csv
expect_grep "bad.csv: 1 rows rejected" err.txt "rejected rows counted"
expect_grep "bad.csv: 1 rows repeat an id" err.txt "duplicates counted"
expect_grep "row 4025 \\(line 4026\\).*p: out_of_range '1.5'" err.txt "the rejected row named by number"
! grep -q -e "$dup" -e "$bad" err.txt && pass || fail "an id was written to standard error"
! grep -q -e "$dup" -e "$bad" out.txt && pass || fail "an id was written to the report"

# 5. Usage and input errors.
expect_exit 2 "one file" -- "$PROFIL" diff a.csv
expect_exit 2 "not a scored file" -- "$PROFIL" diff pop.csv b.csv
expect_grep "missing.*grupp" err.txt "the missing columns are named"
expect_exit 1 "no such file" -- "$PROFIL" diff a.csv nosuch.csv
finish
