#!/usr/bin/env bash
# `profil rerun` end to end: a run is reproduced from its manifest (from
# another directory, with moved files, gzip and JSON-lines outputs, an old
# manifest without the schema path); a changed input, model, policy or
# stored output is detected with the right message, and the first differing
# row (row, id, column, old and new value) is the one Python finds in the
# files.
. "$(dirname "$0")/lib.sh"

"$PROFIL" synth --rows 3000 --seed 41 --output pop.csv
mkdir run
"$PROFIL" score -q --policy krom-2021-08 --reasons 2 --passthrough kommunkod \
    -o run/out.csv pop.csv

# 1. The run is reproduced; the manifest records what a rerun needs.
expect_exit 0 "rerun of an unchanged run" -- "$PROFIL" rerun run/out.manifest.json
expect_grep "^result: +reproduced" out.txt "reproduced"
expect_grep "^differing: none of 3000 rows" out.txt "rows compared"
python3 - run/out.manifest.json "$PWD" "$SRC/data/schema/af-inskrivning.json" <<'PY' && pass || fail "manifest lacks rerun fields"
import json, os, sys
m = json.load(open(sys.argv[1]))
assert m["cwd"] == sys.argv[2], m["cwd"]
assert os.path.samefile(m["schema"]["path"], sys.argv[3]), m["schema"]
assert m["options"]["reasons"] == 2 and m["options"]["passthrough"] == ["kommunkod"]
PY

# 2. From another directory: relative paths are those of the run's directory.
mkdir elsewhere
(cd elsewhere && "$PROFIL" rerun ../run/out.manifest.json >../o2.txt 2>&1) && pass ||
    fail "rerun from another directory: $(cat o2.txt)"

# 3. A moved input is not found (exit 2, the option named); --input finds it.
mv pop.csv moved.csv
expect_exit 2 "moved input" -- "$PROFIL" rerun run/out.manifest.json
expect_grep "input: .*pop.csv not found .*--input" err.txt "says what is missing"
expect_exit 0 "moved input named with --input" -- "$PROFIL" rerun --input moved.csv \
    run/out.manifest.json
cp moved.csv pop.csv

# 4. A changed input: one age in data row 5 is one year more.
python3 - <<'PY'
import csv
rows = list(csv.reader(open("pop.csv", newline="")))
a = rows[0].index("alder")
rows[5][a] = str(int(rows[5][a]) + 1 if int(rows[5][a]) < 67 else 66)
csv.writer(open("changed.csv", "w", newline=""), lineterminator="\n").writerows(rows)
PY
expect_exit 1 "changed input" -- "$PROFIL" rerun --input changed.csv -o new.csv \
    run/out.manifest.json
expect_grep "^input +changed.csv: CHANGED: sha256 $(sha256sum <changed.csv | cut -c1-16), the run read $(sha256sum <pop.csv | cut -c1-16)" \
    out.txt "input hash mismatch named"
expect_grep "not reproduced: the input changed; the output differs" err.txt "stderr says why"
# The first differing row, found by Python in the old and new outputs.
python3 - run/out.csv new.csv out.txt <<'PY' && pass || fail "first differing row: $(grep first: out.txt)"
import csv, sys
old = list(csv.DictReader(open(sys.argv[1], newline="")))
new = list(csv.DictReader(open(sys.argv[2], newline="")))
report = open(sys.argv[3]).read()
for i, (o, n) in enumerate(zip(old, new), 1):
    if o != n:
        col = next(k for k in o if o[k] != n[k])
        want = f"first:     row {i} (id {o['id']}), column {col}: was '{o[col]}', now '{n[col]}'"
        assert want in report, (want, report)
        assert i == 5 and col == "p", (i, col)
        break
else:
    raise SystemExit("no row differs")
assert sum(o != n for o, n in zip(old, new)) == 1
assert "differing: 1 of 3000 rows" in report
PY
[ -s new.manifest.json ] && pass || fail "-o keeps the new run's manifest"

# 5. A changed model: the intercept moved by 0.1.
python3 - "$SRC/data/models/af-logit.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
t = next(t for t in m["terms"] if t["term"] == "(Intercept)")
t["coefficient"] += 0.1
json.dump(m, open("model2.json", "w"), indent=2)
PY
expect_exit 1 "changed model" -- "$PROFIL" rerun --model model2.json run/out.manifest.json
expect_grep "^model +model2.json: CHANGED: sha256 $(sha256sum <model2.json | cut -c1-16), the run read $(sha256sum <"$SRC/data/models/af-logit.json" | cut -c1-16)" \
    out.txt "model hash mismatch named"
expect_grep "not reproduced: the model changed; the output differs; first differing row 1" \
    err.txt "the model change shows from row 1"
