#!/usr/bin/env bash
# Regenerates the thresholds on p of the bundled policies (groups.close_min_p,
# groups.far_below_p; levels.a_min_p, levels.b_min_p in krom-2020.json and
# krom-2021-08.json; tracks.enhanced_below_p in stom.json) with
# `profil thresholds --in-place`: the default model (data/models/af-logit.json)
# scored on the default synthetic population (650 000 rows, seed 20200330),
# with the default target shares. Every other byte of the files is kept.
#
#   data/policies/make-thresholds.sh [PROFIL]        default PROFIL: build/profil
#
# The shares are planning assumptions, not figures from a source
# (docs/policies.md, "Default thresholds"):
#   groups 1, 2, 3 (står nära, aktuell, står långt ifrån)   25 / 55 / 20 %
#   levels A, B, C within group 2 (Rusta och matcha)         30 / 40 / 30 %
#   enhanced support within groups 2 and 3 (Stöd och matchning)     50 %
set -euo pipefail
cd "$(dirname "$0")/../.."
PROFIL=${1:-build/profil}
export PROFIL_DATA=$PWD/data # the source tree's model and policies
GROUPS_SHARES=25,55,20
LEVELS_SHARES=30,40,30
ENHANCED_SHARE=50
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PROFIL" synth --rows 650000 --seed 20200330 --output "$tmp/population.csv"
for policy in krom-2020 krom-2021-08; do
    "$PROFIL" thresholds --policy "data/policies/$policy.json" --in-place \
        --groups "$GROUPS_SHARES" --levels "$LEVELS_SHARES" "$tmp/population.csv"
    echo
done
"$PROFIL" thresholds --policy data/policies/stom.json --in-place \
    --groups "$GROUPS_SHARES" --enhanced "$ENHANCED_SHARE" "$tmp/population.csv"
"$PROFIL" policy check --dir data/policies
