#!/usr/bin/python3
"""bench/train/coef_agree.py - do two coefficient tables agree?

    /usr/bin/python3 bench/train/coef_agree.py LABEL RTOL PROFIL-COEF.CSV OTHER.CSV

Both files have the columns term, level and coefficient (profil's --coef-csv
has more; they are ignored). The terms must be the same set. Prints the
largest relative difference |b - b_profil| / |b_profil|, the largest
difference in units of profil's standard error, and the verdict; exits 1
when the terms differ or the relative difference exceeds RTOL.
"""
import csv
import sys


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {(r["term"], r["level"]): r for r in rows}


def name(key):
    term, level = key
    return f"{term}={level}" if level else term


def main(argv):
    if len(argv) != 5:
        sys.exit("usage: coef_agree.py LABEL RTOL PROFIL-COEF.CSV OTHER.CSV")
    label, rtol, ref_path, other_path = argv[1], float(argv[2]), argv[3], argv[4]
    ref, other = load(ref_path), load(other_path)
    if set(ref) != set(other):
        only_ref = sorted(map(name, set(ref) - set(other)))
        only_other = sorted(map(name, set(other) - set(ref)))
        print(f"coefficients {label}: FAIL, different terms; only in profil: {only_ref}; "
              f"only in {label}: {only_other}")
        return 1
    worst_rel, worst_rel_key, worst_se = 0.0, None, 0.0
    for key, r in ref.items():
        b0 = float(r["coefficient"])
        b1 = float(other[key]["coefficient"])
        rel = abs(b1 - b0) / abs(b0) if b0 != 0 else abs(b1)
        if rel >= worst_rel:
            worst_rel, worst_rel_key = rel, key
        se = float(r["std_error"]) if r.get("std_error") else float("nan")
        if se > 0:
            worst_se = max(worst_se, abs(b1 - b0) / se)
    ok = worst_rel < rtol
    print(f"coefficients {label} vs profil: {len(ref)} terms, max relative difference "
          f"{worst_rel:.2e} ({name(worst_rel_key)}), max difference {worst_se:.2e} standard "
          f"errors; {'agree' if ok else 'DISAGREE'} (tolerance {rtol:g})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
