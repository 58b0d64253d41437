#!/usr/bin/python3
"""bench/score/score_sklearn.py - the peer of
`profil score --policy POLICY -m MODEL -o OUT.csv IN.csv` in Python, written
the way a pandas and scikit-learn user would: pandas.read_csv reads the
population, the design matrix is built with pandas and numpy from the model
file's terms, a LogisticRegression whose coef_ and intercept_ are set from
the model gives predict_proba, the policy's rules are applied with numpy,
the top three reasons come from a stable numpy argsort of the absolute
contributions, DataFrame.to_csv writes the decisions.

    score_sklearn.py MODEL.json POLICY.json SCHEMA.json IN.csv OUT.csv

Prints the elapsed seconds of its steps on one line,
    timing read=S model=S policy=S reasons=S write=S rows=N

Everything comes from the three JSON files, nothing is written out by hand:
  - schema: column types (categories and strings are read as text, so that
    codes such as 0184 keep their zeros; categories as pandas categoricals),
    the missing tokens, defaults for missing values, the column order (ties
    between reasons), and the derived columns (fodelseregion from
    fodelseland through data/ref/fodelseland-region.csv, any other country =
    the default utanfor_europa), computed when the input lacks them;
  - model: the terms in coefficient-table form (term, level), with the
    factors x, log1p(x), hinge(x,k), bin(x,lo,hi), missing(x), category
    levels, interactions joined by ':' (a missing value gives 0 to every
    factor but missing(x)); coefficients and reference values;
  - policy: groups, levels (or tracks), target groups, delivery areas,
    compensation and the eligibility rules, in their order.

Contributions are (X - ref) W for the design X without the intercept, the
reference row ref and W[j, f] = coef_j / (number of features of term j)
when term j uses feature f, computed as X W - ref W.

The functions are importable: bench/score/agree.py recomputes the exact
contributions of the rows where profil and a peer rank reasons differently.
"""
import hashlib
import json
import os
import re
import sys
import time

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

FACTOR_RE = re.compile(r"^(log1p|hinge|bin|missing)\(([^,()]+)(?:,([^,()]+))?(?:,([^,()]+))?\)$")


