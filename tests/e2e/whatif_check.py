#!/usr/bin/env python3
"""Independent check of `profil whatif --json`.

Recomputes a what-if answer from the files alone, with plain Python: the
profile (the settings' defaults plus the values the test set), every
decision (linear predictor term by term, p, the delta-method interval from
the model's covariance, group, level or track, target groups, area,
compensation, eligibility, each feature's contribution), and for --reach
its own exhaustive search for the smallest change, which it re-scores.

usage: whatif_check.py KIND OUT.json DATADIR POLICY [NAME=VALUE...] [-- B-PAIRS...]
  KIND   card | sweep | compare | reach
  sweep:   the pairs are followed by vary=SPEC-FEATURE and the points
           are taken from the output (their values are checked against
           the expected list given as points=V1,V2,...)
  compare: pairs after "--" are the second profile's changes
  reach:   target=niva=B (or grupp=2, spar=3) among the pairs
exit 0 when everything agrees, 1 otherwise (the differences printed).
"""
import csv
import itertools
import json
import math
import sys

import score_check
from score_check import features_of, holds, load_regions, term_value

Z = 1.959963984540054
PROBLEMS = []


def check(cond, what):
    if not cond:
        PROBLEMS.append(what)


def close(a, b, tol, what):
    if a is None or b is None:
        check(a is None and b is None, f"{what}: profil {a}, expected {b}")
        return
    check(abs(a - b) <= tol * max(1.0, abs(b)), f"{what}: profil {a!r}, expected {b!r}")


class World:
    def __init__(self, datadir, policy):
        self.model = json.load(open(f"{datadir}/models/af-logit.json", encoding="utf-8"))
        self.pol = json.load(open(f"{datadir}/policies/{policy}.json", encoding="utf-8"))
        self.schema = json.load(open(f"{datadir}/schema/af-inskrivning.json", encoding="utf-8"))
        self.settings = json.load(open(f"{datadir}/whatif/af-inskrivning.json", encoding="utf-8"))
        score_check.CATEGORIES = {c["name"] for c in self.schema["columns"] if c["type"] == "category"}
        self.cols = {c["name"]: c for c in self.schema["columns"]}
        self.order = {c["name"]: k for k, c in enumerate(self.schema["columns"])}
        self.regions = load_regions(f"{datadir}/ref")
        self.areas = {}
        for a in self.pol.get("delivery_areas", {}).get("areas", []):
            for m in a["municipalities"]:
                self.areas[m] = a
        # Input columns the decision reads: model features and policy
        # conditions, derived ones through their source.
        used = set()
        for t in self.model["terms"]:
            if t["term"] != "(Intercept)":
                used.update(features_of(t["term"]))
        conds = list(self.pol.get("tracks", {}).get("language_support", []))
        for tg in self.pol["target_groups"]:
            conds += tg["all"]
        for r in self.pol["eligibility"]:
            conds += r.get("all", [])
        used.update(c["column"] for c in conds)
        if "delivery_areas" in self.pol:
            used.add(self.pol["delivery_areas"]["column"])
        self.used = {self.source(n) for n in used}

    def source(self, name):
        d = self.cols[name].get("derive")
        return self.source(d["source"]) if d else name

    def default_profile(self):
        return {k: (v["default"] if v["default"] is not None else "")
                for k, v in self.settings["columns"].items()}

    def decide(self, prof):
        row = dict(prof)
        row["fodelseregion"] = self.regions.get(row["fodelseland"], "utanfor_europa")
        terms = self.model["terms"]
        x = [term_value(t["term"], t["level"], row) for t in terms]
        eta = sum(t["coefficient"] * v for t, v in zip(terms, x))
        contrib = {}
        for t, v in zip(terms, x):
            if t["term"] == "(Intercept)":
                continue
            feats = features_of(t["term"])
            for f in feats:
                contrib[f] = contrib.get(f, 0.0) + t["coefficient"] * (v - t["reference_value"]) / len(feats)
        cov = self.model["covariance"]
        var = sum(x[i] * cov[i][j] * x[j] for i in range(len(x)) for j in range(len(x)))
        se = math.sqrt(var)
        p = 1 / (1 + math.exp(-eta))
        pol = self.pol
        g = pol["groups"]
        grupp = 1 if p >= g["close_min_p"] else 3 if p < g["far_below_p"] else 2
        niva = spar = None
        if "levels" in pol and grupp in pol["levels"]["groups"]:
            lv = pol["levels"]
            niva = "A" if p >= lv["a_min_p"] else "B" if p >= lv["b_min_p"] else "C"
        if "tracks" in pol and grupp in pol["tracks"]["groups"]:
            tr = pol["tracks"]
            lang = all(holds(c, row) for c in tr["language_support"])
            spar = 1 + lang + 2 * (p < tr["enhanced_below_p"])
        area = self.areas.get(row["kommunkod"]) if "delivery_areas" in pol else None
        covered = area is not None or "delivery_areas" not in pol
        model_no = area["compensation_model"] if area else None
        maxc = None
        if covered and (niva or spar):
            for r in pol["compensation"]["rows"]:
                ok = r.get("level") == niva if niva else r.get("track") == spar
                if ok and r.get("model") in (None, model_no):
                    maxc = r["max_per_participant"]
        failed = None
        for rule in pol["eligibility"]:
            ok = (covered if rule["rule"] == "delivery_area"
                  else grupp in rule["groups"] if rule["rule"] == "group"
                  else all(holds(c, row) for c in rule["all"]))
            if not ok:
                failed = rule["code"]
                break
        return {
            "p": p, "logit": eta, "se_logit": se, "se_p": p * (1 - p) * se,
            "p_ci95": [1 / (1 + math.exp(-(eta - Z * se))), 1 / (1 + math.exp(-(eta + Z * se)))],
            "grupp": grupp, "niva": niva, "spar": spar,
            "malgrupp": [tg["code"] for tg in pol["target_groups"] if all(holds(c, row) for c in tg["all"])],
            "leveransomrade": area["name"] if area else None,
            "ersattningsmodell": model_no, "max_ersattning": maxc,
            "eligible": failed is None, "ineligible_rule": failed,
            "contributions": contrib,
            "reference_logit": sum(t["coefficient"] * t["reference_value"] for t in terms),
        }


