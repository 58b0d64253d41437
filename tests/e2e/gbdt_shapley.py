#!/usr/bin/python3
"""Exact Shapley values of a profil gbdt model, by enumeration of every
coalition of features, against `profil model explain`'s TreeSHAP values.

  gbdt_shapley.py MODEL.json SCHEMA.json DATA.csv EXPLAIN.csv [ROWS]

Independent of the C code: the model is read from its JSON file, a row's
features from the CSV text (numbers as numbers, category and boolean codes
as their position in the schema's level list, empty = missing), and the
value of a coalition S is the path-dependent expectation TreeSHAP
explains: at a split on a feature in S follow the row, else average the
two children weighted by cover / parent cover. Shapley:
phi_i = sum over S not holding i of |S|! (n-|S|-1)! / n! (v(S+i) - v(S)).
Checks, per row: the logit, the reference (v of the empty set), and every
phi to 1e-9. Prints "N rows checked" or the first mismatches; exit 1 on any.
"""
import csv
import itertools
import json
import math
import sys

model = json.load(open(sys.argv[1]))
schema = json.load(open(sys.argv[2]))
rows = list(csv.DictReader(open(sys.argv[3], newline="")))
explain = list(csv.DictReader(open(sys.argv[4], newline="")))
limit = int(sys.argv[5]) if len(sys.argv) > 5 else 30

cols = {c["name"]: c for c in schema["columns"]}
feats = [f["name"] for f in model["features"]]
n = len(feats)


def value(name, text):
    c = cols[name]
    if text == "":
        return math.nan
    if c["type"] in ("integer", "number"):
        return float(text)
    if c["type"] == "boolean":
        return {"0": 0.0, "1": 1.0}[text]
    codes = [l["code"] for l in c["levels"]]
    return float(codes.index(text))


def goes_left(t, k, x):
    v = x[t["feature"][k]]
    if math.isnan(v):
        return t["default_left"][k] == 1
    return v < t["threshold"][k]


def leaf_value(t, x):
    k = 0
    while t["left"][k] >= 0:
        k = t["left"][k] if goes_left(t, k, x) else t["right"][k]
    return t["value"][k]


def cond_value(t, k, x, known):
    if t["left"][k] < 0:
        return t["value"][k]
    l, r = t["left"][k], t["right"][k]
    if t["feature"][k] in known:
        return cond_value(t, l if goes_left(t, k, x) else r, x, known)
    c = t["cover"]
    return (c[l] * cond_value(t, l, x, known) + c[r] * cond_value(t, r, x, known)) / c[k]


def v(x, known):
    return model["base_score"] + sum(cond_value(t, 0, x, known) for t in model["trees"])


fact = [math.factorial(i) for i in range(n + 1)]
bad = 0
checked = 0
by_row = {int(e["row"]): e for e in explain}
for rowno, row in enumerate(rows[:limit], start=1):
    e = by_row[rowno]
    x = [value(f, row[f]) for f in feats]
    logit = model["base_score"] + sum(leaf_value(t, x) for t in model["trees"])
    ref = v(x, frozenset())
    vals = {}
    for size in range(n + 1):
        for S in itertools.combinations(range(n), size):
            vals[frozenset(S)] = v(x, frozenset(S))
    checks = [("logit", logit, float(e["logit"])), ("reference", ref, float(e["reference_logit"]))]
    for i in range(n):
        phi = 0.0
        for S, vs in vals.items():
            if i in S:
                continue
            w = fact[len(S)] * fact[n - len(S) - 1] / fact[n]
            phi += w * (vals[S | {i}] - vs)
        checks.append((feats[i], phi, float(e[feats[i]])))
    for what, want, got in checks:
        if abs(want - got) > 1e-9:
            bad += 1
            if bad <= 10:
                print(f"row {rowno} {what}: exact {want!r}, profil {got!r}")
    checked += 1
if bad:
    print(f"{bad} mismatches")
    sys.exit(1)
print(f"{checked} rows checked")
