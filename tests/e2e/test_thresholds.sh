#!/usr/bin/env bash
# `profil thresholds` end to end: the written policy loads and differs from
# the starting one only in its thresholds, the thresholds are in order and
# give the target shares (by the command's report, and independently by
# recomputing p from the model file's terms in Python), the thresholds move
# monotonically with the shares, and bad shares or failed runs leave no
# output behind.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
POL=$SRC/data/policies
KEYS='"(close_min_p|far_below_p|a_min_p|b_min_p|enhanced_below_p)"'

"$PROFIL" synth -n 20000 -s 31 -o pop.csv

# check_shares REPORT: every share in the report's table is within 0.5
# percentage points of its target; prints how many shares it checked.
check_shares() {
    "$PY" - "$1" <<'PY'
import re, sys
rows = 0
for line in open(sys.argv[1], encoding="utf-8"):
    m = re.match(r"^(group \d|level [ABC]|enhanced|basic)\b.*?\s(\d+)\s+([\d.]+)\s+"
                 r"(?:[a-z_]+\s+[\d.]+\s+)?([\d.]+)\s+(\d+)$", line.rstrip("\n"))
    if not m:
        continue
    rows += 1
    target, achieved = float(m.group(3)), float(m.group(4))
    if abs(target - achieved) > 0.5:
        print(f"{m.group(1)}: achieved {achieved} vs target {target}")
        sys.exit(1)
print(f"{rows} shares within 0.5 pp")
sys.exit(0 if rows else 1)
PY
}

# thresholds FILE: the threshold keys of a policy, "key=value" per line.
thresholds() {
    "$PY" - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
for obj, keys in (("groups", ("close_min_p", "far_below_p")), ("levels", ("a_min_p", "b_min_p")),
                  ("tracks", ("enhanced_below_p",))):
    for k in keys:
        if obj in d:
            print(f"{k}={d[obj][k]}")
PY
}

value() { # value KEY FILE
    thresholds "$2" | sed -n "s/^$1=//p"
}

# 1. Rusta och matcha (levels), default shares.
expect_exit 0 "thresholds krom-2021-08" -- "$PROFIL" thresholds --policy krom-2021-08 -o krom.json \
    pop.csv
cp out.txt krom.txt
expect_grep "^rows: +20000 read, 0 rejected, 20000 scored$" krom.txt "row counts"
expect_grep "^group 1 \(står nära\) +20000 +25\.000 +close_min_p +0\.[0-9]{4} " krom.txt \
    "group 1 row"
expect_grep "^level A +[0-9]+ +30\.000 +a_min_p +0\.[0-9]{4} " krom.txt "level A row"
expect_grep "^written: +krom\.json" krom.txt "written"
expect_exit 0 "achieved shares within 0.5 pp (krom)" -- check_shares krom.txt
expect_grep "^6 shares within" out.txt "six shares checked (krom)"
expect_exit 0 "written policy loads" -- "$PROFIL" policy check krom.json
# Only the threshold lines differ from the starting file.
if diff <(grep -vE "$KEYS" "$POL/krom-2021-08.json") <(grep -vE "$KEYS" krom.json) >/dev/null; then
    pass
else
    fail "krom.json differs from krom-2021-08.json in more than its thresholds"
fi
expect_eq "$(diff "$POL/krom-2021-08.json" krom.json | grep -c '^>')" 4 "four threshold lines"
expect_eq "$(tail -c 1 krom.json | od -An -c | tr -d ' ')" '\n' "trailing newline"
expect_grep '"title": "Kundval Rusta och matcha från 2021-08-01"' krom.json "UTF-8 unescaped"
# Thresholds in order, on the 4-decimal grid.
expect_exit 0 "thresholds in order (krom)" -- "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
g, l = d["groups"], d["levels"]
t = [g["far_below_p"], l["b_min_p"], l["a_min_p"], g["close_min_p"]]
assert 0 < t[0] < t[1] < t[2] < t[3] < 1, t
assert all(round(x, 4) == x for x in t), t
' krom.json

# The rows the report counts are the rows `profil score` assigns under the
# written policy, group by group and level by level.
expect_exit 0 "score with the written policy" -- "$PROFIL" score -q --policy krom.json \
    -o scored.csv --rejects scored.rejects.csv pop.csv
expect_exit 0 "report counts equal scored counts" -- "$PY" - scored.csv krom.txt <<'PY'
import collections, csv, re, sys
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
got = collections.Counter(f"group {r['grupp']}" for r in rows)
got.update(f"level {r['niva']}" for r in rows if r["niva"])
want = {}
for line in open(sys.argv[2], encoding="utf-8"):
    m = re.match(r"^(group \d|level [ABC])\b.*\s(\d+)$", line.rstrip("\n"))
    if m:
        want[m.group(1)] = int(m.group(2))
