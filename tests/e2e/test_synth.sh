#!/usr/bin/env bash
# `profil synth` end to end: determinism, the truth file, every row valid
# under the schema, gzip and stdout, usage errors, atomic output.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "synth to a file" -- "$PROFIL" synth -n 5000 -s 7 -o a.csv
expect_exit 0 "synth again" -- "$PROFIL" synth -n 5000 -s 7 -o b.csv
if cmp -s a.csv b.csv; then pass; else fail "same seed gave different bytes"; fi
expect_exit 0 "synth other seed" -- "$PROFIL" synth -n 5000 -s 8 -o c.csv
if cmp -s a.csv c.csv; then fail "different seeds gave the same bytes"; else pass; fi
expect_eq "$(wc -l < a.csv)" 5001 "header plus 5000 rows"
expect_grep '"seed": ?7' a.truth.json "truth file beside the output"

# The first rows do not depend on how many are asked for.
"$PROFIL" synth -n 100 -s 7 > head.csv
expect_eq "$(head -n 101 a.csv | sha256sum)" "$(sha256sum < head.csv)" "prefix stability"

# Every generated row is valid under the bundled schema.
expect_exit 0 "validate synthetic rows" -- "$PROFIL" validate --no-rejects a.csv
expect_grep "^rows accepted: +5000$" out.txt "all rows accepted"

# gzip output, read back through the reader.
expect_exit 0 "synth gzip" -- "$PROFIL" synth -n 2000 -s 7 -o g.csv.gz
expect_eq "$(gzip -dc g.csv.gz | head -c 20)" "$(head -c 20 a.csv)" "gzip output is gzip"
expect_exit 0 "validate gzip" -- "$PROFIL" validate --no-rejects g.csv.gz
expect_grep "^rows accepted: +2000$" out.txt "gzip rows accepted"
expect_grep '"n": ?2000' g.truth.json "truth name for .csv.gz"

# Standard output has no truth file unless asked for.
expect_eq "$("$PROFIL" synth -n 3 | wc -l)" 4 "stdout rows"
expect_exit 0 "stdout with --truth" -- sh -c "'$PROFIL' synth -n 3 --truth t.json > /dev/null"
expect_grep '"n": ?3' t.json "explicit truth file"

# Usage errors exit 2; an unwritable output exits 1 and leaves nothing.
expect_exit 2 "zero rows" -- "$PROFIL" synth -n 0
expect_exit 2 "bad row count" -- "$PROFIL" synth -n abc
expect_exit 2 "too many rows" -- "$PROFIL" synth -n 2e8
expect_exit 1 "unwritable output" -- "$PROFIL" synth -n 10 -o no/such/dir/p.csv
if ls no 2>/dev/null; then fail "a file was left behind"; else pass; fi
expect_eq "$(ls | grep -c '\.tmp\.')" 0 "no temporary files left"

# A run killed midway leaves nothing under the final name.
"$PROFIL" synth -n 1e8 -o killed.csv &
pid=$!
sleep 0.5
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
if [ -e killed.csv ]; then fail "killed run left killed.csv"; else pass; fi
rm -f killed.csv.tmp.*
finish
