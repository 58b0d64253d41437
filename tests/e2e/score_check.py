#!/usr/bin/env python3
"""Independent check of `profil score` output.

Recomputes every decision from the input CSV, the model file and the policy
file with plain Python (no code shared with profil): the linear predictor
term by term, p, group, level or track, target groups, delivery area,
compensation, eligibility and the top reasons, and compares them with
profil's output row by row.

usage: score_check.py INPUT.csv OUTPUT.csv MODEL.json POLICY.json REFDIR
exit 0 when every row agrees, 1 otherwise (the first differences printed).
"""
import csv
import json
import math
import sys


def load_regions(refdir):
    with open(f"{refdir}/fodelseland-region.csv", newline="", encoding="utf-8") as f:
        return {r["iso2"]: r["fodelseregion"] for r in csv.DictReader(f)}


def term_value(term, level, row):
    """Value of one coefficient-table term for one input row (dict of str)."""
    if term == "(Intercept)":
        return 1.0
    factors = term.split(":")
    levels = level.split(":") if level else []
    v = 1.0
    li = 0
    for fac in factors:
        if fac.startswith("log1p("):
            x = row[fac[6:-1]]
            v *= math.log1p(float(x)) if x != "" else 0.0
        elif fac.startswith("hinge("):
            name, k = fac[6:-1].split(",")
            x = row[name]
            v *= max(0.0, float(x) - float(k)) if x != "" else 0.0
        elif fac.startswith("missing("):
            v *= 1.0 if row[fac[8:-1]] == "" else 0.0
        elif fac.startswith("bin("):
            name, lo, hi = fac[4:-1].split(",")
            x = row[name]
            v *= 1.0 if x != "" and float(lo) <= float(x) < float(hi) else 0.0
        elif fac in CATEGORIES:
            v *= 1.0 if row[fac] == levels[li] else 0.0
            li += 1
        else:
            x = row[fac]
            v *= float(x) if x != "" else 0.0
    return v


def features_of(term):
    out = []
    for fac in term.split(":"):
        name = fac
        if "(" in fac:
            name = fac[fac.index("(") + 1 : -1].split(",")[0]
        if name not in out:
            out.append(name)
    return out


def holds(cond, row):
    x = row.get(cond["column"], "")
    if x == "":
        return False
    if "in" in cond:
        return x in cond["in"]
    v = float(x)
    return cond.get("min", -math.inf) <= v <= cond.get("max", math.inf)


def main():
    inp, outp, model_path, policy_path, refdir = sys.argv[1:6]
    model = json.load(open(model_path, encoding="utf-8"))
    pol = json.load(open(policy_path, encoding="utf-8"))
    schema = json.load(open(f"{refdir}/../schema/af-inskrivning.json", encoding="utf-8"))
    global CATEGORIES
    CATEGORIES = {c["name"] for c in schema["columns"] if c["type"] == "category"}
    order = {c["name"]: k for k, c in enumerate(schema["columns"])}
    regions = load_regions(refdir)
    terms = model["terms"]
    ref_logit = sum(t["coefficient"] * t["reference_value"] for t in terms)
    areas = {}
    if "delivery_areas" in pol:
        for a in pol["delivery_areas"]["areas"]:
            for m in a["municipalities"]:
                areas[m] = a
    comp = pol["compensation"]["rows"]
    g = pol["groups"]
    bad = 0
    n = 0
    with open(inp, newline="", encoding="utf-8") as fi, open(outp, newline="", encoding="utf-8") as fo:
        for row, out in zip(csv.DictReader(fi), csv.DictReader(fo)):
            n += 1
            row["fodelseregion"] = regions.get(row["fodelseland"], "utanfor_europa")
            eta = 0.0
            contrib = {}
            for t in terms:
                x = term_value(t["term"], t["level"], row)
                eta += t["coefficient"] * x
                if t["term"] == "(Intercept)":
                    continue
                feats = features_of(t["term"])
                c = t["coefficient"] * (x - t["reference_value"]) / len(feats)
                for f in feats:
                    contrib[f] = contrib.get(f, 0.0) + c
            p = 1 / (1 + math.exp(-eta))
            grupp = 1 if p >= g["close_min_p"] else 3 if p < g["far_below_p"] else 2
            niva = spar = ""
            if "levels" in pol and grupp in pol["levels"]["groups"]:
                lv = pol["levels"]
                niva = "A" if p >= lv["a_min_p"] else "B" if p >= lv["b_min_p"] else "C"
            if "tracks" in pol and grupp in pol["tracks"]["groups"]:
                tr = pol["tracks"]
                lang = all(holds(c, row) for c in tr["language_support"])
                spar = str(1 + lang + 2 * (p < tr["enhanced_below_p"]))
            area = areas.get(row["kommunkod"]) if "delivery_areas" in pol else None
            covered = area is not None or "delivery_areas" not in pol
            model_no = area["compensation_model"] if area else None
            maxc = ""
            if covered and (niva or spar):
                for r in comp:
                    key_ok = r.get("level") == niva if niva else r.get("track") == int(spar)
                    if key_ok and r.get("model") in (None, model_no):
                        maxc = str(r["max_per_participant"])
            failed = ""
            for rule in pol["eligibility"]:
                ok = (covered if rule["rule"] == "delivery_area"
                      else grupp in rule["groups"] if rule["rule"] == "group"
                      else all(holds(c, row) for c in rule["all"]))
                if not ok:
                    failed = rule["code"]
                    break
            want = {
                "grupp": str(grupp), "niva": niva, "spar": spar,
                "leveransomrade": area["name"] if area else "",
                "ersattningsmodell": str(model_no) if model_no else "",
                "max_ersattning": maxc,
                "eligible": "0" if failed else "1", "ineligible_rule": failed,
            }
            for tg in pol["target_groups"]:
                want["malgrupp_" + tg["code"]] = "1" if all(holds(c, row) for c in tg["all"]) else "0"
            problems = [f"{k}: profil {out[k]!r}, expected {v!r}" for k, v in want.items() if out[k] != v]
            if abs(float(out["p"]) - p) > 0.5e-6 + 1e-12:
                problems.append(f"p: profil {out['p']}, expected {p:.9f}")
            total = sum(contrib.values())
            if abs(total - (eta - ref_logit)) > 1e-9:
                problems.append("contributions do not sum to logit - reference logit")
            ranked = sorted((f for f in contrib if contrib[f] != 0),
                            key=lambda f: (-abs(contrib[f]), order[f]))
            for k in range(3):
                name = out[f"reason_{k + 1}"]
                if k >= len(ranked):
                    if name:
                        problems.append(f"reason_{k + 1}: profil {name}, expected none")
                    continue
                exp = ranked[k]
                # Near-ties may order either way at 1e-12; anything else must match.
                if name != exp and abs(abs(contrib.get(name, 0)) - abs(contrib[exp])) > 1e-12:
                    problems.append(f"reason_{k + 1}: profil {name}, expected {exp}")
                if abs(float(out[f"reason_{k + 1}_contribution"]) - contrib.get(name, 0)) > 0.5e-4 + 1e-12:
                    problems.append(f"reason_{k + 1}_contribution: profil {out[f'reason_{k + 1}_contribution']}, expected {contrib.get(name, 0):.6f}")
            if out["id"] != row["id"]:
                problems.append(f"id: profil {out['id']}, expected {row['id']}")
            if problems:
                bad += 1
                if bad <= 5:
                    print(f"row {n} ({row['id']}): " + "; ".join(problems))
    print(f"{n} rows checked, {bad} differ")
    return 1 if bad or n == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
