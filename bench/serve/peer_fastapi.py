#!/usr/bin/python3
"""bench/serve/peer_fastapi.py - the peer of `profil serve` for POST
/v1/score with one profile: the service a Python team would build with
FastAPI, uvicorn and scikit-learn. A pydantic model made from the schema
checks the types of the JSON profile; the decision is computed by
bench/score/score_sklearn.py (the pandas + scikit-learn peer of the batch
scorer, which agrees with `profil score` on every row): the profile is read
as a one-row CSV with pandas, the design matrix built from the model file's
terms, LogisticRegression.predict_proba gives p, and the policy's rules and
the top three reasons are applied with numpy.

    MODEL=... POLICY=... SCHEMA=... /usr/bin/python3 -m uvicorn \\
        --app-dir bench/serve peer_fastapi:app --workers 2 --port N
"""
import csv
import io
import json
import math
import os
import sys
from typing import Optional

import numpy as np
import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import create_model

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "score"))
from score_sklearn import Spec  # noqa: E402

spec = Spec(os.environ["MODEL"], os.environ["POLICY"], os.environ["SCHEMA"])
clf = spec.classifier()
inputs = [c for c in spec.schema["columns"] if "derive" not in c]
TYPES = {"integer": int, "number": float, "category": str, "string": str, "boolean": str}
Profile = create_model("Profile", **{c["name"]: (Optional[TYPES[c["type"]]], None) for c in inputs})

app = FastAPI()


def plain(v):
    """A JSON value from the first element of a numpy or pandas column."""
    if not isinstance(v, str) and hasattr(v, "__len__"):
        v = v[0]
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if isinstance(v, np.generic) else v


@app.post("/v1/score")
def score(profile: Profile):
    row = profile.dict()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(row.keys())
    w.writerow(["" if v is None else v for v in row.values()])
    buf.seek(0)
    try:
        d = spec.read(buf)
    except (ValueError, KeyError) as e:
        raise HTTPException(status_code=400, detail=str(e))
    X = spec.design(d)
    p = clf.predict_proba(X)[:, 1]
    logit = clf.decision_function(X)
    out = spec.reasons(spec.contributions(X), spec.decide(d, p, logit))
    return {k: plain(v) for k, v in out.items()}
