"""Parameter recovery: every coefficient of a model fitted to a synthetic
population lies within 4 standard errors of the value the generator's
ground truth implies for it.

usage: recovery.py TRUTH.json COEF.csv SCHEMA.json

The truth (the generator's truth file) is a list of terms; a fitted term
is matched to the truth terms with the same factors, so its implied value
is their coefficient (times the level's code for a linear effect of a
coded category), and 0 when no truth term matches. Reference levels must
carry no truth effect (else the intercept would absorb it)."""
import csv
import json
import re
import sys

truth = json.load(open(sys.argv[1]))["formula"]
schema = json.load(open(sys.argv[3]))
types = {c["name"]: c["type"] for c in schema["columns"]}


def ours(term, level):
    """Factors of a coefficient-table row: (kind, feature, arg)."""
    levels = level.split(":") if level else []
    out = []
    for f in term.split(":"):
        m = re.fullmatch(r"(log1p|hinge|missing|bin)\((.*)\)", f)
        if m:
            args = m.group(2).split(",")
            out.append((m.group(1), args[0], float(args[1]) if m.group(1) == "hinge" else None))
        elif types[f] == "category":
            out.append(("level", f, levels.pop(0)))
        else:
            out.append(("value", f, None))
    return out


def multiplier(tf, of):
    """Value of truth factor tf as a multiple of our factor of, or None."""
    kind, feat = tf["type"], tf["feature"]
    if feat != of[1]:
        return None
    if kind == "linear":
        if of[0] == "value":
            return 1.0
        if of[0] == "level":
            return float(of[2])
    if kind == "hinge" and of[0] == "hinge" and of[2] == tf["knot"]:
        return 1.0
    if kind == "log1p" and of[0] == "log1p":
        return 1.0
    if kind == "indicator":
        if of[0] == "value" and "1" in tf["levels"]:
            return 1.0
        if of[0] == "level":
            return 1.0 if of[2] in tf["levels"] else 0.0
    return None


def implied(term, level):
    if term == "(Intercept)":
        return truth["intercept"]
    fs = ours(term, level)
    total = 0.0
    for t in truth["terms"]:
        tfs = t["factors"] if t["type"] == "interaction" else [t]
        if len(tfs) != len(fs):
            continue
        # Factors may come in another order: try both for pairs.
        orders = [fs] if len(fs) == 1 else [fs, fs[::-1]]
        for order in orders:
            ms = [multiplier(a, b) for a, b in zip(tfs, order)]
            if all(m is not None for m in ms):
                prod = t["coefficient"]
                for m in ms:
                    prod *= m
                total += prod
                break
    return total


bad = 0
rows = list(csv.DictReader(open(sys.argv[2])))
for r in rows:
    est, se = float(r["coefficient"]), float(r["std_error"])
    want = implied(r["term"], r["level"])
    z = (est - want) / se
    flag = "" if abs(z) < 4 else "  <-- more than 4 SE off"
    bad += abs(z) >= 4
    print(f"{r['term']:45s} {r['level']:6s} est {est:9.4f} truth {want:9.4f} z {z:6.2f}{flag}")
print(f"{len(rows) - bad} passed, {bad} failed")
sys.exit(1 if bad else 0)
