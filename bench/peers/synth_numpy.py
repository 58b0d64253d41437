#!/usr/bin/python3
"""bench/peers/synth_numpy.py - a synthetic population of registered job
seekers with the columns of data/schema/af-inskrivning.json, written the way
a researcher would with numpy and pandas: every column drawn for all rows at
once (vectorised, numpy.random.Generator), written with DataFrame.to_csv.

    synth_numpy.py [-n ROWS] [-s SEED] [-o FILE]    (FILE '-' or absent: stdout;
                                                     .gz compresses)

It follows the assumptions of docs/synthetic-population.md closely enough for
roughly the same marginals (municipality by population, areas with
neighbourhood statistics, birth region from the area, age, education,
disability, registration history, programmes, occupations, the ground-truth
labels), with simplifications: area statistics from a fixed generator rather
than one per municipality; the registration history clamped rather than
redrawn; a repeated occupation redrawn once and otherwise dropped. It is a
peer for speed and memory, not a replacement: its rows differ from
`profil synth`'s for the same seed.
"""
import argparse
import os
import sys

import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "..", "data", "ref")

COLUMNS = ["id", "alder", "kon", "fodelseland", "kommunkod", "utbildningsniva",
           "utbildningsinriktning", "sokt_yrke_1", "sokt_yrke_2", "sokt_yrke_3", "sokt_yrke_4",
           "erfarenhet_sokt_yrke", "utbildning_sokt_yrke", "akassa", "inskrivningsmanad",
           "inskrivningsdagar", "dagar_foregaende_period", "dagar_sedan_foregaende_period",
           "antal_tidigare_perioder", "dagar_tidigare_program", "funktionsnedsattning",
           "nedsatt_arbetsformaga", "sokandekategori", "kommunovergripande", "sprakstod",
           "ramprogram", "omr_arbetsloshet", "omr_medianinkomst", "omr_andel_eftergymnasial",
           "omr_andel_utrikes_medborgare", "omr_andel_ensamhushall", "arbete_studier_90d",
           "arbete_studier_180d"]

# Regions: 0 Sweden, 1 Nordic, 2 EU/EFTA, 3 rest of Europe, 4 outside Europe.
COUNTRIES = {
    1: {"FI": 66, "DK": 15, "NO": 14, "IS": 5},
    2: {"PL": 30, "RO": 12, "DE": 10, "BG": 6, "LT": 6, "GR": 5, "IT": 5, "ES": 4, "HU": 4,
        "HR": 4, "LV": 3, "FR": 3, "EE": 2, "NL": 2, "PT": 2, "CZ": 1, "SK": 1, "AT": 1,
        "BE": 1, "IE": 1, "SI": 0.5, "CH": 0.5},
    3: {"BA": 25, "UA": 18, "RS": 12, "RU": 10, "GB": 8, "MK": 6, "AL": 5, "BY": 4, "MD": 3,
        "ME": 2},
    4: {"SY": 20, "IQ": 11, "SO": 10, "AF": 10, "ER": 7.5, "IR": 6, "TR": 4.5, "TH": 3.5,
        "ET": 2.5, "IN": 2, "LB": 1.5, "PK": 1.5, "CN": 1.5, "PS": 1.2, "CL": 1.2, "NG": 1.2,
        "SD": 1.2, "VN": 1, "PH": 1, "MA": 1, "BD": 0.8, "EG": 0.8, "CO": 0.8, "GM": 0.8,
        "BR": 0.7, "US": 0.7, "KE": 0.6, "UG": 0.5, "YE": 0.5, "CD": 0.5, "LY": 0.4, "TN": 0.4,
        "LK": 0.4, "PE": 0.4, "GH": 0.4, "CM": 0.4, "GE": 0.4, "UZ": 0.4, "SS": 0.3, "DZ": 0.3,
        "MN": 0.3, "MM": 0.3, "CU": 0.3, "MX": 0.3, "AZ": 0.3, "AM": 0.3, "ID": 0.3, "NP": 0.3,
        "JO": 0.3, "VE": 0.3, "BO": 0.2, "KZ": 0.2, "BI": 0.2, "RW": 0.2, "DO": 0.2, "AR": 0.2,
        "CA": 0.2, "KR": 0.2, "AU": 0.1, "JP": 0.1},
}
FOREIGN_REGION_W = [5, 12, 10, 73]
AGE_LO = np.array([16, 18, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65])
AGE_HI = np.array([17, 19, 24, 29, 34, 39, 44, 49, 54, 59, 64, 67])
AGE_W = {"swedish": [1, 3, 13, 12, 10, 9, 9, 9, 10, 11, 10, 3],
         "foreign": [0.3, 1.2, 7, 12, 15, 15, 14, 12, 10, 7.5, 5, 1],
         "recent": [0, 0, 12, 18, 18, 16, 12, 10, 7, 5, 2, 0]}
