#!/usr/bin/env python3
"""Checks a report written by `profil report` (run with Debian's python3,
which has python3-nbformat).

- the notebook validates against the official nbformat 4 schema;
- it has markdown for every section, code cells that reload every CSV table
  with pandas, and one image output per figure, each the PNG file of the
  same name in the folder, a valid PNG;
- the HTML page is self-contained (no external script, style sheet or image)
  and inlines the same PNG images, in the same order;
- the numbers quoted in the text are eval.json's.

usage: report_check.py DIR [NAME]     exit 0 when all holds, 1 otherwise.
"""
import base64
import json
import re
import sys

import nbformat

problems = []


def main():
    d = sys.argv[1]
    name = sys.argv[2] if len(sys.argv) > 2 else "report"
    ev = json.load(open(f"{d}/eval.json", encoding="utf-8"))
    nb = nbformat.read(f"{d}/{name}.ipynb", as_version=4)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        problems.append(f"notebook invalid: {e}")
    if (nb.nbformat, nb.nbformat_minor) != (4, 5):
        problems.append(f"nbformat {nb.nbformat}.{nb.nbformat_minor}")
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for section in ["# Utvärdering", "## Discrimination", "## Calibration",
                    "## Outcomes by decision", "## Fairness by group", "## Continuing"]:
        if section not in md:
            problems.append(f"no section '{section}'")
    for dim in ev["dimensions"]:
        if f"(`{dim['name']}`)" not in md:
            problems.append(f"no section for dimension {dim['name']}")
    for t in ev["tables"].values():
        if f'pd.read_csv("{t["file"]}"' not in code:
            problems.append(f"no code cell reads {t['file']}")
    auc = ev["overall"]["auc"]
    if f"AUC = {auc['value']:.4f}" not in md or f"{auc['ci_lo']:.4f}–{auc['ci_hi']:.4f}" not in md:
        problems.append("the AUC in the text is not eval.json's")
    cal = ev["overall"]["calibration"]
    if f"a = {cal['intercept']:.4f}" not in md or f"b = {cal['slope']:.4f}" not in md:
        problems.append("the calibration in the text is not eval.json's")

    images = []
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        for out in c.outputs:
            png = out.get("data", {}).get("image/png")
            if png is None:
                continue
            m = re.search(r'Image\(filename="([^"]+)"\)', c.source)
            raw = base64.b64decode(png)
            if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
                problems.append("an image output is not a PNG")
            if not m:
                problems.append("an image cell does not name its file")
                continue
            with open(f"{d}/{m.group(1)}", "rb") as f:
                if f.read() != raw:
                    problems.append(f"{m.group(1)} differs from the notebook's image")
            images.append(raw)
    if len(images) < 4:
        problems.append(f"only {len(images)} figures")

    html = open(f"{d}/{name}.html", encoding="utf-8").read()
    if re.search(r'<(script|link|iframe)\b', html) or re.search(r'\bsrc="(?!data:)', html) or \
            re.search(r'url\(', html):
        problems.append("the HTML page refers to something outside itself")
    inline = [base64.b64decode(s) for s in
              re.findall(r'<img alt="[^"]*" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)]
    if inline != images:
        problems.append(f"the HTML inlines {len(inline)} images, the notebook has {len(images)}")
    if f"AUC = {auc['value']:.4f}" not in html:
        problems.append("the HTML lacks the AUC")
    if html.count("<table>") < 4:
        problems.append("the HTML has too few tables")

    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"report ok: {len(nb.cells)} cells, {len(images)} figures")
    return 0


if __name__ == "__main__":
    sys.exit(main())
