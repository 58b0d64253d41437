#!/usr/bin/env bash
# `profil whatif` end to end on the default model: cards, sweeps,
# comparisons and counterfactuals recomputed independently from the model,
# policy, schema and settings files (whatif_check.py, which also searches
# for the smallest change itself and re-scores it); profiles from --set,
# a JSON file and a CSV row; every input error with its exit status.
. "$(dirname "$0")/lib.sh"
CHECK="/usr/bin/python3 $SRC/tests/e2e/whatif_check.py"
DATA="$SRC/data"
W() { "$PROFIL" whatif "$@"; }

# check KIND OUT POLICY PAIRS...: the independent recomputation agrees.
check() {
    local kind=$1 out=$2 pol=$3
    shift 3
    if (cd "$SRC/tests/e2e" && $CHECK "$kind" "$WORK/$out" "$DATA" "$pol" "$@") >check.txt 2>&1; then
        pass
    else
        fail "$kind $out differs from the recomputation"
        sed 's/^/    /' check.txt | head -20
    fi
}

# 1. Cards: the default profile, a caseworker's profile in a delivery area,
#    one under the Stöd och matchning rules (tracks, language support).
expect_exit 0 "default card" -- W --policy krom-2021-08 --json -o card0.json
check card card0.json krom-2021-08
SETS=(alder=58 utbildningsniva=2 kommunkod=2480 inskrivningsdagar=450 ramprogram=JOB
      fodelseland=SY akassa=1 funktionsnedsattning=40)
args=()
for s in "${SETS[@]}"; do args+=(--set "$s"); done
expect_exit 0 "card with --set" -- W --policy krom-2021-08 --json -o card1.json "${args[@]}"
check card card1.json krom-2021-08 "${SETS[@]}"
expect_exit 0 "card, stom" -- W --policy stom --json -o card2.json --set sprakstod=1 --set alder=30
check card card2.json stom sprakstod=1 alder=30
expect_exit 0 "card, krom-2020" -- W --policy krom-2020 --json -o card3.json --set kommunkod=1980 \
    --set utbildningsniva=1 --set nedsatt_arbetsformaga=1 --set alder=22
check card card3.json krom-2020 kommunkod=1980 utbildningsniva=1 nedsatt_arbetsformaga=1 alder=22

# The text card carries the same numbers.
W --policy krom-2021-08 "${args[@]}" >card1.txt
p=$(/usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(open(sys.argv[1]))["p"])' card1.json)
expect_grep "^p: +$p  95 % interval" card1.txt "text card p"
expect_grep "^  alder +58 +set +protected" card1.txt "text card: a set value"
expect_grep "^  kon +M \(Man\) +default +protected" card1.txt "text card: a default"
expect_grep "^område: +Umeå \(ersättningsmodell 2\)" card1.txt "text card: area"

# 2. Sweeps: an integer range, every level of a category, a list.
expect_exit 0 "vary alder" -- W --policy krom-2021-08 --json -o sweep1.json --set alder=58 \
    --vary alder=20:64:2
check sweep sweep1.json krom-2021-08 alder=58 vary=alder \
    points=$(seq -s, 20 2 64)
expect_exit 0 "vary utbildningsniva" -- W --policy stom --json -o sweep2.json --vary utbildningsniva
check sweep sweep2.json stom vary=utbildningsniva points=1,2,3,4,5,6,7,9
expect_exit 0 "vary a list" -- W --policy krom-2021-08 --json -o sweep3.json --set kommunkod=2480 \
    --vary omr_arbetsloshet=2.5,7.3,15
check sweep sweep3.json krom-2021-08 kommunkod=2480 vary=omr_arbetsloshet points=2.5,7.3,15
W --policy krom-2021-08 --set alder=58 --vary alder=50:60:2 >sweep.txt
expect_grep "^\* 58 " sweep.txt "text sweep marks the profile's value"
expect_eq "$(grep -cE '^[ *] [0-9]+ ' sweep.txt)" 6 "text sweep has 6 points"

# 3. Comparison: B is A with two changes.
expect_exit 0 "compare" -- W --policy krom-2021-08 --json -o cmp.json --set alder=45 \
    --set kommunkod=0880 --compare --set utbildningsniva=6 --set akassa=1
