#!/usr/bin/env python3
"""Peer for bench/whatif.sh: one what-if card in plain Python, as a user
without profil would write it from the model, policy, schema and settings
files (the decision and interval code of tests/e2e/whatif_check.py).

usage: whatif_python.py DATADIR POLICY NAME=VALUE...   prints p and its interval
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tests", "e2e"))
from whatif_check import World  # noqa: E402

w = World(sys.argv[1], sys.argv[2])
prof = w.default_profile()
for pair in sys.argv[3:]:
    k, v = pair.split("=", 1)
    prof[k] = v
d = w.decide(prof)
print(f"p {d['p']:.4f} [{d['p_ci95'][0]:.4f}, {d['p_ci95'][1]:.4f}] grupp {d['grupp']} niva {d['niva']}")
