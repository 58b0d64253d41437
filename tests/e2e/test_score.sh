#!/usr/bin/env bash
# `profil score` end to end: decisions recomputed independently
# (score_check.py), byte-identical output for any thread count, JSON lines,
# passthrough, rejects and the reject-rate limit, the drift guard on
# scrambled birth countries and disabilities, the run manifest, atomic
# output when a run fails or is killed, policy choice by date.
. "$(dirname "$0")/lib.sh"
CHECK="python3 $SRC/tests/e2e/score_check.py"
MODEL="$SRC/data/models/af-logit.json"
POL="$SRC/data/policies"

"$PROFIL" synth --rows 20000 --seed 31 --output pop.csv

# 1. Every decision equals an independent recomputation, under each policy.
for p in krom-2020 krom-2021-08 stom; do
    expect_exit 0 "score under $p" -- "$PROFIL" score -q --policy $p -o "out-$p.csv" pop.csv
    if $CHECK pop.csv "out-$p.csv" "$MODEL" "$POL/$p.json" "$SRC/data/ref" >check.txt; then pass; else
        fail "decisions under $p differ from the recomputation"
        sed 's/^/    /' check.txt | head
    fi
done

# 2. The same bytes whatever the thread count.
for t in 1 2 8; do
    "$PROFIL" score -q --threads $t --policy krom-2021-08 -o "t$t.csv" pop.csv
done
expect_eq "$(sha256sum <t1.csv | cut -c1-64)" "$(sha256sum <t2.csv | cut -c1-64)" "threads 1 = 2"
expect_eq "$(sha256sum <t1.csv | cut -c1-64)" "$(sha256sum <t8.csv | cut -c1-64)" "threads 1 = 8"
expect_eq "$(sha256sum <t1.csv | cut -c1-64)" "$(sha256sum <out-krom-2021-08.csv | cut -c1-64)" \
    "threads default = 1"

# 3. The manifest: counts reconcile, hashes are those of the files.
python3 - t1.manifest.json t1.csv pop.csv "$MODEL" "$POL/krom-2021-08.json" >man.txt <<'EOF' || fail "manifest: $(cat man.txt)"
import hashlib, json, sys
m = json.load(open(sys.argv[1]))
sha = lambda p: hashlib.sha256(open(p, "rb").read()).hexdigest()
c = m["counts"]
assert c["rows_read"] == c["rows_scored"] + c["rows_rejected"] == 20000, c
assert m["output"]["sha256"] == sha(sys.argv[2]), "output hash"
assert m["input"]["sha256"] == sha(sys.argv[3]), "input hash"
assert m["model"]["sha256"] == sha(sys.argv[4]), "model hash"
assert m["policy"]["sha256"] == sha(sys.argv[5]), "policy hash"
assert m["software"].startswith("profil "), m["software"]
assert sum(m["decisions"]["grupp"].values()) == 20000
assert all(f["status"] == "ok" for f in m["drift"]["features"]), m["drift"]
assert len(m["drift"]["features"]) >= 15
EOF
[ -s man.txt ] || pass

# 4. JSON lines carry the same decisions.
"$PROFIL" score -q --policy krom-2021-08 --format jsonl -o out.jsonl pop.csv
python3 - out.jsonl t1.csv >jl.txt <<'EOF' && pass || fail "jsonl differs from csv: $(head -3 jl.txt)"
import csv, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for j, c in zip(rows, csv.DictReader(open(sys.argv[2]))):
    assert j["id"] == c["id"] and f'{j["p"]:.6f}' == c["p"], (j, c)
    assert str(j["grupp"]) == c["grupp"] and (j["niva"] or "") == c["niva"]
    assert (j["ineligible_rule"] or "") == c["ineligible_rule"]
    assert [r["feature"] for r in j["reasons"]] == [c[f"reason_{k}"] for k in (1, 2, 3) if c[f"reason_{k}"]]
assert len(rows) == 20000
assert any(r["label"] == "Ålder" for j in rows for r in j["reasons"] if r["feature"] == "alder")
EOF

# 5. Passthrough of a schema column and an extra input column.
awk -F, 'BEGIN { OFS = "," } NR == 1 { print $0, "handlaggare" } NR > 1 && NR <= 101 { print $0, "H" NR }' \
    pop.csv >extra.csv
expect_exit 0 "passthrough" -- "$PROFIL" score -q --policy krom-2020 \
    --passthrough kommunkod,handlaggare -o pass.csv extra.csv
expect_eq "$(head -1 pass.csv | awk -F, '{ print $(NF - 1) "," $NF }')" "kommunkod,handlaggare" \
    "passthrough header"
expect_eq "$(sed -n 2p pass.csv | awk -F, '{ print $NF }')" "H2" "passthrough value"
expect_exit 2 "unknown passthrough column" -- "$PROFIL" score -q --policy krom-2020 \
    --passthrough nosuch -o x.csv extra.csv
expect_grep "nosuch" err.txt "the unknown column is named"

# 6. Rejected rows: listed with reasons; the run fails over the limit and
#    leaves no output under the final name.
{
    head -201 pop.csv
    sed -n 202p pop.csv | awk -F, 'BEGIN { OFS = "," } { $2 = 15; print }'   # age below 16
    sed -n 203p pop.csv | awk -F, 'BEGIN { OFS = "," } { $5 = "9999"; print }' # no such kommun
    echo "P1,45,K"                                                                # 3 fields
} >bad.csv
expect_exit 0 "3 of 203 rejected, under --max-reject-rate 0.02" -- "$PROFIL" score -q \
    --policy krom-2020 --max-reject-rate 0.02 -o ok.csv bad.csv
