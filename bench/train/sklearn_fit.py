#!/usr/bin/python3
"""bench/train/sklearn_fit.py - the peer of `profil train -m bench/train/spec40.json`
in Python: pandas.read_csv reads the CSV, the 40-column design of spec40.json
is built by hand (as bench/train/glm.R builds it), and scikit-learn's
LogisticRegression fits it with the exact Newton solver newton-cholesky and
no penalty.

    /usr/bin/python3 bench/train/sklearn_fit.py POP.CSV FODELSELAND-REGION.CSV COEF-OUT.CSV

Prints the elapsed seconds of the three steps on one line,
    timing read=S design=S fit=S rows=N iterations=K
and writes the coefficients as term,level,coefficient, the keys of profil's
--coef-csv, so bench/train/coef_agree.py can compare them.

The design: (Intercept) (sklearn's own, fit_intercept=True, unpenalized);
alder and hinge(alder,k) = max(0, alder - k) for the knots 25, 35, 50, 58;
one 0/1 column per category level other than the reference, levels in schema
order; booleans as 0/1; log1p(x) for the four day and period counts; for
dagar_sedan_foregaende_period, which may be missing, log1p(x) is 0 where x is
missing and missing(x) is 1 there. fodelseregion is the region of
fodelseland in the reference table, utanfor_europa for any other country; a
missing utbildningsniva is its default 9; rows without a label are left out.
"""
import csv
import sys
import time

import numpy as np
import pandas as pd
import sklearn
from sklearn.linear_model import LogisticRegression

CODES = ["id", "kon", "fodelseland", "kommunkod", "utbildningsniva",
         "utbildningsinriktning", "sokt_yrke_1", "sokt_yrke_2", "sokt_yrke_3",
         "sokt_yrke_4", "erfarenhet_sokt_yrke", "funktionsnedsattning",
         "sokandekategori", "ramprogram"]
TOL = 1e-8
MAX_ITER = 100


def main(argv):
    if len(argv) != 4:
        sys.exit("usage: sklearn_fit.py POP.CSV FODELSELAND-REGION.CSV COEF-OUT.CSV")
    path, region_path, out_path = argv[1:]

    # --- read ---------------------------------------------------------------
    t0 = time.perf_counter()
    d = pd.read_csv(path, dtype={c: str for c in CODES}, na_values=["", "NA"],
                    keep_default_na=False)
    t1 = time.perf_counter()

    # --- design -------------------------------------------------------------
    d = d[d["arbete_studier_180d"].notna()]
    region = pd.read_csv(region_path, dtype=str, keep_default_na=False)
    reg = d["fodelseland"].map(dict(zip(region["iso2"], region["fodelseregion"])))
    reg = reg.fillna("utanfor_europa").to_numpy()
    niv = d["utbildningsniva"].fillna("9").to_numpy()
    a = d["alder"].to_numpy(dtype=np.float64)
    sedan = d["dagar_sedan_foregaende_period"].to_numpy(dtype=np.float64)
    miss = np.isnan(sedan)

    cols, keys = [], []

    def put(term, level, v):
        cols.append(np.asarray(v, dtype=np.float64))
        keys.append((term, level))

    def num(name):
        return d[name].to_numpy(dtype=np.float64)

    put("alder", "", a)
    for k in (25, 35, 50, 58):
        put(f"hinge(alder,{k})", "", np.maximum(a - k, 0.0))
    put("kon", "K", d["kon"].to_numpy() == "K")
    for lv in ("norden", "eu_efta", "europa_ovrigt", "utanfor_europa"):
        put("fodelseregion", lv, reg == lv)
    for lv in ("1", "2", "3", "5", "6", "7", "9"):
        put("utbildningsniva", lv, niv == lv)
    put("sprakstod", "", num("sprakstod"))
    put("nedsatt_arbetsformaga", "", num("nedsatt_arbetsformaga"))
    put("log1p(inskrivningsdagar)", "", np.log1p(num("inskrivningsdagar")))
    put("log1p(antal_tidigare_perioder)", "", np.log1p(num("antal_tidigare_perioder")))
    put("log1p(dagar_tidigare_program)", "", np.log1p(num("dagar_tidigare_program")))
    put("log1p(dagar_sedan_foregaende_period)", "", np.where(miss, 0.0, np.log1p(sedan)))
    put("missing(dagar_sedan_foregaende_period)", "", miss)
    erf = d["erfarenhet_sokt_yrke"].to_numpy()
    for lv in ("1", "2", "3", "4"):
        put("erfarenhet_sokt_yrke", lv, erf == lv)
    put("utbildning_sokt_yrke", "", num("utbildning_sokt_yrke"))
    put("akassa", "", num("akassa"))
    put("kommunovergripande", "", num("kommunovergripande"))
    ram = d["ramprogram"].to_numpy()
    for lv in ("JOB", "UGA", "ETP"):
        put("ramprogram", lv, ram == lv)
    for v in ("omr_arbetsloshet", "omr_medianinkomst", "omr_andel_eftergymnasial",
              "omr_andel_utrikes_medborgare", "omr_andel_ensamhushall"):
        put(v, "", num(v))
    X = np.column_stack(cols)
    del cols
    y = num("arbete_studier_180d")
    assert X.shape[1] == 39 and not np.isnan(X).any()
    t2 = time.perf_counter()

    # --- fit ----------------------------------------------------------------
    try:  # penalty=None from scikit-learn 1.2; C=inf before
        m = LogisticRegression(solver="newton-cholesky", penalty=None, tol=TOL,
                               max_iter=MAX_ITER)
        m.fit(X, y)
    except (TypeError, ValueError):
        m = LogisticRegression(solver="newton-cholesky", C=np.inf, tol=TOL,
                               max_iter=MAX_ITER)
        m.fit(X, y)
    t3 = time.perf_counter()
    iters = int(np.max(m.n_iter_))
    if iters >= MAX_ITER:
        sys.exit("sklearn_fit.py: newton-cholesky did not converge")

    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["term", "level", "coefficient"])
        w.writerow(["(Intercept)", "", repr(float(m.intercept_[0]))])
        for (term, level), b in zip(keys, m.coef_[0]):
            w.writerow([term, level, repr(float(b))])
    print(f"timing read={t1 - t0:.3f} design={t2 - t1:.3f} fit={t3 - t2:.3f} "
          f"rows={len(y)} iterations={iters}")
    print(f"scikit-learn {sklearn.__version__}, pandas {pd.__version__}, numpy {np.__version__}")


if __name__ == "__main__":
    main(sys.argv)
