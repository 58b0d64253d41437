#!/usr/bin/python3
"""bench/score/agree.py - whether a peer's decisions equal profil's, row by row.

    agree.py NAME PROFIL.csv PEER.csv IN.csv MODEL.json POLICY.json SCHEMA.json

Reads both outputs in chunks (same rows, same order: the ids must match) and
counts the rows where they differ:
  - exactly: grupp, niva, spar, the malgrupp_* flags, eligible,
    ineligible_rule, leveransomrade, ersattningsmodell, max_ersattning,
    model_id, policy_id;
  - p within 1e-6 and logit within 1e-4 (both are rounded to those decimals,
    so a difference of one unit in the last place can come from rounding
    alone);
  - reasons: the same features at the same places, contributions within
    1e-4. Where the features differ, the exact contributions of the row are
    recomputed from IN.csv (score_sklearn.Spec) and the difference counts as
    a near-tie when the two features' |contributions| differ by less than
    1e-9 (an empty place counts as 0); otherwise it is a disagreement.

Prints one line per kind of difference with up to three example rows (row
number, id, both values), then a summary line. Exit status 1 when any
column differs beyond these tolerances.
"""
import itertools
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from score_sklearn import Spec  # noqa: E402

CHUNK = 500_000
TIE = 1e-9
EXAMPLES = 3


def main(argv):
    if len(argv) != 8:
        sys.exit("usage: agree.py NAME PROFIL.csv PEER.csv IN.csv MODEL.json POLICY.json "
                 "SCHEMA.json")
    name, a_path, b_path, in_path = argv[1:5]
    rd = dict(dtype=str, keep_default_na=False, chunksize=CHUNK)
    ra, rb = pd.read_csv(a_path, **rd), pd.read_csv(b_path, **rd)
    diffs = {}  # kind -> [count, examples]
    reason_rows = []  # (row, id, profil reasons, peer reasons)
    nrows = 0

    def note(kind, mask, a, b, col, base):
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        e = diffs.setdefault(kind, [0, []])
        e[0] += len(idx)
        for i in idx[: EXAMPLES - len(e[1])]:
            e[1].append(f"row {base + i + 1} ({a['id'].iat[i]}): profil {a[col].iat[i]!r},"
                        f" {name} {b[col].iat[i]!r}")

    exact = None
    for a, b in itertools.zip_longest(ra, rb):
        if a is None or b is None:
            print(f"{name}: the two files have different numbers of rows")
            return 1
        if exact is None:
            if list(a.columns) != list(b.columns):
                print(f"{name}: columns differ:\n  profil {list(a.columns)}\n  {name} "
                      f"{list(b.columns)}")
                return 1
            exact = [c for c in a.columns if c in (
                "grupp", "niva", "spar", "eligible", "ineligible_rule", "leveransomrade",
                "ersattningsmodell", "max_ersattning", "model_id", "policy_id")
                or c.startswith("malgrupp_")]
        if len(a) != len(b):
            print(f"{name}: row counts differ in the chunk from row {nrows + 1}")
            return 1
        b.index = a.index
        note("id", a["id"] != b["id"], a, b, "id", nrows)
        for c in exact:
            note(c, a[c] != b[c], a, b, c, nrows)
        for c, tol in (("p", 1e-6), ("logit", 1e-4)):
            x, y = a[c].astype(float).to_numpy(), b[c].astype(float).to_numpy()
            note(c, ~(np.abs(x - y) <= tol + 1e-12), a, b, c, nrows)
        same = np.ones(len(a), dtype=bool)
        for k in (1, 2, 3):
            same &= (a[f"reason_{k}"] == b[f"reason_{k}"]).to_numpy()
        for k in (1, 2, 3):
            c = f"reason_{k}_contribution"
            x = pd.to_numeric(a[c]).to_numpy()
            y = pd.to_numeric(b[c]).to_numpy()
            ok = (np.abs(x - y) <= 1e-4 + 1e-12) | (np.isnan(x) & np.isnan(y))
            note(c, same & ~ok, a, b, c, nrows)
        for i in np.flatnonzero(~same):
            reason_rows.append((nrows + i, a["id"].iat[i],
                                [a[f"reason_{k}"].iat[i] for k in (1, 2, 3)],
                                [b[f"reason_{k}"].iat[i] for k in (1, 2, 3)]))
        nrows += len(a)

    # Reasons in a different order: near-ties, or real differences?
    ties = 0
    if reason_rows:
        spec = Spec(argv[5], argv[6], argv[7])
        want = {r[0] for r in reason_rows}
        d = spec.read(in_path, skiprows=lambda i: i > 0 and (i - 1) not in want)
        C = spec.contributions(spec.design(d))
        col = {f: j for j, f in enumerate(spec.features)}
        bad = []
        for (row, rid, ra_, rb_), c in zip(reason_rows, C):
            def mag(f):
                return abs(c[col[f]]) if f else 0.0
            if all(x == y or abs(mag(x) - mag(y)) < TIE for x, y in zip(ra_, rb_)):
                ties += 1
            else:
                bad.append(f"row {row + 1} ({rid}): profil {ra_} "
                           f"{[round(c[col[f]], 12) if f else None for f in ra_]}, "
                           f"{name} {rb_} {[round(c[col[f]], 12) if f else None for f in rb_]}")
        if bad:
            diffs["reasons"] = [len(bad), bad[:EXAMPLES]]

    for kind, (count, examples) in diffs.items():
        print(f"{name}: {kind} differs on {count} of {nrows} rows")
        for e in examples:
            print(f"    {e}")
    total = sum(c for c, _ in diffs.values())
    print(f"{name}: {nrows} rows; " +
          ("all columns agree" if not diffs else f"{len(diffs)} columns differ") +
          f"; reasons in another order on near-ties (< {TIE:g}): {ties}")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
