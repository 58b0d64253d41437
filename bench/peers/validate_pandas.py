#!/usr/bin/python3
"""bench/peers/validate_pandas.py - what `profil validate FILE` does, written
the way a pandas user would: read the CSV with pandas.read_csv and explicit
dtypes, then check every row vectorised against the af-inskrivning schema and
the reference tables in data/ref, derive fodelseregion, lanskod and
sokt_yrke_N_omrade, and count rows read, accepted and rejected.

    validate_pandas.py [--ref DIR] [--rejected-rows FILE] FILE

All columns but id are read as pandas categoricals: registry columns have few
distinct values, so each check (number syntax and range, code lists, the SSYK
pattern, the personnummer scan) runs once per distinct value and is spread to
the rows through the category codes. The rules are those of
data/schema/af-inskrivning.json, written out below as a user would.

The personnummer scan covers every column but id (in numeric columns the text
before the decimal separator: the digits after it are a fraction): a
regular expression finds candidates (6 or 8 date digits, optional - or +, 4
digits, not inside a longer digit run); the date (day + 60 for coordination
numbers, century 18-20 in the 12-digit form) and the Luhn check digit are then
checked on the few candidates.

Known differences from profil's reader (none occurs in `profil synth` output):
  - blanks: profil, like the CSV convention it follows, drops blanks around
    unquoted fields and keeps them inside quotes; pandas cannot tell the two
    apart after reading, so blanks around every value are dropped here;
  - a row with too many fields stops read_csv with an error; one with too few
    is padded with missing values (profil rejects both as field_count);
  - invalid UTF-8 stops read_csv with an error (profil rejects the row).
"""
import argparse
import os
import re
import sys

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
MISSING = ["", "NA"]

# The schema, written out: column -> rule.
INTEGER = {"alder": (16, 67), "inskrivningsmanad": (1, 12), "inskrivningsdagar": (0, 7300),
           "dagar_foregaende_period": (0, 7300), "dagar_sedan_foregaende_period": (0, 25000),
           "antal_tidigare_perioder": (0, 99), "dagar_tidigare_program": (0, 7300)}
NUMBER = {"omr_arbetsloshet": (0, 100), "omr_medianinkomst": (0, 2000),
          "omr_andel_eftergymnasial": (0, 100), "omr_andel_utrikes_medborgare": (0, 100),
          "omr_andel_ensamhushall": (0, 100)}
BOOLEAN = ["utbildning_sokt_yrke", "akassa", "nedsatt_arbetsformaga", "kommunovergripande",
           "sprakstod", "arbete_studier_90d", "arbete_studier_180d"]
SSYK = ["sokt_yrke_1", "sokt_yrke_2", "sokt_yrke_3", "sokt_yrke_4"]
MISSING_ALLOWED = set(SSYK) | {"dagar_sedan_foregaende_period", "arbete_studier_90d",
                               "arbete_studier_180d"}
MISSING_DEFAULT = {"utbildningsniva": "9", "utbildningsinriktning": "9"}
OPTIONAL = ["arbete_studier_90d", "arbete_studier_180d"]  # may be absent from the header
ID_MAX_LENGTH = 64

NUMBER_RE = r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
SSYK_RE = r"[0-9]{4}"
PNR_RE = (r"(?<![0-9])(?:(?:18|19|20)[0-9]{6}|[0-9]{6})(?:[-+][0-9]{4}|[0-9]{4})(?![0-9])")
MDAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def read_ref(ref, name, key, value=None):
    t = pd.read_csv(os.path.join(ref, name), dtype=str, keep_default_na=False)
    return t[key] if value is None else t.set_index(key)[value]