assert len(want) == 6 and dict(got) == want, (dict(got), want)
PY

# 2. Stöd och matchning (tracks), chosen by date and service.
expect_exit 0 "thresholds stom by date" -- "$PROFIL" thresholds --date 2021-09-01 \
    --service stod_och_matchning --enhanced 40 -o stom.json pop.csv
cp out.txt stom.txt
expect_grep "^policy: +stom " stom.txt "stom chosen by date"
expect_grep "^enhanced \(spår 3-4\) +[0-9]+ +40\.000 +enhanced_below_p +0\.[0-9]{4} " stom.txt \
    "enhanced row"
expect_exit 0 "achieved shares within 0.5 pp (stom)" -- check_shares stom.txt
expect_exit 0 "stom.json loads" -- "$PROFIL" policy check stom.json
expect_eq "$(diff "$POL/stom.json" stom.json | grep -c '^>')" 3 "three threshold lines"
expect_exit 0 "stom thresholds in order" -- "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
g, e = d["groups"], d["tracks"]["enhanced_below_p"]
assert 0 < g["far_below_p"] < g["close_min_p"] < 1 and 0 < e <= g["close_min_p"], d
' stom.json
expect_exit 0 "--date picks krom-2020" -- "$PROFIL" thresholds --date 2020-06-01 pop.csv
expect_grep "^policy: +krom-2020 " out.txt "krom-2020 chosen by date"

# 3. Monotone: a larger share of group 1 lowers close_min_p; a larger share
#    of group 3 raises far_below_p; a larger share of level A lowers a_min_p.
prev_close=1 prev_far=0 prev_a=1
for s in 10 25 40; do
    "$PROFIL" thresholds --policy krom-2021-08 --groups "$s,$((80 - s)),20" -o g$s.json pop.csv \
        >/dev/null
    close=$(value close_min_p g$s.json)
    expect_exit 0 "close_min_p falls as group 1 grows ($s %)" -- \
        "$PY" -c "import sys; sys.exit(not $close < $prev_close)"
    prev_close=$close
    "$PROFIL" thresholds --policy krom-2021-08 --groups "20,$((80 - s)),$s" -o f$s.json pop.csv \
        >/dev/null
    far=$(value far_below_p f$s.json)
    expect_exit 0 "far_below_p rises as group 3 grows ($s %)" -- \
        "$PY" -c "import sys; sys.exit(not $far > $prev_far)"
    prev_far=$far
    "$PROFIL" thresholds --policy krom-2021-08 --levels "$s,$((80 - s)),20" -o l$s.json pop.csv \
        >/dev/null
    a=$(value a_min_p l$s.json)
    expect_exit 0 "a_min_p falls as level A grows ($s %)" -- \
        "$PY" -c "import sys; sys.exit(not $a < $prev_a)"
    prev_a=$a
done
# The same population from standard input, gzip-compressed, gives the same file.
gzip -c pop.csv > pop.csv.gz
expect_exit 0 "gzip from standard input" -- sh -c \
    "'$PROFIL' thresholds --policy krom-2021-08 -o stdin.json - < pop.csv.gz"
if cmp -s krom.json stdin.json; then pass; else fail "stdin/gzip gives other thresholds"; fi

# 4. Bad shares: exit 2 with a message, and no output file.
for bad in 25,55,21 25,55 25,55,20,0 -5,85,20 a,b,c 25,,75 25%,55,20; do
    expect_exit 2 "--groups $bad" -- "$PROFIL" thresholds --policy krom-2021-08 --groups "$bad" \
        -o bad.json pop.csv
    expect_grep "^profil thresholds: --groups" err.txt "--groups $bad: message"
done
expect_grep "must sum to 100, not 101" <("$PROFIL" thresholds --groups 25,55,21 pop.csv 2>&1) \
    "sum named"
expect_exit 2 "--levels not summing to 100" -- "$PROFIL" thresholds --policy krom-2020 \
    --levels 30,30,30 -o bad.json pop.csv
expect_exit 2 "--enhanced over 100" -- "$PROFIL" thresholds --policy stom --enhanced 101 \
    -o bad.json pop.csv
expect_exit 2 "--enhanced for a policy with levels" -- "$PROFIL" thresholds --policy krom-2020 \
    --enhanced 50 -o bad.json pop.csv
expect_grep "policy krom-2020 has no tracks" err.txt "no tracks named"
expect_exit 2 "--levels for a policy with tracks" -- "$PROFIL" thresholds --policy stom \
    --levels 30,40,30 -o bad.json pop.csv