def check_decision(got, want, what):
    for k in ("p", "logit", "se_logit", "se_p"):
        close(got[k], want[k], 1e-9, f"{what}.{k}")
    for i in range(2):
        close(got["p_ci95"][i], want["p_ci95"][i], 1e-9, f"{what}.p_ci95[{i}]")
    for k in ("grupp", "niva", "spar", "leveransomrade", "ersattningsmodell", "eligible", "ineligible_rule"):
        check(got[k] == want[k], f"{what}.{k}: profil {got[k]!r}, expected {want[k]!r}")
    close(got["max_ersattning"], want["max_ersattning"], 0, f"{what}.max_ersattning")
    check([m["code"] for m in got["malgrupp"]] == want["malgrupp"],
          f"{what}.malgrupp: profil {got['malgrupp']}, expected {want['malgrupp']}")


def check_card(w, got, prof, what):
    want_prof = {k: (v if v != "" else None) for k, v in prof.items()}
    check(got["profile"] == want_prof, f"{what}.profile: profil {got['profile']}, expected {want_prof}")
    exp_default = [k for k in w.settings["columns"] if k not in SET]
    check(got["defaults"] == exp_default, f"{what}.defaults: profil {got['defaults']}, expected {exp_default}")
    want = w.decide(prof)
    check_decision(got, want, what)
    close(got["reference_logit"], want["reference_logit"], 1e-12, f"{what}.reference_logit")
    c = want["contributions"]
    order = sorted(c, key=lambda f: (-abs(c[f]), w.order[f]))
    got_order = [e["feature"] for e in got["contributions"]]
    check(sorted(got_order) == sorted(order), f"{what}.contributions: features {got_order}, expected {order}")
    for e in got["contributions"]:
        close(e["contribution"], c.get(e["feature"]), 1e-9, f"{what}.contributions.{e['feature']}")
        want_dir = "höjer" if c[e["feature"]] > 0 else "sänker" if c[e["feature"]] < 0 else "påverkar inte"
        check(e["direction"] == want_dir, f"{what}.contributions.{e['feature']}.direction")
    for a, b in zip(got["contributions"], got["contributions"][1:]):
        check(abs(a["contribution"]) >= abs(b["contribution"]) - 1e-12, f"{what}: contributions not largest first")
    check(abs(sum(c.values()) - (want["logit"] - want["reference_logit"])) < 1e-9, "contributions sum")


def reach_search(w, prof, target):
    """The smallest change, searched exhaustively by number of changes."""
    kind, value = target.split("=", 1)
    kind = {"nivå": "niva", "spår": "spar"}.get(kind, kind)
    value = int(value) if kind in ("grupp", "spar") else value

    def met(d):
        return d[kind] == value

    cur = w.decide(prof)
    if met(cur):
        return "already", []
    feats = []
    for name, s in w.settings["columns"].items():
        if s["status"] != "changeable" or not s.get("values") or name not in w.used:
            continue
        vals = s["values"]
        ci = vals.index(prof[name]) if prof[name] in vals else None
        opts = []
        for vi, v in enumerate(vals):
            if vi == ci:
                continue
            d = s.get("direction", "any")
            if ci is not None and ((d == "up" and vi < ci) or (d == "down" and vi > ci)):
                continue
            steps = abs(vi - ci) if ci is not None and s.get("ordered") else 1
            opts.append((vi, v, steps))
        feats.append((name, opts))
    for k in range(1, len(feats) + 1):
        hits = []
        for fs in itertools.combinations(range(len(feats)), k):
            for choice in itertools.product(*(feats[f][1] for f in fs)):
                q = dict(prof)
                for f, (vi, v, st) in zip(fs, choice):
                    q[feats[f][0]] = v
                d = w.decide(q)
                if met(d):
                    key = (sum(c[2] for c in choice), abs(d["p"] - cur["p"]),
                           [x for f, c in zip(fs, choice) for x in (f, c[0])])
                    hits.append((key, [(feats[f][0], c[1], c[2]) for f, c in zip(fs, choice)], d))
        if hits:
            hits.sort(key=lambda h: h[0])
            return "found", hits
    return "none", []


