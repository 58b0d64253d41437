#!/usr/bin/env bash
# `profil simulate` end to end: the table for four variants (three bundled
# policies and a threshold variant) equals what Python adds up from
# `profil score` outputs whose decisions score_check.py recomputes
# independently; the threshold variant's policy is written by Python.
# Threshold errors are usage errors.
. "$(dirname "$0")/lib.sh"
MODEL="$SRC/data/models/af-logit.json"
POL="$SRC/data/policies"

"$PROFIL" synth --rows 6000 --seed 47 --output pop.csv
python3 - "$POL/krom-2021-08.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["groups"]["close_min_p"] = 0.45
p["levels"]["a_min_p"] = 0.4
open("variant.json", "w").write(json.dumps(p, indent=2, ensure_ascii=False) + "\n")
PY
V3='krom-2021-08:close_min_p=0.45,a_min_p=0.4'
expect_exit 0 "simulate" -- "$PROFIL" simulate -p krom-2020 -p krom-2021-08 -p "$V3" -p stom \
    --csv sim.csv --json sim.json pop.csv
cp out.txt table.txt

# Each variant's decisions from `profil score`, checked independently.
i=0
for p in "$POL/krom-2020.json" "$POL/krom-2021-08.json" variant.json "$POL/stom.json"; do
    i=$((i + 1))
    "$PROFIL" score -q --policy "$p" -o "s$i.csv" pop.csv
    python3 "$SRC/tests/e2e/score_check.py" pop.csv "s$i.csv" "$MODEL" "$p" "$SRC/data/ref" \
        >check.txt && pass || fail "variant $i: decisions differ from the recomputation"
done

python3 - sim.csv "$V3" <<'PY' >agg.txt && pass || { fail "simulate's table differs from the sums"; head agg.txt; }
import csv, sys
sim = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
specs = ["krom-2020", "krom-2021-08", sys.argv[2], "stom"]
bad = 0
for k, spec in enumerate(specs, 1):
    rows = list(csv.DictReader(open(f"s{k}.csv", newline="", encoding="utf-8")))
    n = len(rows)
    want = {}
    def add(measure, cat, r):
        c = want.setdefault((measure, cat), [0, 0, 0.0])
        c[0] += 1
        if r["eligible"] == "1":
            c[1] += 1
            c[2] += float(r["max_ersattning"] or 0)
    for r in rows:
        add("rows", "", r)
        add("grupp", r["grupp"], r)
        if r["niva"]: add("niva", r["niva"], r)
        if r["spar"]: add("spar", r["spar"], r)
        add("eligibility", "ja" if r["eligible"] == "1" else r["ineligible_rule"], r)
        area = r["leveransomrade"] or ("(utanför)" if spec != "stom" else "(hela landet)")
        add("leveransomrade", area, r)
    got = {(s["measure"], s["category"]): [int(s["rows"]), int(s["eligible"]), float(s["max_ersattning_eligible"])]
           for s in sim if s["variant"] == spec}
    for key, (rws, el, mx) in want.items():
        g = got.get(key)
        if g is None or g[0] != rws or g[1] != el or abs(g[2] - mx) > 0.5:
            bad += 1
            print(f"{spec} {key}: simulate {g}, expected {[rws, el, mx]}")
    for key, g in got.items():
        if key not in want and g[0] != 0 and key[0] != "grupp":
            bad += 1
            print(f"{spec} {key}: simulate {g}, expected no rows")
        s = next(x for x in sim if x["variant"] == spec and (x["measure"], x["category"]) == key)
        if abs(float(s["share"]) - g[0] / n) > 5e-7:
            bad += 1
            print(f"{spec} {key}: share {s['share']}")
print(f"{bad} differences")
sys.exit(1 if bad else 0)
PY

# The threshold variant moves people: fewer in group 2 than under the baseline.
python3 - sim.json "$V3" <<'PY' && pass || fail "sim.json"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["format"] == "profil-simulate/1" and len(j["variants"]) == 4
v = {x["variant"]: {(c["measure"], c["category"]): c for c in x["cells"]} for x in j["variants"]}
assert v[sys.argv[2]]["grupp", "2"]["rows"] < v["krom-2021-08"]["grupp", "2"]["rows"]
assert v[sys.argv[2]]["grupp", "3"]["rows"] == v["krom-2021-08"]["grupp", "3"]["rows"]
assert j["variants"][2]["policy_sha256"] != j["variants"][1]["policy_sha256"]
PY
expect_grep "^#3 krom-2021-08:close_min_p=0.45,a_min_p=0.4: policy krom-2021-08" table.txt \
    "the variant is listed"
expect_grep "^  Umeå +[0-9]+ +[0-9]+ +[0-9]+ +- *$" table.txt "a delivery area line"

# Standard input gives the same table.
"$PROFIL" simulate -p krom-2020 -p krom-2021-08 -p "$V3" -p stom --csv sim2.csv - <pop.csv >/dev/null
cmp -s sim.csv sim2.csv && pass || fail "standard input gives another table"

# Errors.
expect_exit 2 "no variant" -- "$PROFIL" simulate pop.csv
expect_exit 2 "unknown threshold" -- "$PROFIL" simulate -p krom-2020:close=0.4 pop.csv
expect_grep "'close=0.4' is not THRESHOLD=P" err.txt "names the bad threshold"
expect_exit 2 "levels on stom" -- "$PROFIL" simulate -p stom:a_min_p=0.3 pop.csv
expect_grep "policy stom has no levels.a_min_p" err.txt "says the policy lacks it"
expect_exit 2 "thresholds out of order" -- "$PROFIL" simulate -p krom-2020:close_min_p=0.1 pop.csv
expect_grep "krom-2020:close_min_p=0.1" err.txt "the variant is named"
expect_exit 2 "unknown policy" -- "$PROFIL" simulate -p nosuch pop.csv
finish
