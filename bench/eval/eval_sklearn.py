#!/usr/bin/env python3
"""bench/eval/eval_sklearn.py - what a user without profil would write for
`profil eval`: pandas + numpy + scikit-learn, vectorised.

Reads the population once with the batch-scoring peer's reader
(bench/score/score_sklearn.py: the model's and the policy's columns, plus
the outcome and the fairness columns), scores and decides it the same way,
then: AUC (sklearn.metrics.roc_auc_score) with DeLong's standard error
(mid-ranks, scipy.stats.rankdata), log-loss and Brier score (sklearn),
calibration intercept (Newton on the offset model) and slope
(LogisticRegression without penalty on logit p), the ROC curve, a decile
calibration table, outcomes by decision and the fairness table per
dimension with groupby (shares, rates, mean p, FPR/FNR at both group
thresholds, AUC and calibration intercept within each group), score
histograms; writes the tables as CSV into OUTDIR and the overall figures as
JSON on standard output.

usage: eval_sklearn.py MODEL.json POLICY.json SCHEMA.json IN.csv OUTDIR
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "score"))
from score_sklearn import Spec  # noqa: E402

LABEL = "arbete_studier_180d"
DIMS = ["kon", "fodelseregion", "alder", "funktionsnedsattning", "nedsatt_arbetsformaga",
        "utbildningsniva", "kommunkod"]


def delong(p, y):
    pos, neg = p[y == 1], p[y == 0]
    m, n = len(pos), len(neg)
    r_all = rankdata(np.concatenate([pos, neg]))
    r_pos, r_neg = rankdata(pos), rankdata(neg)
    v10 = (r_all[:m] - r_pos) / n
    v01 = 1 - (r_all[m:] - r_neg) / m
    auc = v10.mean()
    return auc, np.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)


def calib_intercept(p, y):
    off = np.log(p / (1 - p))
    a = 0.0
    for _ in range(50):
        mu = 1 / (1 + np.exp(-(a + off)))
        step = (y - mu).sum() / (mu * (1 - mu)).sum()
        a += step
        if abs(step) < 1e-12:
            break
    return a


def main(argv):
    model, policy, schema, inp, outdir = argv[1:6]
    t0 = time.perf_counter()
    spec = Spec(model, policy, schema)
    for c in [LABEL] + DIMS:
        if c not in spec.needed:
            spec.needed.append(c)
    d = spec.read(inp)
    X = spec.design(d)
    clf = spec.classifier()
    p = clf.predict_proba(X)[:, 1]
    del X
    dec = pd.DataFrame(spec.decide(d, p, np.log(p / (1 - p))))
    t1 = time.perf_counter()

    keep = d[LABEL].notna().to_numpy()
    y = d[LABEL].to_numpy()[keep].astype(np.int8)
    p = p[keep]
    dec = dec[keep].reset_index(drop=True)
    d = d[keep].reset_index(drop=True)
    os.makedirs(outdir, exist_ok=True)

    auc, se = delong(p, y)
    assert abs(auc - roc_auc_score(y, p)) < 1e-9
    lr = LogisticRegression(penalty=None, tol=1e-10, max_iter=200)
    lr.fit(np.log(p / (1 - p)).reshape(-1, 1), y)
    overall = {"auc": auc, "auc_se": se, "log_loss": log_loss(y, p),
               "brier": brier_score_loss(y, p), "base_rate": y.mean(), "mean_p": p.mean(),
               "calib_intercept": calib_intercept(p, y), "calib_slope": lr.coef_[0, 0]}
    fpr, tpr, thr = roc_curve(y, p)
    pd.DataFrame({"threshold": thr, "fpr": fpr, "tpr": tpr}).to_csv(f"{outdir}/roc.csv", index=False)
    order = np.argsort(p, kind="stable")
    bins = np.empty(len(p), dtype=np.int16)
    for k, part in enumerate(np.array_split(order, 10)):
        bins[part] = k + 1
    cal = pd.DataFrame({"bin": bins, "p": p, "y": y}).groupby("bin").agg(
        n=("y", "size"), p_min=("p", "min"), p_max=("p", "max"), mean_p=("p", "mean"),
        observed=("y", "mean"))
    cal.to_csv(f"{outdir}/calibration.csv")

    t = dec.assign(y=y, p=p)
    parts = []
    for kind, col in [("grupp", "grupp"), ("niva", "niva"), ("spar", "spar"),
                      ("behorighet", "ineligible_rule")]:
        if col in t:
            none = "behorig" if kind == "behorighet" else ""
            g = t.groupby(t[col].astype(object).fillna(none).astype(str)).agg(
                n=("y", "size"), outcomes=("y", "sum"), rate=("y", "mean"), mean_p=("p", "mean"))
            parts.append(g.assign(kind=kind))
    for c in [c for c in t.columns if c.startswith("malgrupp_")]:
        s = t[t[c] == 1]
        parts.append(pd.DataFrame({"n": [len(s)], "outcomes": [s.y.sum()], "rate": [s.y.mean()],
                                   "mean_p": [s.p.mean()], "kind": "malgrupp"}, index=[c[9:]]))
    pd.concat(parts).to_csv(f"{outdir}/decisions.csv")

    t["alder"] = pd.cut(d["alder"], [0, 25, 35, 45, 55, 65, 200], right=False)
    for c in DIMS:
        if c != "alder":
            t[c] = d[c]
    t["leveransomrade"] = t["leveransomrade"].fillna("")
    t["fp_close"] = (t.y == 0) & (t.grupp == 1)
    t["fn_close"] = (t.y == 1) & (t.grupp != 1)
    t["fp_far"] = (t.y == 0) & (t.grupp != 3)
    t["fn_far"] = (t.y == 1) & (t.grupp == 3)
    for g in (1, 2, 3):
        t[f"grupp_{g}"] = t.grupp == g
    for lv in "ABC":
        t[f"niva_{lv}"] = t.niva == lv
    t["eligible"] = t.ineligible_rule.isna()
    fair, hist = [], []
    edges = np.linspace(0, 1, 51)
    for dim in DIMS + ["leveransomrade"]:
        gb = t.groupby(dim, observed=True)
        f = gb.agg(n=("y", "size"), outcomes=("y", "sum"), rate=("y", "mean"),
                   mean_p=("p", "mean"), grupp_1=("grupp_1", "mean"), grupp_2=("grupp_2", "mean"),
                   grupp_3=("grupp_3", "mean"), niva_A=("niva_A", "mean"),
                   niva_B=("niva_B", "mean"), niva_C=("niva_C", "mean"),
                   eligible=("eligible", "mean"), fp_close=("fp_close", "sum"),
                   fn_close=("fn_close", "sum"), fp_far=("fp_far", "sum"), fn_far=("fn_far", "sum"))
        npos, nneg = f.outcomes, f.n - f.outcomes
        f["fpr_at_close_min_p"] = f.fp_close / nneg
        f["fnr_at_close_min_p"] = f.fn_close / npos
        f["fpr_at_far_below_p"] = f.fp_far / nneg
        f["fnr_at_far_below_p"] = f.fn_far / npos
        f["o_minus_e"] = f.rate - f.mean_p
        aucs, ints = [], []
        for _, s in gb:
            both = 0 < s.y.sum() < len(s)
            aucs.append(roc_auc_score(s.y, s.p) if both else np.nan)
            ints.append(calib_intercept(s.p.to_numpy(), s.y.to_numpy()) if both else np.nan)
            hist.append(np.histogram(s.p, bins=edges)[0])
        f["auc"], f["calib_intercept"] = aucs, ints
        fair.append(f.assign(dimension=dim).reset_index(names="group"))
    pd.concat(fair).to_csv(f"{outdir}/fairness.csv", index=False)
    pd.DataFrame(np.array(hist)).to_csv(f"{outdir}/score_hist.csv", index=False)
    t2 = time.perf_counter()
    overall["timing"] = {"read_and_decide": t1 - t0, "evaluate": t2 - t1}
    overall["rows"] = int(len(y))
    json.dump(overall, sys.stdout, default=float)
    print()


if __name__ == "__main__":
    main(sys.argv)