expect_exit 2 "-o and --in-place" -- "$PROFIL" thresholds -o bad.json --in-place pop.csv
expect_exit 2 "--policy and --date" -- "$PROFIL" thresholds --policy stom --date 2021-01-01 \
    -o bad.json pop.csv
if [ -e bad.json ]; then fail "bad.json written by a failed run"; else pass; fi

# 5. Failed runs leave no partial or changed output.
cp krom.json keep.json
expect_exit 1 "no one left in group 2" -- "$PROFIL" thresholds --policy krom-2021-08 \
    --groups 60,0,40 -o keep.json pop.csv
expect_grep "leaves no one in the level group 2" err.txt "empty level group named"
head -1 pop.csv > rejected.csv
printf 'x%.0s\n' 1 2 3 >> rejected.csv
expect_exit 1 "every row rejected" -- "$PROFIL" thresholds --policy krom-2021-08 -o keep.json \
    rejected.csv
expect_grep "no rows to score \(3 read, 3 rejected" err.txt "all rejected named"
(head -1 pop.csv; yes "$(sed -n 2p pop.csv)" | head -10) > same.csv
expect_exit 1 "every p the same" -- "$PROFIL" thresholds --policy krom-2021-08 -o keep.json same.csv
expect_grep "all 10 rows have the same p" err.txt "equal p named"
# Thresholds the loader refuses are not written: with spår for every group,
# 90 % enhanced lies above close_min_p.
"$PY" -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
d["tracks"]["groups"] = [1, 2, 3]
json.dump(d, open("allgroups.json", "w", encoding="utf-8"), ensure_ascii=False, indent=2)
' "$POL/stom.json"
expect_exit 1 "new thresholds that do not load" -- "$PROFIL" thresholds --policy ./allgroups.json \
    --enhanced 90 -o refused.json pop.csv
expect_grep "does not load: tracks: thresholds out of order" err.txt "loader's reason named"
if [ -e refused.json ]; then fail "refused.json written"; else pass; fi
expect_exit 1 "unwritable output" -- "$PROFIL" thresholds -o nodir/out.json pop.csv
if cmp -s krom.json keep.json; then pass; else fail "a failed run changed keep.json"; fi
expect_eq "$(find . -name '*.tmp.*' | wc -l)" 0 "no temporary files left"
if [ -e nodir/out.json ]; then fail "output in a missing directory"; else pass; fi

# Rejected rows are counted and reported, not fatal.
(cat pop.csv; printf 'x\n'; sed -n 2p pop.csv | sed 's/^\([^,]*\),[0-9]*,/\1,15,/') > some.csv
expect_exit 0 "some rows rejected" -- "$PROFIL" thresholds --policy krom-2021-08 some.csv
expect_grep "^rows: +20002 read, 2 rejected, 20000 scored$" out.txt "rejected rows counted"
expect_grep "2 of 20002 rows rejected" err.txt "rejected rows reported"

# Ties at a cut: one profile repeated as 60 % of the rows covers the cut
# at 20 % or the one at 75 % wherever its p lies; the cut moves to the
# nearer end of the run, with a note, and the thresholds stay in order.
(cat pop.csv; yes "$(sed -n 2p pop.csv)" | head -30000) > ties.csv
expect_exit 0 "ties" -- "$PROFIL" thresholds --policy krom-2021-08 -o ties.json ties.csv
expect_grep "^profil thresholds: note: [0-9]+ rows share p = 0\.[0-9]+ at the cut for group" \
    err.txt "tie at a group cut noted"
expect_exit 0 "tied policy loads" -- "$PROFIL" policy check ties.json

# 6. --in-place rewrites the starting file: the same bytes as -o.
cp "$POL/krom-2020.json" copy.json
expect_exit 0 "expected in-place result" -- "$PROFIL" thresholds --policy ./copy.json \
    -o expected.json pop.csv
expect_exit 0 "--in-place" -- "$PROFIL" thresholds --policy ./copy.json --in-place pop.csv
expect_grep "^written: +\./copy\.json" out.txt "in-place target"
if cmp -s copy.json expected.json; then pass; else fail "--in-place differs from -o"; fi
if cmp -s copy.json "$POL/krom-2020.json"; then fail "--in-place left the file unchanged"; else
    pass
fi
# Idempotent: the rewritten file gives the same thresholds again.
expect_exit 0 "--in-place again" -- "$PROFIL" thresholds --policy ./copy.json --in-place pop.csv
if cmp -s copy.json expected.json; then pass; else fail "--in-place is not idempotent"; fi

