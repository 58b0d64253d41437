#!/usr/bin/env python3
"""Independent check of `profil eval` output.

Recomputes the evaluation with plain Python (standard library only, no code
shared with profil) from the labelled input, the decisions `profil score`
wrote for it (checked on their own by score_check.py), the schema's
reference tables and the policy file: AUC by mid-ranks (Mann-Whitney) and
DeLong's standard error from the placement values, log-loss, Brier score,
calibration intercept and slope by Newton's method, the calibration table,
the outcome table by decision and the fairness table of every dimension
(shares, outcome rates, mean p, FPR/FNR at the two group thresholds, AUC and
calibration intercept within each group). Then compares with eval.json and
checks that each CSV file holds the same rows as eval.json.

usage: eval_check.py INPUT.csv DECISIONS.csv EVALDIR POLICY.json REFDIR
exit 0 when everything agrees, 1 otherwise (the differences printed).
"""
import csv
import json
import math
import sys

problems = []


def close(what, got, want, tol):
    if want is None or got is None:
        if want is not got:
            problems.append(f"{what}: got {got}, expected {want}")
        return
    if not abs(got - want) <= tol:
        problems.append(f"{what}: got {got!r}, expected {want!r} (tol {tol})")


def auc_delong(p, y):
    """AUC with mid-ranks and DeLong's standard error."""
    pos = sorted(pi for pi, yi in zip(p, y) if yi == 1)
    neg = sorted(pi for pi, yi in zip(p, y) if yi == 0)
    m, n = len(pos), len(neg)
    import bisect

    def share_below(sorted_v, x):  # share of values below x, ties half
        lo = bisect.bisect_left(sorted_v, x)
        hi = bisect.bisect_right(sorted_v, x)
        return (lo + 0.5 * (hi - lo)) / len(sorted_v)

    v10 = [share_below(neg, x) for x in pos]
    v01 = [1 - share_below(pos, x) for x in neg]
    auc = sum(v10) / m
    s10 = sum((v - auc) ** 2 for v in v10) / (m - 1)
    s01 = sum((v - auc) ** 2 for v in v01) / (n - 1)
    return auc, math.sqrt(s10 / m + s01 / n)


def logit(q):
    q = min(max(q, 1e-15), 1 - 1e-15)
    return math.log(q / (1 - q))


def calib_intercept(p, y):
    off = [logit(q) for q in p]
    a = 0.0
    for _ in range(100):
        mu = [1 / (1 + math.exp(-(a + o))) for o in off]
        g = sum(yi - m for yi, m in zip(y, mu))
        h = sum(m * (1 - m) for m in mu)
        step = g / h
        a += step
        if abs(step) < 1e-12:
            break
    return a


def calib_slope(p, y):
    x = [logit(q) for q in p]
    a, b = 0.0, 1.0
    for _ in range(100):
        mu = [1 / (1 + math.exp(-(a + b * xi))) for xi in x]
        ga = sum(yi - m for yi, m in zip(y, mu))
        gb = sum((yi - m) * xi for yi, m, xi in zip(y, mu, x))
        w = [m * (1 - m) for m in mu]
        haa = sum(w)
        hab = sum(wi * xi for wi, xi in zip(w, x))
        hbb = sum(wi * xi * xi for wi, xi in zip(w, x))
        det = haa * hbb - hab * hab
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        a += da
        b += db
        if abs(da) + abs(db) < 1e-12:
            break
    return b