EDU_LEVELS = np.array([1, 2, 3, 4, 5, 6, 7, 9])
EDU_W = [[1, 18, 14, 37, 13, 15, 0.4, 1.6], [2, 20, 14, 33, 12, 14, 0.5, 4.5],
         [3, 10, 8, 30, 12, 27, 1, 9], [4, 14, 12, 32, 11, 19, 0.5, 7.5],
         [22, 18, 7, 18, 9, 16, 0.5, 9.5]]
INRIKTNING_W = {"K": [14, 8, 8, 22, 6, 7, 3, 22, 8, 2], "M": [14, 2, 6, 18, 10, 33, 4, 4, 7, 2]}
FUNK_BASE = [-0.95, -1.2, -1.9, -1.7, -2.0]
FUNK_W = [[3, 1, 6, 6, 22, 38, 10, 8, 6], [4, 2, 12, 16, 28, 20, 7, 4, 7],
          [7, 3, 22, 32, 20, 6, 3, 2, 5]]
SPRAK_BASE = [-6.0, -3.8, -1.9, -1.5, -0.85]
AKASSA_BASE = [0.35, 0.2, -0.35, -0.5, -0.9]
SOKKAT = (["11", "21", "22", "31", "41", "68"], [62, 10, 9, 7, 8, 4])
ERF_W = {"young": [45, 25, 18, 10, 2], "mid": [22, 14, 18, 24, 22], "old": [15, 8, 12, 20, 45],
         "recent": [60, 15, 10, 8, 7]}