def main():
    kind, out_path, datadir, policy = sys.argv[1:5]
    rest = sys.argv[5:]
    b_pairs = []
    if "--" in rest:
        i = rest.index("--")
        rest, b_pairs = rest[:i], rest[i + 1:]
    w = World(datadir, policy)
    got = json.load(open(out_path, encoding="utf-8"))
    opts = {}
    prof = w.default_profile()
    global SET
    SET = set()
    for pair in rest:
        k, v = pair.split("=", 1)
        if k in ("vary", "points", "target"):
            opts[k] = v
            continue
        prof[k] = v
        SET.add(k)
    check(got["model"]["id"] == "" or len(got["model"]["id"]) == 16, "model id")
    if kind == "card":
        check(got["kind"] == "card", "kind")
        check_card(w, got, prof, "card")
    elif kind == "sweep":
        check(got["kind"] == "sweep", "kind")
        check(got["feature"] == opts["vary"], "sweep feature")
        values = opts["points"].split(",")
        got_values = [pt["value"] for pt in got["points"]]
        check(got_values == values, f"sweep points: profil {got_values}, expected {values}")
        cur = values.index(prof[opts["vary"]]) if prof[opts["vary"]] in values else None
        check(got["current"] == cur, f"sweep current: profil {got['current']}, expected {cur}")
        for pt in got["points"]:
            q = dict(prof)
            q[opts["vary"]] = pt["value"]
            check_decision(pt, w.decide(q), f"point {pt['value']}")
    elif kind == "compare":
        check(got["kind"] == "comparison", "kind")
        check_card(w, got["a"], prof, "a")
        profb = dict(prof)
        for pair in b_pairs:
            k, v = pair.split("=", 1)
            profb[k] = v
            SET.add(k)
        check_card(w, got["b"], profb, "b")
        diff = [k for k in w.settings["columns"] if prof[k] != profb[k]]
        check([d["feature"] for d in got["differences"]] == diff,
              f"differences: profil {got['differences']}, expected {diff}")
        da, db = w.decide(prof), w.decide(profb)
        close(got["delta_p"], db["p"] - da["p"], 1e-9, "delta_p")
        for e in got["contributions"]:
            f = e["feature"]
            close(e["difference"], db["contributions"][f] - da["contributions"][f], 1e-9, f"difference {f}")
    elif kind == "reach":
        check(got["kind"] == "counterfactual", "kind")
        status, hits = reach_search(w, prof, opts["target"])
        check(got["status"] == status, f"status: profil {got['status']}, expected {status}")
        check_decision(got["current"], w.decide(prof), "current")
        changeable = {k for k, s in w.settings["columns"].items() if s["status"] == "changeable"}
        for sol in got["solutions"]:
            for ch in sol["changes"]:
                check(ch["feature"] in changeable, f"a solution changes {ch['feature']}, which is not changeable")
        if status == "found":
            check(got["found"] == len(hits), f"found: profil {got['found']}, expected {len(hits)}")
            best = got["solutions"][0]
            changes = [(c["feature"], c["to"], c["steps"]) for c in best["changes"]]
            check(changes == hits[0][1], f"best: profil {changes}, expected {hits[0][1]}")
            check(got["verified"] is True, "verified")
            # Re-score the answer from scratch: it must reach the target.
            q = dict(prof)
            for f, v, _ in changes:
                q[f] = v
            d = w.decide(q)
            check_decision(best, d, "best")
            kindt, value = opts["target"].split("=", 1)
            kindt = {"nivå": "niva", "spår": "spar"}.get(kindt, kindt)
            check(str(d[kindt]) == value, f"the best change gives {kindt}={d[kindt]}, not {value}")
            for sol, hit in zip(got["solutions"][1:], hits[1:]):
                ch = [(c["feature"], c["to"], c["steps"]) for c in sol["changes"]]
                check(ch == hit[1], f"alternative: profil {ch}, expected {hit[1]}")
        else:
            check(got["solutions"] == [], "no solutions expected")
    else:
        print(f"unknown kind {kind}")
        return 2
    for p in PROBLEMS[:20]:
        print(p)
    print(f"{kind}: {len(PROBLEMS)} problems")
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main())