def main():
    inp, decisions, evaldir, policy_path, refdir = sys.argv[1:6]
    ev = json.load(open(f"{evaldir}/eval.json", encoding="utf-8"))
    policy = json.load(open(policy_path, encoding="utf-8"))
    label = ev["label"]["column"]
    with open(f"{refdir}/fodelseland-region.csv", newline="", encoding="utf-8") as f:
        region = {r["iso2"]: r["fodelseregion"] for r in csv.DictReader(f)}
    with open(inp, newline="", encoding="utf-8") as f:
        rows = {r["id"]: r for r in csv.DictReader(f)}
    with open(decisions, newline="", encoding="utf-8") as f:
        dec = list(csv.DictReader(f))

    # The evaluated rows: decided, with an outcome.
    data = []
    unlabelled = 0
    for d in dec:
        r = rows[d["id"]]
        if r[label] == "":
            unlabelled += 1
            continue
        data.append((r, d, float(d["p"]), int(r[label])))
    c = ev["counts"]
    if c["rows_evaluated"] != len(data):
        problems.append(f"rows_evaluated {c['rows_evaluated']}, expected {len(data)}")
    if c["rows_unlabelled"] != unlabelled:
        problems.append(f"rows_unlabelled {c['rows_unlabelled']}, expected {unlabelled}")
    if c["rows_read"] != c["rows_rejected"] + c["rows_unlabelled"] + c["rows_evaluated"]:
        problems.append("counts do not reconcile")
    p = [x[2] for x in data]
    y = [x[3] for x in data]
    n = len(p)

    # Overall. p in the decisions has 6 decimals: tolerances allow for that.
    o = ev["overall"]
    auc, se = auc_delong(p, y)
    close("auc", o["auc"]["value"], auc, 2e-5)
    close("auc se", o["auc"]["se"], se, 1e-5)
    close("auc ci_lo", o["auc"]["ci_lo"], auc - 1.959963984540054 * se, 5e-5)
    ll = -sum(yi * math.log(pi) + (1 - yi) * math.log(1 - pi) for pi, yi in zip(p, y)) / n
    close("log_loss", o["log_loss"], ll, 2e-5)
    close("brier", o["brier"], sum((pi - yi) ** 2 for pi, yi in zip(p, y)) / n, 2e-6)
    close("base_rate", o["base_rate"], sum(y) / n, 1e-12)
    close("mean_p", o["mean_p"], sum(p) / n, 1e-6)
    close("calib intercept", o["calibration"]["intercept"], calib_intercept(p, y), 5e-5)
    close("calib slope", o["calibration"]["slope"], calib_slope(p, y), 5e-5)

    # Calibration table: sorted by p, k groups, equal p never split.
    k = ev["options"]["bins"]
    order = sorted(range(n), key=lambda i: p[i])
    bounds = [0]
    for g in range(1, k):
        b = g * n // k
        while 0 < b < n and p[order[b]] == p[order[b - 1]]:
            b += 1
        bounds.append(max(b, bounds[-1]))
    bounds.append(n)
    want_bins = [(bounds[g], bounds[g + 1]) for g in range(k) if bounds[g + 1] > bounds[g]]
    got_bins = ev["tables"]["calibration"]["rows"]
    if len(got_bins) != len(want_bins):
        problems.append(f"calibration: {len(got_bins)} groups, expected {len(want_bins)}")
    for g, (a, b) in enumerate(want_bins[: len(got_bins)]):
        idx = order[a:b]
        row = got_bins[g]
        if abs(row["n"] - (b - a)) > 2:  # rounding of p may move a boundary row
            problems.append(f"calibration group {g + 1}: n {row['n']}, expected {b - a}")
        close(f"calibration {g + 1} mean_p", row["mean_p"], sum(p[i] for i in idx) / len(idx), 1e-5)
        close(f"calibration {g + 1} observed", row["observed"],
              sum(y[i] for i in idx) / len(idx), 3 / len(idx))

    # Outcomes by decision.
    def cell(sel):
        idx = [i for i in range(n) if sel(data[i][1], data[i][0])]
        m = len(idx)
        return m, sum(y[i] for i in idx), (sum(p[i] for i in idx) / m if m else None)

    rules = policy["eligibility"]
    want = {("grupp", g): (lambda d, r, g=g: d["grupp"] == g) for g in "123"}
    if "levels" in policy:
        want.update({("niva", lv): (lambda d, r, lv=lv: d["niva"] == lv) for lv in "ABC"})
    if "tracks" in policy:
        want.update({("spar", t): (lambda d, r, t=t: d["spar"] == t) for t in "1234"})
    want[("behorighet", "behorig")] = lambda d, r: d["eligible"] == "1"
    for rule in rules:
        want[("behorighet", rule["code"])] = lambda d, r, c=rule["code"]: d["ineligible_rule"] == c
    for tg in policy["target_groups"]:
        code = tg["code"]
        want[("malgrupp", code)] = lambda d, r, c=code: d["malgrupp_" + c] == "1"
    got = {(r["kind"], r["code"]): r for r in ev["tables"]["decisions"]["rows"]}
    if set(got) != set(want):
        problems.append(f"decision rows {sorted(got)} != {sorted(want)}")
    for key, sel in want.items():
        if key not in got:
            continue
        m, pos, mp = cell(sel)
        r = got[key]
        if (r["n"], r["outcomes"]) != (m, pos):
            problems.append(f"decisions {key}: n/outcomes {r['n']}/{r['outcomes']}, expected {m}/{pos}")
        close(f"decisions {key} rate", r["rate"], pos / m if m else None, 1e-12)
        close(f"decisions {key} mean_p", r["mean_p"], mp, 1e-6)

    # Fairness: each dimension's group of a row, from the input alone.
    bands = ev["options"]["age_bands"]

    def age_band(r, d):
        a = int(r["alder"])
        edges = [16] + [int(b) for b in bands]
        for lo, hi in zip(edges, edges[1:]):
            if a < hi:
                return f"{lo}-{hi - 1}"
        return f"{edges[-1]}-67"

    key_of = {
        "kon": lambda r, d: r["kon"],
        "fodelseregion": lambda r, d: region.get(r["fodelseland"], "utanfor_europa"),
        "aldersgrupp": age_band,
        "funktionsnedsattning": lambda r, d: r["funktionsnedsattning"],
        "nedsatt_arbetsformaga": lambda r, d: r["nedsatt_arbetsformaga"],
        "utbildningsniva": lambda r, d: r["utbildningsniva"] or "9",
        "kommunkod": lambda r, d: r["kommunkod"],
        "leveransomrade": lambda r, d: d["leveransomrade"],
    }
    fair = ev["tables"]["fairness"]["rows"]
    dims = [dm["name"] for dm in ev["dimensions"]]
    if [x for x in dims if x in key_of] != dims:
        problems.append(f"unexpected dimensions {dims}")
    groups = {"alla": {"alla": list(range(n))}}
    for dname in dims:
        groups[dname] = {}
        for i, (r, d, _, _) in enumerate(data):
            groups[dname].setdefault(key_of[dname](r, d), []).append(i)
    got = {(r["dimension"], r["group"]): r for r in fair}
    want_keys = {(dn, g) for dn, gs in groups.items() for g in gs}
    if set(got) != want_keys:
        problems.append(f"fairness groups differ: extra {sorted(set(got) - want_keys)[:5]}, "
                        f"missing {sorted(want_keys - set(got))[:5]}")
    level_cols = [c for c in ev["tables"]["fairness"]["columns"] if c.startswith(("niva_", "spar_"))]
    for (dn, g), idx in sorted((k2, v) for dn2, gs in groups.items() for k2, v in
                               (((dn2, g2), v2) for g2, v2 in gs.items())):
        r = got.get((dn, g))
        if r is None:
            continue
        m = len(idx)
        yy = [y[i] for i in idx]
        pp = [p[i] for i in idx]
        dd = [data[i][1] for i in idx]
        what = f"fairness {dn}={g}"
        if r["n"] != m or r["outcomes"] != sum(yy):
            problems.append(f"{what}: n/outcomes {r['n']}/{r['outcomes']}, expected {m}/{sum(yy)}")
            continue
        close(f"{what} share", r["share"], m / n, 1e-12)
        for gg in "123":
            close(f"{what} grupp_{gg}", r["grupp_" + gg], sum(d["grupp"] == gg for d in dd) / m, 1e-12)
        for col in level_cols:
            field, val = ("niva", col[5:]) if col.startswith("niva_") else ("spar", col[5:])
            close(f"{what} {col}", r[col], sum(d[field] == val for d in dd) / m, 1e-12)
        close(f"{what} eligible", r["eligible"], sum(d["eligible"] == "1" for d in dd) / m, 1e-12)
        close(f"{what} mean_p", r["mean_p"], sum(pp) / m, 1e-6)
        npos, nneg = sum(yy), m - sum(yy)
        fp_close = sum(1 for d, yi in zip(dd, yy) if yi == 0 and d["grupp"] == "1")
        fn_close = sum(1 for d, yi in zip(dd, yy) if yi == 1 and d["grupp"] != "1")
        fp_far = sum(1 for d, yi in zip(dd, yy) if yi == 0 and d["grupp"] != "3")
        fn_far = sum(1 for d, yi in zip(dd, yy) if yi == 1 and d["grupp"] == "3")
        close(f"{what} fpr close", r["fpr_at_close_min_p"], fp_close / nneg if nneg else None, 1e-12)
        close(f"{what} fnr close", r["fnr_at_close_min_p"], fn_close / npos if npos else None, 1e-12)
        close(f"{what} fpr far", r["fpr_at_far_below_p"], fp_far / nneg if nneg else None, 1e-12)
        close(f"{what} fnr far", r["fnr_at_far_below_p"], fn_far / npos if npos else None, 1e-12)
        if npos and nneg and m >= 200:  # the fits on a few rows are too sensitive to rounding
            a, _ = auc_delong(pp, yy)
            close(f"{what} auc", r["auc"], a, 5e-5)
            close(f"{what} calib_intercept", r["calib_intercept"], calib_intercept(pp, yy), 2e-4)
        elif not (npos and nneg):
            close(f"{what} auc", r["auc"], None, 0)

    # Score histograms: every dimension's bins add up to the rows.
    per_dim = {}
    for h in ev["tables"]["score_hist"]["rows"]:
        per_dim[h["dimension"]] = per_dim.get(h["dimension"], 0) + h["n"]
    for dn, total in per_dim.items():
        if total != n:
            problems.append(f"score_hist {dn}: {total} rows, expected {n}")

    # ROC: from (0, 0) to (1, 1), monotone, its area the AUC (thinned curve).
    roc = ev["tables"]["roc"]["rows"]
    if (roc[0]["fpr"], roc[0]["tpr"], roc[-1]["fpr"], roc[-1]["tpr"]) != (0, 0, 1, 1):
        problems.append("roc does not run from (0, 0) to (1, 1)")
    area = sum((b["fpr"] - a["fpr"]) * (a["tpr"] + b["tpr"]) / 2 for a, b in zip(roc, roc[1:]))
    close("roc area", area, auc, 1e-3)

    # Every CSV holds the rows of eval.json.
    for name, t in ev["tables"].items():
        with open(f"{evaldir}/{t['file']}", newline="", encoding="utf-8") as f:
            rd = csv.reader(f)
            header = next(rd)
            body = list(rd)
        if header != t["columns"] or len(body) != len(t["rows"]):
            problems.append(f"{t['file']}: header or row count differs from eval.json")
            continue
        for i, (line, row) in enumerate(zip(body, t["rows"])):
            for col, text in zip(header, line):
                v = row.get(col)
                if v is None:
                    ok = text == ""
                elif isinstance(v, str):
                    ok = text == v
                else:
                    ok = text != "" and abs(float(text) - v) <= 1e-9 * max(1, abs(v))
                if not ok:
                    problems.append(f"{t['file']} row {i + 1} {col}: '{text}' vs {v!r}")
                    break

    for pr in problems[:30]:
        print(pr)
    if problems:
        print(f"{len(problems)} differences")
        return 1
    print(f"eval agrees: {n} rows, AUC {auc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