NYRKEN_W = [28, 24, 20, 28]
# SSYK 2012 unit groups by education tier: (code, weight women, weight men).
OCC = [
    [(9111, 10, 5), (9412, 8, 6), (5330, 8, 1.5), (5343, 8, 3), (4322, 3, 10), (9332, 2, 6),
     (9320, 3, 4), (5222, 6, 4), (5230, 4, 1.5), (5311, 6, 1), (5312, 3, 1), (9310, 0.3, 6),
     (8321, 0.3, 3), (8329, 0.3, 3), (8332, 0.3, 4), (7111, 0.2, 3), (9411, 0.5, 2),
     (5120, 2, 3), (9622, 0.5, 2), (6113, 0.5, 2), (9210, 0.5, 1), (9119, 2, 0.5),
     (5413, 0.3, 2), (9629, 1, 1.5), (8344, 0.3, 2), (7531, 0.8, 0.3)],
    [(5321, 8, 2), (5323, 3, 0.8), (5343, 5, 3), (5223, 6, 4), (5222, 4, 3), (4222, 5, 3),
     (4111, 4, 1), (4119, 4, 1), (4322, 2, 7), (8332, 0.3, 5), (8331, 0.5, 2), (7411, 0.2, 3),
     (7231, 0.2, 3), (7212, 0.1, 2), (7111, 0.3, 4), (7125, 0.1, 1.5), (7131, 0.3, 1.5),
     (8211, 0.5, 2), (8219, 1, 2), (5120, 2, 2.5), (5131, 2, 1.5), (5311, 5, 1), (5342, 3, 2),
     (5413, 0.5, 2), (5141, 1.5, 0.3), (9111, 2, 1), (3411, 1.5, 1), (3322, 1, 2),
     (5242, 1, 1), (4420, 0.5, 1), (8344, 0.2, 2), (6121, 0.5, 0.6), (6210, 0.1, 0.8)],
    [(2512, 1.5, 5), (2511, 0.5, 1.5), (2514, 0.6, 1), (3512, 0.5, 2), (2341, 4, 1.5),
     (2343, 4, 0.5), (2330, 1.5, 1.5), (2221, 2.5, 0.5), (2611, 0.4, 0.3), (2614, 0.8, 0.6),
     (2423, 3, 0.8), (2422, 2, 1.5), (2431, 2.5, 1.5), (2432, 2.5, 0.8), (2411, 0.5, 0.3),
     (2412, 0.8, 0.7), (2419, 1, 1), (3313, 2.5, 1), (3322, 1.5, 3), (2142, 0.3, 1),
     (2144, 0.2, 1.5), (3111, 0.3, 1.2), (3114, 0.2, 1), (2661, 2, 0.5), (3411, 1.5, 1),
     (2172, 1.5, 1), (2642, 0.8, 0.6), (2643, 1, 0.6), (2219, 0.3, 0.3), (4111, 2, 0.5),
     (4222, 1.5, 1.2), (5321, 1.5, 0.5), (3341, 0.5, 0.3), (2122, 0.2, 0.2), (1292, 0.3, 0.4)],
]
REF_DATE = np.datetime64("2024-01-31")


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def with_missing(values, present):
    """An integer column, empty where not present."""
    out = pd.array(values, dtype="Int64")
    out[~present] = pd.NA
    return out


def pick(rng, weights, size):
    """Indices drawn with the given (unnormalised) weights."""
    w = np.asarray(weights, dtype=float)
    return rng.choice(len(w), size=size, p=w / w.sum())


