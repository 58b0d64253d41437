#!/usr/bin/python3
"""tests/e2e/xgb_check.py - the XGBoost side of tests/e2e/test_xgboost.sh.

    xgb_check.py train SCHEMA DATA.csv MODEL.json [--no-names]
        fits a small XGBoost model (binary:logistic, hist, depth 4, 30
        rounds, base_score 0.3) on DATA's features, with the feature values
        docs/models.md asks for, computed here from the schema and the CSV
        text: numbers as numbers, booleans 0/1, a category as its position
        in the schema's level list, missing as NaN.
    xgb_check.py edges SCHEMA MODEL.json DATA.csv OUT.csv
        writes rows of DATA whose numeric features sit on the model's split
        thresholds: the float threshold itself, the doubles one ulp either
        side, the shortest decimal that reads back as the float, and the
        integers around it for integer columns.
    xgb_check.py compare SCHEMA MODEL.json DATA.csv EXPLAIN.csv IMPORTED.json
        compares `profil model explain` of DATA (with the imported model
        IMPORTED) with XGBoost on the same rows: the same leaf in every tree
        (profil's logit minus its base score against the double sum of the
        leaves XGBoost's pred_leaf names, to 1e-12), the base margin with
        -log(1 / base_score - 1) in single precision (1e-7), logits with
        predict(output_margin=True) to 1e-6 relative (XGBoost adds the
        leaves in single precision), probabilities with predict() to 1e-6,
        contributions summing to the logit minus the reference (1e-9), and
        each feature's contribution with pred_contribs to 1e-5. Prints
        "N rows checked, M with missing values".
"""
import csv
import json
import math
import sys

import numpy as np
import xgboost as xgb

FEATURES = ["alder", "kon", "erfarenhet_sokt_yrke", "utbildning_sokt_yrke", "akassa",
            "inskrivningsmanad", "inskrivningsdagar", "dagar_foregaende_period",
            "dagar_sedan_foregaende_period", "antal_tidigare_perioder", "dagar_tidigare_program",
            "nedsatt_arbetsformaga", "ramprogram", "omr_arbetsloshet", "omr_medianinkomst",
            "omr_andel_utrikes_medborgare"]


def value(col, text, missing):
    if text in missing:
        return math.nan
    if col["type"] in ("integer", "number"):
        return float(text)
    if col["type"] == "boolean":
        return float(text)
    for i, lv in enumerate(col["levels"]):
        if text == lv["code"] or text in lv.get("aliases", []):
            return float(i)
    raise ValueError(f"{col['name']}: unknown code {text!r}")


def matrix(schema_path, data, names=FEATURES):
    schema = json.load(open(schema_path))
    cols = {c["name"]: c for c in schema["columns"]}
    rows = list(csv.DictReader(open(data, newline="")))
    x = np.array([[value(cols[n], r[n], schema["missing_values"]) for n in names] for r in rows],
                 dtype=np.float64)
    return rows, x


def train(a):
    schema, data, out = a[0], a[1], a[2]
    rows, x = matrix(schema, data)
    y = np.array([float(r["arbete_studier_90d"]) for r in rows])
    d = xgb.DMatrix(x.astype(np.float32), label=y,
                    feature_names=None if "--no-names" in a else FEATURES)
    params = {"objective": "binary:logistic", "tree_method": "hist", "max_depth": 4, "eta": 0.3,
              "base_score": 0.3, "nthread": 1, "seed": 1}
    xgb.train(params, d, num_boost_round=30).save_model(out)


def edges(a):
    schema, model, data, out = a
    m = json.load(open(model))
    names = m["learner"]["feature_names"]
    cols = {c["name"]: c for c in json.load(open(schema))["columns"]}
    base = next(csv.DictReader(open(data, newline="")))
    w = csv.DictWriter(open(out, "w", newline=""), fieldnames=list(base.keys()))
    w.writeheader()
    seen = set()
    for t in m["learner"]["gradient_booster"]["model"]["trees"]:
        for k, left in enumerate(t["left_children"]):
            name = names[t["split_indices"][k]]
            if left == -1 or cols[name]["type"] not in ("integer", "number") or \
                    (name, t["split_conditions"][k]) in seen:
                continue
            seen.add((name, t["split_conditions"][k]))
            f = np.float32(t["split_conditions"][k])
            d = float(f)
            if cols[name]["type"] == "number":
                vals = [repr(d), repr(np.nextafter(d, math.inf)), repr(np.nextafter(d, -math.inf)),
                        np.format_float_positional(f, trim="-")]
            else:
                vals = [str(math.floor(d) + i) for i in (-1, 0, 1)]
            for v in vals:  # within the schema's range, so no row is rejected
                if cols[name].get("min", -math.inf) <= float(v) <= cols[name].get("max", math.inf):
                    w.writerow({**base, name: v})


def compare(a):
    schema, model, data, explain, imported = a
    booster = xgb.Booster(model_file=model)
    names = booster.feature_names
    rows, x = matrix(schema, data, names)
    d = xgb.DMatrix(x.astype(np.float32), feature_names=names)
    margin = booster.predict(d, output_margin=True)
    prob = booster.predict(d)
    contribs = booster.predict(d, pred_contribs=True)
    leaves = booster.predict(d, pred_leaf=True).astype(int)
    trees = json.load(open(model))["learner"]["gradient_booster"]["model"]["trees"]
    leaf_value = [np.array(t["split_conditions"], dtype=np.float32).astype(np.float64)
                  for t in trees]
    base = json.load(open(imported))["base_score"]
    bs = np.float32(json.load(open(model))["learner"]["learner_model_param"]["base_score"])
    want_base = float(-np.log(np.float32(1) / bs - np.float32(1)))
    if not abs(base - want_base) <= 1e-7:
        sys.exit(f"base margin {base!r}, XGBoost's {want_base!r}")
    ex = list(csv.DictReader(open(explain, newline="")))
    assert len(ex) == len(rows), (len(ex), len(rows))
    what = ["leaf sum", "logit", "p", "sum of contributions", "contribution"]
    worst = [0.0] * len(what)
    for i, r in enumerate(ex):
        logit = float(r["logit"])
        ref = float(r["reference_logit"])
        p = 1 / (1 + math.exp(-logit))
        phi = {n: float(r[n]) for n in names}
        leaf_sum = sum(leaf_value[t][leaves[i][t]] for t in range(len(trees)))
        errs = [abs((logit - base) - leaf_sum) / (1 + abs(leaf_sum)),
                abs(logit - margin[i]) / max(1.0, abs(logit)), abs(p - prob[i]),
                abs(sum(phi.values()) - (logit - ref)) / (1 + abs(logit)),
                max(abs(phi[n] - contribs[i][j]) for j, n in enumerate(names))]
        for q, (e, tol) in enumerate(zip(errs, (1e-12, 1e-6, 1e-6, 1e-9, 1e-5))):
            worst[q] = max(worst[q], e)
            if not e <= tol:
                sys.exit(f"row {i + 1}: {what[q]} differs by {e:.3g} (profil logit {logit!r}, "
                         f"XGBoost margin {margin[i]!r})")
    nmiss = int(np.isnan(x).any(axis=1).sum())
    print(f"{len(ex)} rows checked, {nmiss} with missing values")
    print("largest differences: " + ", ".join(f"{w} {e:.3g}" for w, e in zip(what, worst)))


if __name__ == "__main__":
    {"train": train, "edges": edges, "compare": compare}[sys.argv[1]](sys.argv[2:])