def pnr_exact(m):
    """Date and Luhn check of one candidate match (digits with optional sign)."""
    d = m.replace("-", "").replace("+", "")
    year = -1
    if len(d) == 12:
        year = int(d[:4])
        d = d[2:]
    mm, dd = int(d[2:4]), int(d[4:6])
    if dd > 60:
        dd -= 60
    if not (1 <= mm <= 12 and 1 <= dd <= MDAYS[mm - 1]):
        return False
    if mm == 2 and dd == 29 and year >= 0 and not (
            year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return False
    s = 0
    for i, ch in enumerate(d):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        s += v - 9 if v > 9 else v
    return s % 10 == 0


def has_pnr(values):
    """Per value (an Index of str): holds a personal identity number."""
    cand = np.asarray(values.str.contains(PNR_RE, regex=True), dtype=bool)
    out = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(cand):
        out[i] = any(pnr_exact(m) for m in re.findall(PNR_RE, values[i]))
    return out


def per_row(codes, per_category, if_missing):
    """Spreads a per-category boolean array to the rows (code -1 is missing)."""
    return np.append(per_category, if_missing)[codes]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default=os.path.join(HERE, "..", "..", "data", "ref"))
    ap.add_argument("--rejected-rows", help="write the 1-based numbers of rejected rows")
    ap.add_argument("file")
    a = ap.parse_args()

    codes_of = {
        "kon": pd.Series(["K", "M"]),
        "fodelseland": read_ref(a.ref, "iso3166-1.csv", "alpha2"),
        "kommunkod": read_ref(a.ref, "kommuner.csv", "kommunkod"),
        "utbildningsniva": read_ref(a.ref, "sun-utbildningsniva.csv", "kod"),
        "utbildningsinriktning": read_ref(a.ref, "sun-inriktning.csv", "kod"),
        "erfarenhet_sokt_yrke": pd.Series(["0", "1", "2", "3", "4"]),
        "funktionsnedsattning": read_ref(a.ref, "funktionsnedsattning.csv", "kod"),
        "sokandekategori": read_ref(a.ref, "sokandekategori.csv", "kod"),
        "ramprogram": pd.Series(["ingen", "JOB", "UGA", "ETP"]),
    }
    for c in BOOLEAN:
        codes_of[c] = pd.Series(["0", "1"])
    region = read_ref(a.ref, "fodelseland-region.csv", "iso2", "fodelseregion")
    lan = read_ref(a.ref, "kommuner.csv", "kommunkod", "lanskod")
    omrade = read_ref(a.ref, "ssyk2012-yrkesomraden.csv", "kod")

    header = pd.read_csv(a.file, nrows=0).columns
    derived = {"fodelseregion", "lanskod"} | {c + "_omrade" for c in SSYK}
    known = ["id"] + list(INTEGER) + list(NUMBER) + list(codes_of) + SSYK
    lacking = [c for c in known if c not in header and c not in OPTIONAL]
    if lacking:
        sys.exit("required columns missing from the header: " + ", ".join(lacking))
    use = [c for c in header if c in known and c not in derived]
    df = pd.read_csv(a.file, usecols=use, skipinitialspace=True,
                     dtype={c: (str if c == "id" else "category") for c in use},
                     keep_default_na=False, na_values=MISSING)
    n = len(df)
    bad = np.zeros(n, dtype=bool)

    # id: required, at most 64 bytes, not scanned for personnummer.
    ident = df["id"].str.strip(" \t")
    bad |= (ident.isna() | ident.isin(MISSING)).to_numpy()
    maybe_long = ident.str.len() > ID_MAX_LENGTH // 4  # else it cannot exceed 64 bytes
    bad[np.flatnonzero(maybe_long.to_numpy())] |= np.asarray(
        ident[maybe_long].str.encode("utf-8").str.len() > ID_MAX_LENGTH, dtype=bool)

    text = {}  # column -> stripped category values (for derivations)
    for c in use:
        if c == "id":
            continue
        col = df[c]
        if not isinstance(col.dtype, pd.CategoricalDtype):
            col = col.astype("category")
        values = col.cat.categories.astype(str).str.strip(" \t")
        codes = col.cat.codes.to_numpy()
        missing_v = np.asarray(values.isin(MISSING), dtype=bool)
        if c in MISSING_DEFAULT:
            values = values.where(~missing_v, MISSING_DEFAULT[c])
        text[c] = (values, codes)
        ok_missing = c in MISSING_ALLOWED or c in MISSING_DEFAULT
        if c in INTEGER or c in NUMBER:
            lo, hi = INTEGER.get(c) or NUMBER[c]
            num = np.asarray(pd.to_numeric(values, errors="coerce"), dtype=float)
            ok = np.asarray(values.str.fullmatch(NUMBER_RE), dtype=bool) & (num >= lo) & (num <= hi)
            if c in INTEGER:
                ok &= num == np.floor(num)
            # Digits after the decimal separator are a fraction, not a pnr.
            scan = values.str.replace(r"[.,].*", "", regex=True)
        elif c in SSYK:
            ok = np.asarray(values.str.fullmatch(SSYK_RE), dtype=bool)
        else:
            ok = np.asarray(values.isin(codes_of[c]), dtype=bool)
        if not (c in INTEGER or c in NUMBER):
            scan = values
        ok = np.where(missing_v, ok_missing, ok) & ~has_pnr(scan)
        bad |= ~per_row(codes, ok, ok_missing)
    for c in OPTIONAL:  # an absent optional column is missing in every row
        if c not in df:
            text[c] = (pd.Index([], dtype=str), np.full(n, -1, dtype=np.int8))

    # Derived columns: computed per category, looked up per row (missing
    # stays missing); a key absent from its table rejects the row unless
    # there is a default.
    def lookup(c, table, default=None):
        v, k = text[c]
        key = v.str[:1] if c in SSYK else v
        got = key.map(table)
        if default is not None:
            got = got.fillna(default)
        found = np.asarray(got.notna(), dtype=bool)
        return per_row(k, np.asarray(got, dtype=object), None), per_row(k, found, True)

    fodelseregion, _ = lookup("fodelseland", region, "utanfor_europa")
    lanskod, found = lookup("kommunkod", lan)
    bad |= ~found
    omr = pd.Series(omrade.to_numpy(), index=omrade.to_numpy())
    for c in SSYK:
        _, found = lookup(c, omr)
        bad |= ~found

    rejected = int(bad.sum())
    print("rows read:      %d" % n)
    print("rows accepted:  %d" % (n - rejected))
    print("rows rejected:  %d" % rejected)
    if a.rejected_rows:
        np.savetxt(a.rejected_rows, np.flatnonzero(bad) + 1, fmt="%d")


if __name__ == "__main__":
    main()