def areas(kpop, rng):
    """Postcode areas: municipality of each, statistics, weight for people."""
    lp = np.log10(kpop) - 4.3
    n1, n2, n3, n4, n5 = rng.standard_normal((5, len(kpop)))
    u = np.clip(6.5 + 0.5 * lp + 1.7 * n1, 2.5, 14)
    inc = np.clip(330 + 18 * lp - 7 * (u - 6.5) + 22 * n2, 240, 480)
    edu = np.clip(40 + 9 * lp - 1.5 * (u - 6.5) + 6 * n3, 22, 75)
    utr = np.clip(8.5 * np.exp(0.25 * lp + 0.07 * (u - 6.5) + 0.35 * n4), 2, 25)
    ens = np.clip(39 + 4 * lp + 3 * n5, 28, 60)
    na = np.minimum(2 + kpop // 10000, 120).astype(int)
    k = np.repeat(np.arange(len(kpop)), na)
    z, size, e1, e2, e3, e4 = rng.standard_normal((6, len(k)))
    size = np.exp(0.5 * size)
    stat = np.column_stack([
        np.clip(u[k] * np.exp(0.45 * z), 0.5, 40),
        np.clip(inc[k] * np.exp(-0.13 * z + 0.06 * e1), 150, 900),
        np.clip(edu[k] - 7 * z + 4 * e2, 5, 90),
        np.clip(utr[k] * np.exp(0.45 * z + 0.25 * e3), 0.3, 60),
        np.clip(ens[k] + 2 * z + 4 * e4, 15, 75)]).round(1)
    return k, stat, size * stat[:, 0]


def generate(n, seed):
    rng = np.random.default_rng(seed)
    kommuner = pd.read_csv(os.path.join(REF, "kommun-befolkning.csv"), dtype={"kommunkod": str})
    kpop = kommuner["folkmangd"].to_numpy(dtype=float)
    ak, astat, aw = areas(kpop, np.random.default_rng(2023))  # same areas for every seed

    # Municipality by population; area within it by size x unemployment:
    # cumulative weights offset by the municipality index, one searchsorted.
    kom = pick(rng, kpop, n)
    cum = np.cumsum(aw)
    start = np.searchsorted(ak, np.arange(len(kpop)))
    end = np.append(start[1:], len(ak))
    before = np.where(start > 0, cum[start - 1], 0.0)
    rel = (cum - before[ak]) / (cum[end - 1] - before)[ak] + ak
    area = np.searchsorted(rel, kom + rng.random(n), side="right")
    area = np.clip(area, start[kom], end[kom] - 1)
    stat = astat[area]

    # Birth region and country.
    foreign = rng.random(n) < logistic(-0.30 + 0.9 * np.log(stat[:, 3] / 9.0))
    region = np.where(foreign, 1 + pick(rng, FOREIGN_REGION_W, n), 0)
    land = np.full(n, "SE", dtype=object)
    for r, table in COUNTRIES.items():
        at = np.flatnonzero(region == r)
        land[at] = np.array(list(table), dtype=object)[pick(rng, list(table.values()), len(at))]
    recent = ((region == 4) & (rng.random(n) < 0.14)) | ((region == 3) & (rng.random(n) < 0.06))

    woman = rng.random(n) < 0.47
    group = np.where(recent, "recent", np.where(region == 0, "swedish", "foreign"))
    age = np.empty(n, dtype=np.int64)
    for g, w in AGE_W.items():
        at = np.flatnonzero(group == g)
        band = pick(rng, w, len(at))
        age[at] = AGE_LO[band] + (rng.random(len(at)) * (AGE_HI[band] - AGE_LO[band] + 1)).astype(int)

    # Education by region, capped by age; orientation by level and sex.
    edu = np.empty(n, dtype=np.int64)
    for r in range(5):
        at = np.flatnonzero(region == r)
        edu[at] = EDU_LEVELS[pick(rng, EDU_W[r], len(at))]
    cap = np.select([age <= 17, age == 18, age <= 20, age == 21, age <= 25], [2, 3, 4, 5, 6], 7)
    edu = np.where(edu != 9, np.minimum(edu, cap), 9)
    edu[(region == 0) & (age >= 55) & (edu == 4) & (rng.random(n) < 0.35)] = 3
    inr = np.where(woman, pick(rng, INRIKTNING_W["K"], n), pick(rng, INRIKTNING_W["M"], n))
    inr = np.where(edu == 9, 9, np.where(edu <= 2, np.where(rng.random(n) < 0.97, 0, 9), inr))

    # Disability.
    p_funk = np.where(recent, logistic(-3.5), logistic(np.take(FUNK_BASE, region) + 0.015 * (age - 40)))
    has_funk = rng.random(n) < p_funk
    ag = np.select([age < 30, age < 50], [0, 1], 2)
    kind = np.select([ag == 0, ag == 1], [pick(rng, FUNK_W[0], n), pick(rng, FUNK_W[1], n)],
                     pick(rng, FUNK_W[2], n))
    funk = np.where(has_funk, 10 * (1 + kind), 0)
    nedsatt = has_funk & (rng.random(n) < 0.85)

    # Registration history.
    max_days = np.minimum((age - 15) * 365 - 1, 7300)
    lm = (np.log(230) + 0.55 * nedsatt + 0.30 * (region == 4) + 0.15 * (region == 3)
          + 0.45 * (age >= 55) + 0.20 * ((age >= 50) & (age < 55)) - 0.60 * (age < 25)
          + 0.25 * (edu <= 2))
    days = np.exp(lm + 1.15 * rng.standard_normal(n)).astype(np.int64)
    days = np.where(recent, (rng.random(n) * 730).astype(np.int64), np.minimum(days, max_days))
    month = ((REF_DATE - days.astype("timedelta64[D]")).astype("datetime64[M]").astype(np.int64) % 12) + 1
    has_prev = ~recent & (rng.random(n) < logistic(-1.3 + 0.07 * (age - 16)))
    lam = 0.06 * (age - 16) * np.exp(0.5 * rng.standard_normal(n))
    nper = np.where(has_prev, np.minimum(1 + rng.poisson(lam), 99), 0)
    prev = np.clip(np.exp(np.log(150) + rng.standard_normal(n)), 1, 7300).astype(np.int64)
    since = np.clip(np.exp(np.log(500) + 1.1 * rng.standard_normal(n)), 0, 25000).astype(np.int64)
    room = np.maximum((age - 15) * 365 - 1 - days, 1)
    f = np.minimum(1.0, room / (prev + since))
    prev = np.where(has_prev, np.maximum((prev * f).astype(np.int64), 1), 0)
    since = with_missing((since * f).astype(np.int64), has_prev)
    prog = np.clip(120 * np.sqrt(nper) * np.exp(0.9 * rng.standard_normal(n)), 1, 7300).astype(np.int64)
    prog = np.where(has_prev & (rng.random(n) < 0.45 + 0.2 * nedsatt), prog, 0)

    # Language support, programmes, applicant category, insurance.
    sprak = rng.random(n) < np.where(
        recent, 0.9, logistic(np.take(SPRAK_BASE, region) + 0.6 * (edu <= 2) + 0.02 * (age - 40)))
    u = rng.random(n)
    ram = np.select([recent, (age <= 24) & (days >= 90) & (u < 0.75),
                     (age >= 25) & (days >= 450) & (u < 0.80)], ["ETP", "UGA", "JOB"], "ingen")
    sokkat = np.where(ram != "ingen", np.where(rng.random(n) < 0.9, "68", "11"),
                      np.array(SOKKAT[0])[pick(rng, SOKKAT[1], n)])
    akassa = rng.random(n) < logistic(
        np.take(AKASSA_BASE, region) + 0.025 * (np.clip(age, 25, 60) - 40) - 1.0 * (age < 25)
        + 0.3 * ((edu >= 5) & (edu <= 7)) - 0.3 * (edu <= 2) - 2.5 * recent)

    # Occupations: by tier and sex; later ones from the same tier (65 %) or
    # tier 0; a repeat is redrawn once from tier 0, then dropped; no gaps.
    tier = np.where(edu == 4, 1, np.where((edu >= 5) & (edu <= 7), 2, 0))

    def occupation(t):
        out = np.empty(n, dtype=np.int64)
        for tt in range(3):
            codes = np.array([c for c, _, _ in OCC[tt]])
            for sex, col in ((True, 1), (False, 2)):
                at = np.flatnonzero((t == tt) & (woman == sex))
                out[at] = codes[pick(rng, [o[col] for o in OCC[tt]], len(at))]
        return out

    ny = 1 + pick(rng, NYRKEN_W, n)
    occ = np.zeros((n, 4), dtype=np.int64)
    occ[:, 0] = occupation(tier)
    for j in range(1, 4):
        c = occupation(np.where(rng.random(n) < 0.65, tier, 0))
        dup = (occ[:, :j] == c[:, None]).any(axis=1)
        c = np.where(dup, occupation(np.zeros(n, dtype=np.int64)), c)
        dup = (occ[:, :j] == c[:, None]).any(axis=1)
        occ[:, j] = np.where((j < ny) & ~dup, c, 0)
    occ = occ[np.arange(n)[:, None], np.argsort(occ == 0, axis=1, kind="stable")]

    eg = np.select([recent, age < 25, age < 40], ["recent", "young", "mid"], "old")
    erf = np.empty(n, dtype=np.int64)
    for g, w in ERF_W.items():
        at = np.flatnonzero(eg == g)
        erf[at] = pick(rng, w, len(at))
    utb = rng.random(n) < np.select([edu == 9, edu <= 2, edu <= 4], [0.05, 0.12, 0.35], 0.55)
    high = (edu >= 5) & (edu <= 7)
    kommover = rng.random(n) < logistic(-0.4 + 0.4 * high + 0.3 * (age < 30) - 0.5 * nedsatt
                                        - 0.6 * sprak + 0.2 * akassa)

    # Labels from the ground-truth model.
    eta = (1.04 + 0.043 * age - 0.049 * np.maximum(0, age - 30) - 0.065 * np.maximum(0, age - 50)
           - 0.43 * np.log1p(days) - 0.16 * (funk != 0) - 0.60 * nedsatt - 0.49 * sprak
           + np.select([edu == 1, edu == 2, edu == 3, edu == 5, edu == 6, edu == 7, edu == 9],
                       [-0.60, -0.38, -0.16, 0.16, 0.32, 0.32, -0.32], 0)
           + np.take([0, -0.05, -0.16, -0.22, -0.32], region) + 0.32 * akassa
           - 0.043 * stat[:, 0] + 0.086 * erf + 0.22 * kommover + 0.16 * np.log1p(nper)
           - 0.27 * (ram == "JOB") + 0.38 * np.isin(sokkat, ["21", "22", "31"])
           - 1.40 * (sprak & high) - 0.080 * (nedsatt * np.maximum(0, age - 45)))
    u = rng.random(n)
    y180 = u < logistic(eta)
    y90 = u < logistic(eta - 0.78)

    # Pseudonymous ids: an affine bijection of the row number modulo 10^9.
    key = int(rng.integers(10**9))
    ids = (np.arange(n, dtype=np.int64) * 387420489 + key) % 10**9
    df = pd.DataFrame({
        "id": pd.Series(ids).astype(str).str.zfill(9).radd("P"),
        "alder": age, "kon": np.where(woman, "K", "M"), "fodelseland": land,
        "kommunkod": kommuner["kommunkod"].to_numpy()[kom], "utbildningsniva": edu,
        "utbildningsinriktning": inr,
        **{"sokt_yrke_%d" % (j + 1): with_missing(occ[:, j], occ[:, j] > 0) for j in range(4)},
        "erfarenhet_sokt_yrke": erf, "utbildning_sokt_yrke": utb.astype(np.int8),
        "akassa": akassa.astype(np.int8), "inskrivningsmanad": month, "inskrivningsdagar": days,
        "dagar_foregaende_period": prev, "dagar_sedan_foregaende_period": since,
        "antal_tidigare_perioder": nper, "dagar_tidigare_program": prog,
        "funktionsnedsattning": pd.Series(funk).map("{:02d}".format),
        "nedsatt_arbetsformaga": nedsatt.astype(np.int8), "sokandekategori": sokkat,
        "kommunovergripande": kommover.astype(np.int8), "sprakstod": sprak.astype(np.int8),
        "ramprogram": ram,
        "omr_arbetsloshet": stat[:, 0], "omr_medianinkomst": stat[:, 1],
        "omr_andel_eftergymnasial": stat[:, 2], "omr_andel_utrikes_medborgare": stat[:, 3],
        "omr_andel_ensamhushall": stat[:, 4],
        "arbete_studier_90d": y90.astype(np.int8), "arbete_studier_180d": y180.astype(np.int8),
    }, columns=COLUMNS)
    return df


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", "--rows", default="650000", help="rows (1e6 accepted)")
    ap.add_argument("-s", "--seed", type=int, default=20200330)
    ap.add_argument("-o", "--output", default="-")
    a = ap.parse_args()
    n = int(float(a.rows))
    df = generate(n, a.seed)
    out = sys.stdout if a.output == "-" else a.output
    df.to_csv(out, index=False, float_format="%.1f", lineterminator="\n")


if __name__ == "__main__":
    main()
