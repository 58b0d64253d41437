#!/usr/bin/env bash
# What-if scoring of one profile, model load included: the card, a sweep
# over age, a comparison and a counterfactual, each a whole `profil whatif`
# process (loading the schema, its reference tables, the model, the policy
# and the settings), beside the same card computed in plain Python from the
# files (bench/peers/whatif_python.py). Peak RSS of one card.
#
#   bench/whatif.sh [PROFIL]            default PROFIL: build/profil
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
bench_install hyperfine time
PROFIL=${1:-build/profil}
export PROFIL_DATA=$PWD/data
SETS="--set alder=58 --set utbildningsniva=2 --set kommunkod=2480 --set inskrivningsdagar=450"
PAIRS="alder=58 utbildningsniva=2 kommunkod=2480 inskrivningsdagar=450"
hyperfine -N --warmup 3 --runs 30 --export-markdown /dev/stdout \
    -n card "$PROFIL whatif --policy krom-2021-08 $SETS" \
    -n "card --json" "$PROFIL whatif --policy krom-2021-08 --json $SETS" \
    -n "vary alder=16:67" "$PROFIL whatif --policy krom-2021-08 $SETS --vary alder=16:67" \
    -n compare "$PROFIL whatif --policy krom-2021-08 $SETS --compare --set akassa=1" \
    -n "reach niva=A" "$PROFIL whatif --policy krom-2021-08 $SETS --reach niva=A" \
    -n "python card" "/usr/bin/python3 bench/peers/whatif_python.py data krom-2021-08 $PAIRS"
echo
echo "peak RSS (KiB), card:  $(/usr/bin/time -f %M "$PROFIL" whatif --policy krom-2021-08 $SETS 2>&1 >/dev/null | tail -1)"
echo "peak RSS (KiB), python: $(/usr/bin/time -f %M /usr/bin/python3 bench/peers/whatif_python.py data krom-2021-08 $PAIRS 2>&1 >/dev/null | tail -1)"
