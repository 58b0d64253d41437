#!/usr/bin/env bash
# The bundled default model is reproducible with data/models/make-default.sh:
# retraining on the regenerated default population gives the same terms and
# coefficients (to 1e-9 relative; bit for bit on the machine that made it).
. "$(dirname "$0")/lib.sh"

"$PROFIL" synth --rows 650000 --seed 20200330 --output pop.csv
expect_exit 0 "retrain the default model" -- "$PROFIL" train -q \
    --spec "$SRC/data/models/af-logit.spec.json" --output model.json pop.csv
"$PROFIL" model coef "$SRC/data/models/af-logit.json" -o bundled.csv
"$PROFIL" model coef model.json -o retrained.csv
expect_eq "$(cut -d, -f1,2 retrained.csv | sha256sum)" "$(cut -d, -f1,2 bundled.csv | sha256sum)" \
    "same terms"
if awk -F, 'NR == FNR { if (FNR > 1) b[FNR] = $(NF - 1); next }
            FNR > 1 { d = $(NF - 1) - b[FNR]; if (d < 0) d = -d
                      s = b[FNR] < 0 ? -b[FNR] : b[FNR]
                      if (d > 1e-9 * (s > 1e-12 ? s : 1e-12)) { print "coefficient " FNR ": " b[FNR] " vs " $(NF - 1); bad = 1 } }
            END { exit bad }' bundled.csv retrained.csv; then pass; else fail "coefficients differ"; fi
finish