check compare cmp.json krom-2021-08 alder=45 kommunkod=0880 -- utbildningsniva=6 akassa=1
W --policy krom-2021-08 --set alder=45 --compare --set utbildningsniva=6 >cmp.txt
expect_grep "^\* utbildningsniva +4 \(Gymnasial utbildning 3 år\)  ->  6" cmp.txt "text compare"

# 4. Counterfactuals: verified by re-scoring, and the smallest as found by
#    an independent exhaustive search.
RS=(alder=58 utbildningsniva=2 kommunkod=2480 inskrivningsdagar=450 ramprogram=JOB)
rargs=()
for s in "${RS[@]}"; do rargs+=(--set "$s"); done
expect_exit 0 "reach niva=A" -- W --policy krom-2021-08 --json -o reach1.json "${rargs[@]}" \
    --reach niva=A
check reach reach1.json krom-2021-08 "${RS[@]}" target=niva=A
expect_exit 0 "reach grupp=1" -- W --policy krom-2021-08 --json -o reach2.json --set alder=55 \
    --set kommunkod=2480 --reach grupp=1
check reach reach2.json krom-2021-08 alder=55 kommunkod=2480 target=grupp=1
expect_exit 0 "reach nivå=B (the Swedish spelling)" -- W --policy krom-2021-08 --json \
    -o reach3.json --set alder=30 --set utbildningsniva=3 --set erfarenhet_sokt_yrke=2 --reach nivå=B
check reach reach3.json krom-2021-08 alder=30 utbildningsniva=3 erfarenhet_sokt_yrke=2 target=niva=B
# Only changes in the allowed direction: education is never lowered, and
# no other change takes this profile from nivå A down to C.
expect_exit 1 "reach nivå=C, direction" -- W --policy krom-2021-08 --json -o reach8.json \
    --set alder=30 --set utbildningsniva=3 --set erfarenhet_sokt_yrke=2 --reach niva=C
check reach reach8.json krom-2021-08 alder=30 utbildningsniva=3 erfarenhet_sokt_yrke=2 target=niva=C
expect_exit 0 "reach spår=1 under stom" -- W --policy stom --json -o reach4.json --set sprakstod=1 \
    --set alder=60 --set utbildningsniva=2 --reach spår=1
check reach reach4.json stom sprakstod=1 alder=60 utbildningsniva=2 target=spar=1
# Already there: no change.
expect_exit 0 "reach, already met" -- W --policy krom-2021-08 --json -o reach5.json --reach grupp=1
check reach reach5.json krom-2021-08 target=grupp=1
# Out of reach: an older person with a disability, far from the labour
# market, cannot reach group 1 through the changeable features (exit 1).
FAR=(alder=64 nedsatt_arbetsformaga=1 funktionsnedsattning=30 inskrivningsdagar=3000
     sprakstod=1 utbildningsniva=1 fodelseland=SO)
fargs=()
for s in "${FAR[@]}"; do fargs+=(--set "$s"); done
expect_exit 1 "reach out of reach" -- W --policy krom-2021-08 --json -o reach6.json "${fargs[@]}" \
    --reach grupp=1
check reach reach6.json krom-2021-08 "${FAR[@]}" target=grupp=1
W --policy krom-2021-08 "${fargs[@]}" --reach grupp=1 >reach6.txt
expect_grep "^No change of the changeable features reaches the target" reach6.txt "text: none"
expect_grep "^held: .*alder \(protected\)" reach6.txt "text: protected features held"
W --policy krom-2021-08 "${rargs[@]}" --reach niva=A >reach1.txt
expect_grep "verified" reach1.txt "text reach says verified"
# A limit on the number of changes: status limit, exit 1.
expect_exit 1 "reach within 1 change" -- W --policy krom-2021-08 --json -o reach7.json \
    "${fargs[@]}" --reach grupp=2 --max-changes 1
/usr/bin/python3 - reach7.json <<'EOF' || fail "reach within 1 change: status"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["max_changes"] == 1 and r["status"] in ("limit", "found"), r["status"]
EOF

