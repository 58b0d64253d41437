#!/usr/bin/env python3
"""Independent check of `profil diff`.

Reads the two scored CSV files with Python's csv module, matches rows by id,
and recomputes what profil diff reports: ids on both sides and on one side,
the transition matrices, the change in p, eligibility and maximum
compensation totals, and the list of persons whose decision changed. Compares
with the JSON report and the changes CSV.

usage: diff_check.py A.csv B.csv REPORT.json CHANGES.csv
exit 0 when everything agrees, 1 otherwise (the differences printed).
"""
import csv
import json
import math
import sys

FIELDS = [("grupp", "grupp"), ("niva", "niva"), ("spar", "spar"),
          ("eligibility", None), ("leveransomrade", "leveransomrade"),
          ("max_ersattning", "max_ersattning")]


def elig(r):
    return "ja" if r["eligible"] == "1" else (r["ineligible_rule"] or "nej")


def value(r, name):
    if name == "eligibility":
        return elig(r)
    if name == "max_ersattning":
        return float(r[name]) if r[name] else None
    return r[name]


def main():
    a_path, b_path, rep_path, ch_path = sys.argv[1:5]
    a = {}
    a_order = []
    for i, r in enumerate(csv.DictReader(open(a_path, newline="", encoding="utf-8")), 1):
        if r["id"] not in a:
            a[r["id"]] = (i, r)
            a_order.append(r["id"])
    rep = json.load(open(rep_path, encoding="utf-8"))
    problems = []
    seen = set()
    trans = {k: {} for k in ("grupp", "niva", "spar", "eligibility")}
    changes = []
    dps = []
    only_b = 0
    elig_b = 0
    maxc_b = 0.0
    for i, r in enumerate(csv.DictReader(open(b_path, newline="", encoding="utf-8")), 1):
        if r["id"] in seen:
            continue
        if r["eligible"] == "1":
            elig_b += 1
            maxc_b += float(r["max_ersattning"] or 0)
        if r["id"] not in a:
            only_b += 1
            changes.append((r["id"], "only_b", ""))
            continue
        seen.add(r["id"])
        ra = a[r["id"]][1]
        for k in trans:
            key = (value(ra, k) or "-", value(r, k) or "-")
            trans[k][key] = trans[k].get(key, 0) + 1
        dps.append(float(r["p"]) - float(ra["p"]))
        changed = [name for name, _ in FIELDS if value(ra, name) != value(r, name)]
        if changed:
            changes.append((r["id"], "changed", " ".join(changed)))
    only_a = [i for i in a_order if i not in seen]
    changes += [(i, "only_a", "") for i in only_a]

    def check(what, got, want):
        if got != want:
            problems.append(f"{what}: profil {got!r}, expected {want!r}")

    check("ids.both", rep["ids"]["both"], len(seen))
    check("ids.only_a", rep["ids"]["only_a"], len(only_a))
    check("ids.only_b", rep["ids"]["only_b"], only_b)
    check("changed", rep["changed"], sum(1 for c in changes if c[1] == "changed"))
    for name, _ in FIELDS:
        check(f"changed_by_field.{name}", rep["changed_by_field"][name],
              sum(1 for c in changes if name in c[2].split()))
    for k in trans:
        got = {(t["a"], t["b"]): t["rows"] for t in rep["transitions"][k]}
        check(f"transitions.{k}", got, trans[k])
    check("eligible.b", rep["eligible"]["b"], elig_b)
    if abs(rep["eligible"]["max_ersattning_b"] - maxc_b) > 0.5:
        problems.append(f"max_ersattning_b {rep['eligible']['max_ersattning_b']} vs {maxc_b}")
    n = len(dps)
    mean = sum(dps) / n
    sd = math.sqrt(max(0.0, sum(d * d for d in dps) / n - mean * mean))
    pc = rep["p_change"]
    for what, got, want in (("mean", pc["mean"], mean), ("sd", pc["sd"], sd),
                            ("min", pc["min"], min(dps)), ("max", pc["max"], max(dps))):
        if abs(got - want) > 1e-9:
            problems.append(f"p_change.{what}: profil {got}, expected {want}")
    check("p_change.changed", pc["changed"], sum(1 for d in dps if d != 0))
    edges = [0, 0.001, 0.01, 0.05, 0.1, 0.2]
    bins = [0] * 7
    for d in dps:
        k = 0
        while k < 6 and abs(d) > edges[k]:
            k += 1
        bins[k] += 1
    check("p_change.bins", [b["rows"] for b in pc["abs_change_bins"]], bins)
    got = [(r["id"], r["change"], r["fields"])
           for r in csv.DictReader(open(ch_path, newline="", encoding="utf-8"))]
    check("changes file", got, changes)
    for p in problems:
        print(p)
    print(f"{len(seen)} matched ids, {len(changes)} changes, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
