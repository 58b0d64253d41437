#!/usr/bin/python3
"""bench/gbdt/xgb_peer.py - the XGBoost peer of `profil train --kind gbdt`
and of scoring with its model, the way a pandas + XGBoost user would:
pandas.read_csv reads the population, the features are the model file's
(numbers as numbers, booleans 0/1, category codes as their index in the
schema's level list or, for reference-table categories, in sorted code
order; fodelseregion derived from fodelseland through the schema's
reference table), the holdout rows are profil's (the same splitmix64 hash
of seed and row number), and xgboost.train fits tree_method "hist" with
the hyperparameters given.

    xgb_peer.py SCHEMA.json PROFIL_MODEL.json DATA.csv SEED HOLDOUT TREES DEPTH ETA LAMBDA
                MIN_CHILD_WEIGHT MAX_BIN THREADS OUT_MODEL.json

Prints one line:
    timing read=S dmatrix=S train=S train_cpu=S predict=S predict_cpu=S predict_rows=N
           contribs=S contribs_rows=N auc=A profil_auc=B holdout_rows=N
where train is xgboost.train's wall time (train_cpu its CPU seconds over
all threads), predict the best of 3 in-memory predictions of all rows with
THREADS threads (inplace_predict), contribs the best of 2 pred_contribs
(exact TreeSHAP) of the first 5 000 rows, auc the holdout AUC of the
XGBoost model (Mann-Whitney, average ranks for ties) and profil_auc the
same statistic of profil's model on the same rows, scored here from its
JSON trees.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd
import xgboost as xgb

M64 = (1 << 64) - 1
SHAP_ROWS = 5000


def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & M64
    x = ((x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & M64
    return x ^ (x >> np.uint64(31))


def holdout_mask(seed, n, fraction):
    """profil's pf_spec_holdout_row for rows 1..n."""
    with np.errstate(over="ignore"):
        s = splitmix(np.uint64(seed))
        rows = np.arange(1, n + 1, dtype=np.uint64)
        h = splitmix(np.bitwise_xor(rows, s))
    return (h >> np.uint64(11)).astype(np.float64) * 2.0**-53 < fraction


def auc(p, y):
    ranks = pd.Series(p).rank(method="average").to_numpy()
    n1 = y.sum()
    n0 = len(y) - n1
    return (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def features(schema, schema_dir, d, names):
    cols = {c["name"]: c for c in schema["columns"]}
    out = np.empty((len(d), len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        c = cols[name]
        if "derive" in c and name not in d.columns:
            dv = c["derive"]
            ref = schema["references"][dv["reference"]]
            tab = pd.read_csv(os.path.join(schema_dir, ref["file"]), dtype=str,
                              keep_default_na=False)
            lookup = dict(zip(tab[ref["key"]], tab[dv["value"]]))
            col = d[dv["source"]].map(lambda v: lookup.get(v, dv.get("default")))
        else:
            col = d[name]
        if c["type"] in ("integer", "number"):
            out[:, j] = pd.to_numeric(col, errors="coerce").to_numpy(np.float64)
        elif c["type"] == "boolean":
            out[:, j] = col.map({"0": 0.0, "1": 1.0}).to_numpy(np.float64)
        else:
            codes = [l["code"] for l in c["levels"]] if "levels" in c else \
                sorted(x for x in col.dropna().unique() if x != "")
            out[:, j] = pd.Categorical(col, categories=codes).codes.astype(np.float64)
            out[out[:, j] < 0, j] = np.nan
    return out


def tree_logits(model, x):
    """profil's logits from its model file (x: float64 rows)."""
    eta = np.full(len(x), model["base_score"])
    for t in model["trees"]:
        left, right = np.array(t["left"]), np.array(t["right"])
        feat = np.array(t["feature"])
        thr = np.array([v if v is not None else 0.0 for v in t["threshold"]])
        dl = np.array(t["default_left"]) == 1
        val = np.array(t["value"])
        k = np.zeros(len(x), dtype=np.int64)
        for _ in range(64):
            inner = left[k] >= 0
            if not inner.any():
                break
            v = x[np.arange(len(x)), np.maximum(feat[k], 0)]
            go_left = np.where(np.isnan(v), dl[k], v < thr[k])
            k = np.where(inner, np.where(go_left, left[k], right[k]), k)
        eta += val[k]
    return eta


def main(a):
    schema_path, pmodel_path, data = a[0], a[1], a[2]
    seed, holdout = int(a[3]), float(a[4])
    trees, depth, eta, lam, mcw, max_bin, threads = (
        int(a[5]), int(a[6]), float(a[7]), float(a[8]), float(a[9]), int(a[10]), int(a[11]))
    out_model = a[12]
    schema = json.load(open(schema_path))
    pmodel = json.load(open(pmodel_path))
    names = [f["name"] for f in pmodel["features"]]
    label = pmodel["label"]

    t0 = time.perf_counter()
    d = pd.read_csv(data, dtype=str, keep_default_na=False,
                    na_values=schema["missing_values"])
    x = features(schema, os.path.dirname(os.path.abspath(schema_path)), d, names)
    y = d[label].astype(np.float64).to_numpy()
    t1 = time.perf_counter()
    hold = holdout_mask(seed, len(d), holdout)
    fit = ~hold
    dfit = xgb.DMatrix(x[fit], label=y[fit], nthread=threads)
    t2 = time.perf_counter()
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": depth,
              "eta": eta, "lambda": lam, "min_child_weight": mcw, "max_bin": max_bin,
              "nthread": threads, "base_score": float(y[fit].mean()), "alpha": 0, "gamma": 0}
    c2 = time.process_time()
    booster = xgb.train(params, dfit, num_boost_round=trees)
    t3 = time.perf_counter()
    train_cpu = time.process_time() - c2
    booster.save_model(out_model)

    # inplace_predict: straight from the numpy array, no DMatrix and no
    # prediction cache (a DMatrix predicted twice is answered from a cache).
    booster.set_param({"nthread": threads})
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        s, c = time.perf_counter(), time.process_time()
        p_all = booster.inplace_predict(x)
        best = min(best, time.perf_counter() - s)
        best_cpu = min(best_cpu, time.process_time() - c)
    bestc = float("inf")
    for _ in range(2):
        dsub = xgb.DMatrix(x[:SHAP_ROWS], nthread=threads)
        s = time.perf_counter()
        booster.predict(dsub, pred_contribs=True)
        bestc = min(bestc, time.perf_counter() - s)

    a_x = auc(p_all[hold], y[hold])
    plogit = tree_logits(pmodel, x[hold].astype(np.float64))
    a_p = auc(plogit, y[hold])
    print(f"timing read={t1 - t0:.3f} dmatrix={t2 - t1:.3f} train={t3 - t2:.3f} "
          f"train_cpu={train_cpu:.3f} predict={best:.3f} predict_cpu={best_cpu:.3f} "
          f"predict_rows={len(x)} contribs={bestc:.3f} contribs_rows={SHAP_ROWS} "
          f"auc={a_x:.5f} profil_auc={a_p:.5f} holdout_rows={int(hold.sum())}")


if __name__ == "__main__":
    main(sys.argv[1:])