# 7. Independent check: recompute p for every row from the model file's
#    terms and the schema's reference tables, and count the shares the
#    written thresholds give; compare with the targets and with the range
#    of p the command reported.
expect_exit 0 "shares recomputed in Python" -- "$PY" - pop.csv "$SRC/data" krom.json krom.txt <<'PY'
import csv, json, math, re, sys

pop, data, policy, report = sys.argv[1:5]
model = json.load(open(f"{data}/models/af-logit.json"))
schema = json.load(open(f"{data}/schema/af-inskrivning.json"))
cols = {c["name"]: c for c in schema["columns"]}
missing_values = set(schema["missing_values"])
region = {r["iso2"]: r["fodelseregion"]
          for r in csv.DictReader(open(f"{data}/ref/fodelseland-region.csv"))}


def raw(row, name):
    """The row's value of a column: derived, defaulted, or None when missing."""
    c = cols[name]
    if "derive" in c:
        src = raw(row, c["derive"]["source"])
        return None if src is None else region.get(src, c["derive"]["default"])
    v = row.get(name, "").strip()
    if v in missing_values:
        return c.get("default") if c.get("missing") == "default" else None
    return v


def factor(row, f, level):
    m = re.fullmatch(r"(log1p|hinge|missing)\((\w+)(?:,([-\d.]+))?\)", f)
    if m:
        kind, name, knot = m.groups()
        v = raw(row, name)
        if kind == "missing":
            return 1.0 if v is None else 0.0
        if v is None:
            return 0.0
        x = float(v)
        return math.log1p(x) if kind == "log1p" else max(x - float(knot), 0.0)
    v = raw(row, f)
    if cols[f]["type"] == "category":
        return 1.0 if v == level else 0.0
    if v is None:
        return 0.0
    return float(v)  # numbers, integers, booleans (0/1)


terms = []
for t in model["terms"]:
    levels = t["level"].split(":") if t["level"] else []
    fs = []
    for f in t["term"].split(":"):
        lev = levels.pop(0) if f in cols and cols[f]["type"] == "category" else None
        fs.append((f, lev))
    terms.append((fs, t["coefficient"]))

ps = []
for row in csv.DictReader(open(pop, encoding="utf-8")):
    eta = 0.0
    for fs, b in terms:
        if fs == [("(Intercept)", None)]:
            eta += b
            continue
        v = b
        for f, lev in fs:
            v *= factor(row, f, lev)
        eta += v
    ps.append(1 / (1 + math.exp(-eta)))

pol = json.load(open(policy))
close, far = pol["groups"]["close_min_p"], pol["groups"]["far_below_p"]
a, b = pol["levels"]["a_min_p"], pol["levels"]["b_min_p"]
n = len(ps)
g1 = sum(p >= close for p in ps) / n * 100
g3 = sum(p < far for p in ps) / n * 100
g2 = 100 - g1 - g3
mid = [p for p in ps if far <= p < close]
la = sum(p >= a for p in mid) / len(mid) * 100
lc = sum(p < b for p in mid) / len(mid) * 100
print(f"n {n}: groups {g1:.3f} {g2:.3f} {g3:.3f}; levels {la:.3f} {100 - la - lc:.3f} {lc:.3f}")
for got, want in ((g1, 25), (g2, 55), (g3, 20), (la, 30), (100 - la - lc, 40), (lc, 30)):
    assert abs(got - want) <= 0.5, (got, want)
# The range of p the command reported, to its 4 decimals.
m = re.search(r"^p: +min ([\d.]+), median [\d.]+, mean ([\d.]+), max ([\d.]+)$",
              open(report, encoding="utf-8").read(), re.M)
assert m, "no p line in the report"
for got, want in ((min(ps), m.group(1)), (sum(ps) / n, m.group(2)), (max(ps), m.group(3))):
    assert abs(got - float(want)) <= 0.00006, (got, want)
print("ok")
PY
expect_grep "^ok$" out.txt "independent shares"

# 8. The bundled thresholds are those of the default population, model and
#    shares (data/policies/make-thresholds.sh): a retrained default model
#    needs them regenerated.
"$PROFIL" synth --rows 650000 --seed 20200330 -o default.csv
for policy in krom-2020 krom-2021-08 stom; do
    "$PROFIL" thresholds --policy "$POL/$policy.json" -o "default-$policy.json" default.csv \
        >/dev/null
    if cmp -s "$POL/$policy.json" "default-$policy.json"; then pass; else
        fail "$policy.json: thresholds not those of the default model and population;" \
            "run data/policies/make-thresholds.sh"
        diff "$POL/$policy.json" "default-$policy.json" | sed 's/^/    /'
    fi
done
rm -f default.csv

finish
