#!/usr/bin/env bash
# Rebuilds the bundled default model, data/models/af-logit.json: the
# specification af-logit.spec.json trained on the default synthetic
# population (650 000 rows, seed 20200330, the start of the KROM pilot).
#
#   data/models/make-default.sh [PROFIL]        default PROFIL: build/profil
#
# On the same machine the output is byte-identical to the committed file;
# elsewhere OpenBLAS may pick other kernels, which can move the last digits
# of the coefficients (tests/e2e/test_default_model.sh allows 1e-9).
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFIL=${1:-build/profil}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PROFIL" synth --rows 650000 --seed 20200330 --output "$tmp/population.csv"
"$PROFIL" train --spec data/models/af-logit.spec.json --output data/models/af-logit.json \
    "$tmp/population.csv"