def sha16(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()[:16]


class Spec:
    """The schema, the model's terms and the policy, as the scorer needs them."""

    def __init__(self, model_path, policy_path, schema_path):
        with open(model_path, encoding="utf-8") as f:
            self.model = json.load(f)
        with open(policy_path, encoding="utf-8") as f:
            self.policy = json.load(f)
        with open(schema_path, encoding="utf-8") as f:
            self.schema = json.load(f)
        self.schema_dir = os.path.dirname(os.path.abspath(schema_path))
        self.model_id = sha16(model_path)
        self.policy_id = sha16(policy_path)
        self.cols = {c["name"]: c for c in self.schema["columns"]}
        self.order = [c["name"] for c in self.schema["columns"]]

        # Terms: (coef, ref, factors); a factor is (kind, column, a, b, level).
        self.intercept = 0.0
        self.terms = []
        for t in self.model["terms"]:
            coef, ref = t["coefficient"], t.get("reference_value")
            if t["term"] == "(Intercept)":
                self.intercept = coef
                continue
            levels = t["level"].split(":") if t["level"] else []
            factors = []
            for s in t["term"].split(":"):
                m = FACTOR_RE.match(s)
                if m:
                    kind, col = m.group(1), m.group(2)
                    a = float(m.group(3)) if m.group(3) else 0.0
                    b = float(m.group(4)) if m.group(4) else 0.0
                    factors.append((kind, col, a, b, None))
                elif self.is_text(s):
                    factors.append(("level", s, 0.0, 0.0, levels.pop(0)))
                else:
                    factors.append(("value", s, 0.0, 0.0, None))
            self.terms.append((coef, 0.0 if ref is None else ref, factors))
        used = {f[1] for _, _, fs in self.terms for f in fs}
        self.features = [c for c in self.order if c in used]

        pol = self.policy
        conds = [c for g in pol["target_groups"] for c in g["all"]]
        conds += pol.get("tracks", {}).get("language_support", [])
        conds += [c for r in pol["eligibility"] for c in r.get("all", [])]
        pcols = [c["column"] for c in conds]
        if "delivery_areas" in pol:
            pcols.append(pol["delivery_areas"]["column"])
        self.needed = list(dict.fromkeys([c for c in self.order if c in used] + pcols))

    def is_text(self, col):
        return self.cols[col]["type"] in ("category", "string")

    # --- read ------------------------------------------------------------------
    def read(self, path, nrows=None, skiprows=None):
        """path: a CSV file, or a text stream (bench/serve/peer_fastapi.py)."""
        if hasattr(path, "readline"):
            header = path.readline().rstrip("\r\n").split(",")
            path.seek(0)
        else:
            with open(path, encoding="utf-8") as f:
                header = f.readline().rstrip("\r\n").split(",")
        self.header = header
        read = ["id"]
        for c in self.needed:
            src = c if c in header else self.cols[c]["derive"]["source"]
            if src not in read:
                read.append(src)
        dtype = {"id": str}
        for c in read[1:]:
            t = self.cols[c]["type"]
            dtype[c] = "category" if t == "category" else str if t == "string" else "float64"
        d = pd.read_csv(path, usecols=read, dtype=dtype, keep_default_na=False,
                        na_values=self.schema["missing_values"], nrows=nrows, skiprows=skiprows)
        for c in read[1:]:
            s = self.cols[c]
            if s.get("missing") == "default" and d[c].isna().any():
                v = s["default"]
                if s["type"] == "category" and v not in d[c].cat.categories:
                    d[c] = d[c].cat.add_categories([v])
                d[c] = d[c].fillna(v if self.is_text(c) else float(v))
        for c in self.needed:
            if c in header:
                continue
            dv = self.cols[c]["derive"]
            ref = self.schema["references"][dv["reference"]]
            tab = pd.read_csv(os.path.join(self.schema_dir, ref["file"]), dtype=str,
                              keep_default_na=False)
            lookup = dict(zip(tab[ref["key"]], tab[dv["value"]]))
            src = d[dv["source"]].astype("category")
            cats = src.cat.categories.astype(str)
            if "prefix" in dv:
                cats = cats.str[: dv["prefix"]]
            default = dv.get("default")
            new = np.array([lookup.get(k, default) for k in cats] + [None], dtype=object)
            d[c] = pd.Categorical(new[src.cat.codes.to_numpy()])  # code -1 (missing): None
        return d

    # --- model -----------------------------------------------------------------
    def factor(self, d, f):
        kind, col, a, b, level = f
        s = d[col]
        if kind == "level":
            return (s == level).to_numpy(dtype=np.float64)
        if kind == "missing":
            return s.isna().to_numpy(dtype=np.float64)
        x = s.to_numpy(dtype=np.float64)
        if kind == "log1p":
            x = np.log1p(x)
        elif kind == "hinge":
            x = np.maximum(x - a, 0.0)
        elif kind == "bin":
            x = ((x >= a) & (x < b)).astype(np.float64)
        return np.nan_to_num(x, nan=0.0)

    def design(self, d):
        """The design matrix without the intercept column."""
        X = np.empty((len(d), len(self.terms)))
        for j, (_, _, fs) in enumerate(self.terms):
            x = self.factor(d, fs[0])
            for f in fs[1:]:
                x = x * self.factor(d, f)
            X[:, j] = x
        return X

    def classifier(self):
        clf = LogisticRegression()
        clf.classes_ = np.array([0, 1])
        clf.coef_ = np.array([[t[0] for t in self.terms]])
        clf.intercept_ = np.array([self.intercept])
        clf.n_features_in_ = len(self.terms)
        return clf

    def weights(self):
        """W (terms x features) and the reference row."""
        W = np.zeros((len(self.terms), len(self.features)))
        for j, (coef, _, fs) in enumerate(self.terms):
            feats = list(dict.fromkeys(f[1] for f in fs))
            for c in feats:
                W[j, self.features.index(c)] += coef / len(feats)
        ref = np.array([t[1] for t in self.terms])
        return W, ref

    def contributions(self, X):
        W, ref = self.weights()
        return X @ W - ref @ W

    # --- policy ----------------------------------------------------------------
    def holds(self, d, conds):
        ok = np.ones(len(d), dtype=bool)
        for c in conds:
            s = d[c["column"]]
            if "in" in c:
                if self.cols[c["column"]]["type"] == "boolean":
                    ok &= s.isin([float(v) for v in c["in"]]).to_numpy()
                else:
                    ok &= s.isin(c["in"]).to_numpy()
            else:
                x = s.to_numpy(dtype=np.float64)  # NaN fails both tests
                ok &= (x >= c.get("min", -np.inf)) & (x <= c.get("max", np.inf))
        return ok

    def decide(self, d, p, logit):
        pol, n = self.policy, len(d)
        g = pol["groups"]
        grupp = np.where(p >= g["close_min_p"], 1, np.where(p < g["far_below_p"], 3, 2))
        out = {"id": d["id"].to_numpy(), "p": p.round(6), "logit": logit.round(4),
               "grupp": grupp}
        step = np.full(n, None, dtype=object)  # level or track, the compensation key
        niva = np.full(n, None, dtype=object)
        if "levels" in pol:
            lv = pol["levels"]
            on = np.isin(grupp, lv["groups"])
            niva = np.where(~on, None,
                            np.where(p >= lv["a_min_p"], "A",
                                     np.where(p >= lv["b_min_p"], "B", "C"))).astype(object)
            step = niva
        spar = pd.array(np.full(n, pd.NA), dtype="Int64")
        if "tracks" in pol:
            tr = pol["tracks"]
            on = np.isin(grupp, tr["groups"])
            t = 1 + self.holds(d, tr["language_support"]) + 2 * (p < tr["enhanced_below_p"])
            spar = pd.array(np.where(on, t, pd.NA), dtype="Int64")
            step = np.where(on, t.astype(str), None).astype(object)
        out["niva"] = niva
        out["spar"] = spar
        for tg in pol["target_groups"]:
            out["malgrupp_" + tg["code"]] = self.holds(d, tg["all"]).astype(np.int8)

        area = np.full(n, -1)
        names = np.array([None], dtype=object)
        models = np.array([0])
        if "delivery_areas" in pol:
            da = pol["delivery_areas"]
            areas = da["areas"]
            idx = {m: k for k, a in enumerate(areas) for m in a["municipalities"]}
            s = d[da["column"]].astype("category")
            cat_area = np.array([idx.get(c, -1) for c in s.cat.categories] + [-1])
            area = cat_area[s.cat.codes.to_numpy()]  # code -1 (missing) takes the last
            names = np.array([a["name"] for a in areas] + [None], dtype=object)
            models = np.array([a["compensation_model"] for a in areas] + [0])
        covered = area >= 0 if "delivery_areas" in pol else np.ones(n, dtype=bool)
        model = models[area]
        maxers = np.full(n, np.nan)
        rows = pol["compensation"]["rows"]
        # A row for the area's compensation model first, then one for every model.
        for r in sorted(rows, key=lambda r: r.get("model", 0) == 0):
            key = str(r.get("level", r.get("track")))
            sel = covered & (step == key) & np.isnan(maxers)
            if r.get("model", 0):
                sel &= model == r["model"]
            maxers[sel] = r["max_per_participant"]
        fail = np.full(n, None, dtype=object)
        for r in pol["eligibility"]:
            if r["rule"] == "delivery_area":
                ok = covered
            elif r["rule"] == "group":
                ok = np.isin(grupp, r["groups"])
            else:
                ok = self.holds(d, r["all"])
            fail[(fail == None) & ~ok] = r["code"]  # noqa: E711 (elementwise)
        out["leveransomrade"] = names[area]
        out["ersattningsmodell"] = pd.array(np.where(model > 0, model, pd.NA), dtype="Int64")
        out["max_ersattning"] = pd.array(np.where(np.isnan(maxers), pd.NA, maxers), dtype="Int64")
        out["eligible"] = (fail == None).astype(np.int8)  # noqa: E711
        out["ineligible_rule"] = fail
        return out

    # --- reasons ---------------------------------------------------------------
    def reasons(self, C, out, k=3):
        A = np.abs(C)
        order = np.argsort(-A, axis=1, kind="stable")[:, :k]  # ties: schema order
        rows = np.arange(len(C))[:, None]
        top = C[rows, order]
        nz = A[rows, order] > 0
        feats = np.array(self.features, dtype=object)
        for i in range(k):
            out[f"reason_{i + 1}"] = np.where(nz[:, i], feats[order[:, i]], None)
            out[f"reason_{i + 1}_contribution"] = np.where(nz[:, i], top[:, i].round(4), np.nan)
        out["model_id"] = self.model_id
        out["policy_id"] = self.policy_id
        return out


def main(argv):
    if len(argv) != 6:
        sys.exit("usage: score_sklearn.py MODEL.json POLICY.json SCHEMA.json IN.csv OUT.csv")
    t0 = time.perf_counter()
    spec = Spec(argv[1], argv[2], argv[3])
    d = spec.read(argv[4])
    t1 = time.perf_counter()
    X = spec.design(d)
    clf = spec.classifier()
    p = clf.predict_proba(X)[:, 1]
    logit = clf.decision_function(X)
    C = spec.contributions(X)
    del X
    t2 = time.perf_counter()
    out = spec.decide(d, p, logit)
    t3 = time.perf_counter()
    out = spec.reasons(C, out)
    df = pd.DataFrame(out)
    t4 = time.perf_counter()
    df.to_csv(argv[5], index=False, na_rep="")
    t5 = time.perf_counter()
    print(f"timing read={t1 - t0:.2f} model={t2 - t1:.2f} policy={t3 - t2:.2f} "
          f"reasons={t4 - t3:.2f} write={t5 - t4:.2f} rows={len(d)}")


if __name__ == "__main__":
    main(sys.argv)