expect_grep "^first: +row 1 \\(id $(sed -n 2p run/out.csv | cut -d, -f1)\\), column p: was '$(sed -n 2p run/out.csv | cut -d, -f2)'" \
    out.txt "first differing row after a model change"

# 6. A changed policy: the close_min_p threshold lowered. Every row names
#    the policy's id, so row 1 differs in policy_id.
python3 - "$SRC/data/policies/krom-2021-08.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["groups"]["close_min_p"] = 0.45
open("policy2.json", "w").write(json.dumps(p, indent=2, ensure_ascii=False) + "\n")
PY
expect_exit 1 "changed policy" -- "$PROFIL" rerun --policy policy2.json run/out.manifest.json
expect_grep "^policy +policy2.json: CHANGED" out.txt "policy hash mismatch named"
expect_grep "^first: +row 1 .*column policy_id: was '$(sha256sum <"$SRC/data/policies/krom-2021-08.json" | cut -c1-16)', now '$(sha256sum <policy2.json | cut -c1-16)'" \
    out.txt "first differing row after a policy change"
expect_grep "not reproduced: the policy changed" err.txt "stderr says the policy changed"

# 7. A changed stored output: data row 7's grupp edited by hand.
cp run/out.csv saved.csv
python3 - <<'PY' >tampered.txt
import csv
rows = list(csv.reader(open("run/out.csv", newline="")))
g = rows[0].index("grupp")
old = rows[7][g]
rows[7][g] = "3" if old != "3" else "1"
csv.writer(open("run/out.csv", "w", newline=""), lineterminator="\n").writerows(rows)
print(f"row 7 (id {rows[7][0]}), column grupp: was '{rows[7][g]}', now '{old}'")
PY
expect_exit 1 "changed stored output" -- "$PROFIL" rerun run/out.manifest.json
expect_grep "^output +sha256 .*the same as the run's" out.txt "the rerun itself reproduces"
expect_grep "^previous +.*run/out.csv: CHANGED since the run" out.txt "the stored output is named"
expect_grep "^first: +$(sed 's/[()]/\\&/g' tampered.txt)" out.txt "the edited row and column"
expect_grep "the stored output changed since the run; first differing row 7" err.txt "stderr"
expect_exit 1 "--verify-only sees the edited output" -- "$PROFIL" rerun --verify-only \
    run/out.manifest.json
expect_grep "^output +.*CHANGED" out.txt "verify-only names the output"
cp saved.csv run/out.csv
expect_exit 0 "--verify-only on the run's files" -- "$PROFIL" rerun --verify-only \
    run/out.manifest.json
expect_grep "^result: +the files are those of the run" out.txt "verify-only result"

# 8. Ids never reach standard error.
id7=$(sed -n 8p run/out.csv | cut -d, -f1)
! grep -q "$id7" err.txt && pass || fail "an id was written to standard error"

# 9. JSON lines and gzip outputs; an edited JSON line names its key.
"$PROFIL" score -q --policy stom --format jsonl -o run/out.jsonl pop.csv
expect_exit 0 "jsonl rerun" -- "$PROFIL" rerun run/out.manifest.json
"$PROFIL" score -q --policy krom-2020 -o run/gz.csv.gz pop.csv
expect_exit 0 "gzip output rerun" -- "$PROFIL" rerun run/gz.manifest.json
sed -i '3s/"spar":\([0-9]\)/"spar":9/' run/out.jsonl
expect_exit 1 "edited jsonl" -- "$PROFIL" rerun run/out.manifest.json
expect_grep "^first: +row 3 \\(id $(sed -n 3p run/out.jsonl | cut -d'"' -f4)\\), key spar: was 9, now [1-4]" \
    out.txt "the edited key"

# 10. A manifest written before schema.path and cwd: paths from its directory.
python3 - run/gz.manifest.json run/old.manifest.json "$PWD" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
del m["cwd"], m["schema"]["path"]
m["input"]["path"] = "../pop.csv"
m["output"]["path"] = "gz.csv.gz"
json.dump(m, open(sys.argv[2], "w"), indent=2)
PY
expect_exit 0 "old manifest" -- "$PROFIL" rerun run/old.manifest.json
expect_grep "as the run wrote it" out.txt "old manifest: output found beside it"

# 11. Not a run manifest; usage.
echo '{"format": "profil-policy/1"}' >notrun.json
expect_exit 2 "not a run manifest" -- "$PROFIL" rerun notrun.json
expect_grep "not the manifest of a .profil score. run" err.txt "says what it is not"
echo '{' >broken.json
expect_exit 2 "broken JSON" -- "$PROFIL" rerun broken.json
expect_exit 2 "no manifest" -- "$PROFIL" rerun
expect_exit 0 "--help" -- "$PROFIL" rerun --help
finish
