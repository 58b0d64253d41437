#!/usr/bin/env python3
"""profil diff's work in pandas, as an analyst would write it: read both
scored CSVs, merge on id (outer, with an indicator), crosstab grupp, nivå,
spår and eligibility, describe the change in p, and write the persons whose
decision changed or who are on one side only.

usage: diff_pandas.py A.csv B.csv CHANGES.csv
"""
import sys

import pandas as pd

COLS = ["id", "p", "grupp", "niva", "spar", "leveransomrade", "max_ersattning", "eligible",
        "ineligible_rule"]
DEC = ["grupp", "niva", "spar", "elig", "leveransomrade", "max_ersattning"]


def read(path):
    d = pd.read_csv(path, usecols=COLS, dtype={"id": str, "niva": str, "spar": str,
                                               "leveransomrade": str, "ineligible_rule": str},
                    keep_default_na=False, na_values={"max_ersattning": [""]})
    d["elig"] = d["ineligible_rule"].where(d["eligible"] == 0, "ja")
    return d.drop_duplicates("id")


a, b = read(sys.argv[1]), read(sys.argv[2])
m = a.merge(b, on="id", how="outer", suffixes=("_a", "_b"), indicator=True)
both = m[m["_merge"] == "both"]
for k in ("grupp", "niva", "spar", "elig"):
    print(pd.crosstab(both[k + "_a"].fillna("-"), both[k + "_b"].fillna("-")))
dp = both["p_b"] - both["p_a"]
print(dp.describe())
changed = pd.Series(False, index=both.index)
for k in DEC:
    x, y = both[k + "_a"], both[k + "_b"]
    changed |= ~((x == y) | (x.isna() & y.isna()))
out = pd.concat([both[changed].assign(change="changed"),
                 m[m["_merge"] == "left_only"].assign(change="only_a"),
                 m[m["_merge"] == "right_only"].assign(change="only_b")])
out[["id", "change"] + [k + s for k in DEC for s in ("_a", "_b")]].to_csv(sys.argv[3], index=False)
print(len(out), "persons listed")