expect_eq "$(($(wc -l <ok.csv) - 1))" "200" "scored rows"
expect_eq "$(tail -n +2 ok.rejects.csv | cut -d, -f1,5 | tr '\n' ' ')" \
    "201,out_of_range 202,unknown_code 203,field_count " "rejects: row and rule"
expect_exit 1 "3 of 203 rejected: over the default 1 %" -- "$PROFIL" score -q --policy krom-2020 -o fail.csv bad.csv
expect_grep "max-reject-rate" err.txt "the limit is named"
[ ! -e fail.csv ] && pass || fail "a failed run left fail.csv"
[ -s fail.rejects.csv ] && pass || fail "a failed run should still write its rejects"
[ -z "$(ls | grep '\.tmp\.' || true)" ] && pass || fail "temporary files left: $(ls | grep '\.tmp\.')"

# 7. Drift: scrambled birth countries or disability codes stop the run.
python3 - pop.csv "$SRC/data/ref/iso3166-1.csv" <<'EOF'
import csv, random, sys
random.seed(5)
codes = [r["alpha2"] for r in csv.DictReader(open(sys.argv[2]))]
rows = list(csv.reader(open(sys.argv[1])))
h = rows[0]
i, j = h.index("fodelseland"), h.index("funktionsnedsattning")
with open("scrambled-land.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(h)
    for r in rows[1:]:
        r = list(r); r[i] = random.choice(codes); w.writerow(r)
dis = ["00", "10", "20", "30", "40", "50", "60", "70", "80", "90"]
with open("scrambled-fn.csv", "w", newline="") as f:
    w = csv.writer(f); w.writerow(h)
    for r in rows[1:]:
        r = list(r); r[j] = random.choice(dis); w.writerow(r)
EOF
expect_exit 1 "scrambled fodelseland" -- "$PROFIL" score -q --policy krom-2020 -o d1.csv \
    scrambled-land.csv
expect_grep "drift.*fodelseregion" err.txt "drifted feature named"
[ ! -e d1.csv ] && pass || fail "a drifted run left d1.csv"
expect_exit 1 "scrambled funktionsnedsattning" -- "$PROFIL" score -q --policy krom-2020 -o d2.csv \
    scrambled-fn.csv
expect_grep "drift.*funktionsnedsattning" err.txt "drifted feature named"
expect_exit 0 "--allow-drift" -- "$PROFIL" score -q --allow-drift --policy krom-2020 -o d3.csv \
    scrambled-fn.csv
python3 -c "
import json; m = json.load(open('d3.manifest.json'))
f = {x['feature']: x for x in m['drift']['features']}
assert f['funktionsnedsattning']['psi'] > 0.25 and f['funktionsnedsattning']['status'] == 'fail'
assert f['alder']['psi'] < 0.1" && pass || fail "manifest PSI of the scrambled feature"

# 8. A killed run leaves nothing under the final name: the input is a FIFO
#    held open, so the run is still going when it is killed.
mkfifo in.fifo
"$PROFIL" score -q --policy krom-2020 -o killed.csv in.fifo &
spid=$!
exec 3>in.fifo
head -1001 pop.csv >&3
sleep 1
kill -KILL $spid
wait $spid 2>/dev/null
exec 3>&-
[ ! -e killed.csv ] && pass || fail "a killed run left killed.csv"

# 9. Policy by date: the day before and the day a policy starts.
head -51 pop.csv >small.csv
"$PROFIL" score -q --date 2021-07-31 -o d-before.csv small.csv
"$PROFIL" score -q --date 2021-08-01 -o d-on.csv small.csv
expect_eq "$(sed -n 2p d-before.csv | awk -F, '{ print $NF }')" \
    "$(sha256sum <"$POL/krom-2020.json" | cut -c1-16)" "2021-07-31: krom-2020"
expect_eq "$(sed -n 2p d-on.csv | awk -F, '{ print $NF }')" \
    "$(sha256sum <"$POL/krom-2021-08.json" | cut -c1-16)" "2021-08-01: krom-2021-08"
expect_exit 2 "no policy in force" -- "$PROFIL" score -q --date 2019-01-01 -o x.csv small.csv
expect_grep "no rusta_och_matcha policy is in force on 2019-01-01" err.txt "says why"
expect_exit 0 "stom by date and service" -- "$PROFIL" score -q --date 2019-01-01 \
    --service stod_och_matchning -o s.csv small.csv

# 10. Header and usage errors exit 2.
cut -d, -f1-3 small.csv >narrow.csv
expect_exit 2 "missing columns" -- "$PROFIL" score -q --policy krom-2020 -o x.csv narrow.csv
expect_exit 2 "bad --threads" -- "$PROFIL" score --threads 0 small.csv
expect_exit 2 "bad --format" -- "$PROFIL" score --format xml small.csv

# 11. Standard input to standard output, gzip input.
gzip -c small.csv >small.csv.gz
"$PROFIL" score -q --policy krom-2020 - <small.csv >stdout.csv
"$PROFIL" score -q --policy krom-2020 -o gz.csv small.csv.gz
expect_eq "$(sha256sum <stdout.csv)" "$(sha256sum <gz.csv)" "stdin/stdout = gzip file"
finish