# 5. Profiles from a JSON file and from a CSV row; the row's values are the
#    file's, and --set overrides one.
"$PROFIL" synth --rows 200 --seed 7 --output pop.csv
id=$(sed -n 5p pop.csv | cut -d, -f1)
expect_exit 0 "--id row" -- W --policy krom-2021-08 --json -o row.json --id "$id" pop.csv
/usr/bin/python3 - row.json pop.csv "$id" <<'EOF' || fail "--id: the profile is not the file's row"
import csv, json, sys
card = json.load(open(sys.argv[1]))
row = next(r for r in csv.DictReader(open(sys.argv[2])) if r["id"] == sys.argv[3])
for k, v in card["profile"].items():
    want = row[k] if row[k] not in ("", "NA") else None
    assert v == want or (v is not None and want is not None and float(v) == float(want)), (k, v, want)
assert card["id"] == sys.argv[3] and card["defaults"] == []
EOF
/usr/bin/python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["profile"], open("p.json","w"))' row.json
expect_exit 0 "--profile round trip" -- W --policy krom-2021-08 --json -o row2.json --profile p.json
/usr/bin/python3 - row.json row2.json <<'EOF' || fail "--profile: the card differs from --id's"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
assert a["p"] == b["p"] and a["profile"] == b["profile"] and a["contributions"] == b["contributions"]
EOF
expect_exit 0 "--set overrides a file" -- W --policy krom-2021-08 --json -o row3.json \
    --profile p.json --set alder=61
expect_eq "$(/usr/bin/python3 -c 'import json; print(json.load(open("row3.json"))["profile"]["alder"])')" \
    61 "--set over --profile"
printf '{"alder": 33, "akassa": true, "dagar_sedan_foregaende_period": null, "kon": "K"}' >q.json
expect_exit 0 "JSON types" -- W --policy krom-2021-08 --json -o q.out --profile q.json
check card q.out krom-2021-08 alder=33 akassa=1 dagar_sedan_foregaende_period= kon=K

# 6. Bad input: a clear message and exit 2.
expect_exit 2 "unknown feature" -- W --set aldr=40
expect_grep "unknown feature 'aldr'; did you mean 'alder'\?" err.txt "suggestion"
expect_exit 2 "out of range" -- W --set alder=15
expect_grep "alder: out_of_range '15': outside the allowed range 16 to 67" err.txt "range"
expect_exit 2 "not an allowed code" -- W --set kon=X
expect_grep "kon: unknown_code 'X': not an allowed code; allowed: K, M" err.txt "codes listed"
expect_exit 2 "derived feature" -- W --set fodelseregion=norden
expect_grep "derived from 'fodelseland'" err.txt "derived"
expect_exit 2 "set twice" -- W --set alder=40 --set alder=41
expect_grep "'alder' is set twice" err.txt "set twice"
expect_exit 2 "two sources" -- W --profile p.json --id "$id" pop.csv
expect_grep "conflicting sources" err.txt "two sources"
expect_exit 2 "id not found" -- W --id nobody pop.csv
expect_grep "no row has id 'nobody'" err.txt "id not found"
printf '{"alder": 40, "alder": 41}' >dup.json
expect_exit 2 "duplicate JSON key" -- W --profile dup.json
printf '{"alder": [40]}' >arr.json
expect_exit 2 "JSON array value" -- W --profile arr.json
expect_exit 2 "bad target" -- W --reach niva=D
expect_grep "nivå is A, B or C" err.txt "bad target"
expect_exit 2 "level target under stom" -- W --policy stom --reach niva=A
expect_exit 2 "vary a string without values" -- W --vary sokt_yrke_1
expect_exit 2 "vary out of range" -- W --vary alder=10:20
expect_grep "alder=10: alder: out_of_range" err.txt "vary range"
expect_exit 2 "two questions" -- W --vary alder --reach grupp=1
expect_exit 2 "a personal identity number is withheld" -- W --set sokt_yrke_2=811218-9876
expect_grep "<withheld>" err.txt "personnummer withheld"
if grep -q "811218" err.txt; then fail "personnummer printed"; else pass; fi

finish
