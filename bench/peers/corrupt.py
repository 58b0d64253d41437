#!/usr/bin/python3
"""bench/peers/corrupt.py - copies a `profil synth` CSV with a fraction of its
rows made invalid, so that `profil validate` and its peers have something to
reject. Standard library only; streams, so any size works.

    corrupt.py [-r RATE] [-s SEED] [--kinds K1,K2,...] [--log FILE] IN OUT

Each chosen row gets one fault, one of --kinds (default: all of DEFAULT_KINDS):

  kommun   kommunkod not one of the 290 municipalities (9999, 0100, 114, 01140)
  age      alder outside 16-67 (15, 68, 0, -3, 120)
  number   a numeric column holds a non-number (abc, 12a, 1 000, 4..5, x1)
  country  fodelseland not an ISO 3166-1 alpha-2 code (XX, ZZ, SWE, se, S)
  ssyk     sokt_yrke_1 not four digits (123, 12345, 12a4, abcd)
  missing  a required value is empty or NA (kon, akassa, inskrivningsdagar)
  boolean  akassa not 0/1 (2, ja, true)
  pnr      a valid personnummer (YYMMDD-NNNN) in kommunkod or sokt_yrke_2

--kinds tricky adds edge cases on which readers commonly differ, most of
which profil accepts (see TRICKY_KINDS); they test the peers' fidelity.
--log FILE writes "row,kind,column,value" for every changed row (1-based data
rows, as in profil's rejects file).
"""
import argparse
import csv
import random
import sys

DEFAULT_KINDS = ["kommun", "age", "number", "country", "ssyk", "missing", "boolean", "pnr"]
TRICKY_KINDS = [
    "pad",        # ' 0114', 'K ', '\tM': unquoted blanks around a valid code (accepted)
    "quoted",     # '"K"' (accepted), '" K"' (blank inside quotes: rejected)
    "intfloat",   # alder 45.0, +45, 4.5e1 (accepted)
    "namibia",    # fodelseland NA: the missing-value token, not Namibia (rejected)
    "lax_number", # 5., .5, 0x1A, inf, nan, 1e400 (rejected)
    "num_pnr",    # an area statistic 0.YYMMDDNNNN: pnr digits as a fraction (accepted)
]
NUMERIC = ["alder", "inskrivningsmanad", "inskrivningsdagar", "dagar_foregaende_period",
           "antal_tidigare_perioder", "dagar_tidigare_program", "omr_arbetsloshet",
           "omr_medianinkomst", "omr_andel_eftergymnasial"]


def personnummer(rng, sep="-"):
    """A random valid personnummer YYMMDD-NNNN (valid date, Luhn check digit)."""
    yy, mm, dd = rng.randrange(40, 100), rng.randrange(1, 13), rng.randrange(1, 29)
    body = "%02d%02d%02d%03d" % (yy, mm, dd, rng.randrange(1000))
    s = 0
    for i, ch in enumerate(body):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        s += v - 9 if v > 9 else v
    return body[:6] + sep + body[6:] + str((10 - s % 10) % 10)


def fault(kind, rng):
    """(column, value) for one fault of the given kind."""
    pick = rng.choice
    if kind == "kommun":
        return "kommunkod", pick(["9999", "0100", "114", "01140"])
    if kind == "age":
        return "alder", pick(["15", "68", "0", "-3", "120"])
    if kind == "number":
        return pick(NUMERIC), pick(["abc", "12a", "1 000", "4..5", "x1"])
    if kind == "country":
        return "fodelseland", pick(["XX", "ZZ", "SWE", "se", "S"])
    if kind == "ssyk":
        return "sokt_yrke_1", pick(["123", "12345", "12a4", "abcd"])
    if kind == "missing":
        return pick(["kon", "akassa", "inskrivningsdagar"]), pick(["", "NA"])
    if kind == "boolean":
        return "akassa", pick(["2", "ja", "true"])
    if kind == "pnr":
        return pick(["kommunkod", "sokt_yrke_2"]), personnummer(rng)
    if kind == "pad":
        return pick([("kommunkod", " 0180"), ("kon", "K "), ("kon", "\tM"), ("alder", " 45 ")])
    if kind == "quoted":
        return pick([("kon", '"K"'), ("kon", '" K"'), ("fodelseland", '"SE"')])
    if kind == "intfloat":
        return "alder", pick(["45.0", "+45", "4.5e1"])
    if kind == "namibia":
        return "fodelseland", "NA"
    if kind == "lax_number":
        return "omr_arbetsloshet", pick(["5.", ".5", "0x1A", "inf", "nan", "1e400"])
    if kind == "num_pnr":
        return "omr_andel_ensamhushall", "0." + personnummer(rng, sep="")
    raise ValueError("unknown kind " + kind)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-r", "--rate", type=float, default=0.01, help="fraction of rows (0.01)")
    ap.add_argument("-s", "--seed", type=int, default=1)
    ap.add_argument("--kinds", default="default",
                    help="comma-separated kinds, 'default', 'tricky' or 'all'")
    ap.add_argument("--log", help="write row,kind,column,value of every change")
    ap.add_argument("input")
    ap.add_argument("output")
    a = ap.parse_args()
    kinds = []
    for k in a.kinds.split(","):
        kinds += {"default": DEFAULT_KINDS, "tricky": TRICKY_KINDS,
                  "all": DEFAULT_KINDS + TRICKY_KINDS}.get(k, [k])
    rng = random.Random(a.seed)
    counts = dict.fromkeys(kinds, 0)
    with open(a.input, newline="") as fin, open(a.output, "w", newline="") as fout:
        header = fin.readline()
        col = {name: i for i, name in enumerate(header.rstrip("\r\n").split(","))}
        fout.write(header)
        log = None
        if a.log:
            log = csv.writer(open(a.log, "w", newline=""), lineterminator="\n")
            log.writerow(["row", "kind", "column", "value"])
        for row, line in enumerate(fin, 1):
            if rng.random() >= a.rate:
                fout.write(line)
                continue
            kind = rng.choice(kinds)
            name, value = fault(kind, rng)
            fields = line.rstrip("\r\n").split(",")
            fields[col[name]] = value
            fout.write(",".join(fields) + "\n")
            counts[kind] += 1
            if log:
                log.writerow([row, kind, name, value])
    print("corrupted: " + ", ".join("%s %d" % kv for kv in counts.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
