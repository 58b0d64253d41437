#!/usr/bin/env bash
# `profil validate` end to end: exit codes, counts, rejects file, stdin,
# gzip, Swedish Excel exports, header errors, personal identity numbers.
. "$(dirname "$0")/lib.sh"

H="id,alder,kon,fodelseland,kommunkod,utbildningsniva,utbildningsinriktning,sokt_yrke_1,sokt_yrke_2,sokt_yrke_3,sokt_yrke_4,erfarenhet_sokt_yrke,utbildning_sokt_yrke,akassa,inskrivningsmanad,inskrivningsdagar,dagar_foregaende_period,dagar_sedan_foregaende_period,antal_tidigare_perioder,dagar_tidigare_program,funktionsnedsattning,nedsatt_arbetsformaga,sokandekategori,kommunovergripande,sprakstod,ramprogram,omr_arbetsloshet,omr_medianinkomst,omr_andel_eftergymnasial,omr_andel_utrikes_medborgare,omr_andel_ensamhushall"
row() { # row ID AGE KOMMUN LAND
    echo "$1,$2,K,$4,$3,4,5,5120,9111,,,2,1,1,3,120,40,300,1,0,00,0,11,0,0,ingen,7.5,310.2,45.1,12.3,40.0"
}

# 1. A clean file: exit 0, counts, an empty rejects file.
{ echo "$H"; row P1 45 0180 SE; row P2 58 1480 SY; row P3 24 2480 NO; } > ok.csv
expect_exit 0 "valid file" -- "$PROFIL" validate ok.csv
expect_grep "^rows read: +3$" out.txt "rows read"
expect_grep "^rows accepted: +3$" out.txt "rows accepted"
expect_grep "^rows rejected: +0$" out.txt "rows rejected"
expect_eq "$(cat ok.rejects.csv)" "row,line,id,column,rule,value,message" "empty rejects file"

# 2. Bad rows: exit 1; each problem in the rejects file with row, line, rule.
{
    echo "$H"
    row P1 45 0180 SE          # row 1 fine
    row P2 15 0180 SE          # row 2 age below 16
    row P3 45 9999 SE          # row 3 unknown municipality
    row P4 45 0180 XX          # row 4 not a country code
    row P5 4x 0180 SE          # row 5 not a number
    echo "P6,45,K"             # row 6 wrong field count
    row P7 45 0180 SE          # row 7 fine
} > bad.csv
expect_exit 1 "file with rejects" -- "$PROFIL" validate --rejects rej.csv bad.csv
expect_grep "^rows read: +7$" out.txt "rows read with rejects"
expect_grep "^rows accepted: +2$" out.txt "rows accepted with rejects"
expect_grep "^rows rejected: +5$" out.txt "rows rejected"
expect_grep "^2,3,P2,alder,out_of_range,15," rej.csv "age out of range"
expect_grep "^3,4,P3,kommunkod,unknown_code,9999," rej.csv "unknown kommun"
expect_grep "^4,5,P4,fodelseland,unknown_code,XX," rej.csv "invalid country code"
expect_grep "^5,6,P5,alder,not_a_number,4x," rej.csv "not a number"
expect_grep "^6,7,,,field_count,," rej.csv "wrong field count"
expect_eq "$(($(wc -l < rej.csv) - 1))" 5 "one rejects line per problem"
expect_eq "$(ls | grep -c '\.tmp\.')" 0 "no temporary files left"

# 3. Standard input, plain and gzip; a .gz file.
expect_exit 1 "stdin" -- sh -c "cat bad.csv | '$PROFIL' validate --no-rejects -"
expect_grep "^rows rejected: +5$" out.txt "stdin counts"
gzip -c bad.csv > bad.csv.gz
expect_exit 1 "gzip on stdin" -- sh -c "'$PROFIL' validate --no-rejects < bad.csv.gz"
expect_grep "^rows rejected: +5$" out.txt "gzip stdin counts"
expect_exit 1 "gzip file" -- "$PROFIL" validate bad.csv.gz
expect_grep "^rows rejected: +5$" out.txt "gzip file counts"
expect_grep "^2,3,P2,alder" bad.rejects.csv "default rejects name for .csv.gz"

# 4. A Swedish Excel export: BOM, semicolons, decimal comma, CRLF, quoted
#    field with an embedded newline in an unknown column.
{
    printf '\xEF\xBB\xBF%s;notering\r\n' "$(echo "$H" | tr ',' ';')"
    printf '%s;"rad ett\r\nfortsatt"\r\n' "$(row P1 45 0180 SE | tr ',' ';' | sed 's/7\.5/7,5/; s/310\.2/310,2/')"
    printf '%s;ok\r\n' "$(row P2 30 1280 DK | tr ',' ';' | sed 's/7\.5/7,5/')"
} > excel.csv
expect_exit 0 "Excel export" -- "$PROFIL" validate --no-rejects excel.csv
expect_grep "delimiter ';'" out.txt "semicolon detected"
expect_grep "^rows accepted: +2$" out.txt "Excel rows accepted"
expect_grep "unknown columns \(ignored\): notering" out.txt "unknown column reported"

# 5. Line numbers count embedded newlines: the row after a two-line field.
{ echo "$H,notering"; echo "$(row P1 45 0180 SE),\"a"; echo "b\""; echo "$(row P2 99 0180 SE),x"; } > nl.csv
expect_exit 1 "embedded newline" -- "$PROFIL" validate --rejects nl.rej nl.csv
expect_grep "^2,4,P2,alder,out_of_range" nl.rej "line number after an embedded newline"

# 6. Header problems are setup errors (exit 2) naming every missing column.
echo "$H" | sed 's/alder,//; s/,kon//; s/,akassa//' > nohdr.csv
row P1 45 0180 SE >> nohdr.csv
expect_exit 2 "missing columns" -- "$PROFIL" validate nohdr.csv
expect_grep "3 required columns are missing from the header: alder, kon, akassa" err.txt \
    "all missing columns listed"
: > empty.csv
expect_exit 2 "empty input" -- "$PROFIL" validate empty.csv
expect_exit 2 "bad schema" -- "$PROFIL" validate --schema /nonexistent.json ok.csv
expect_exit 1 "missing input file" -- "$PROFIL" validate no-such-file.csv
expect_exit 2 "bad delimiter option" -- "$PROFIL" validate --delimiter x ok.csv
expect_exit 2 "two inputs" -- "$PROFIL" validate ok.csv ok.csv

# 7. A personal identity number outside the id column is rejected and never
#    printed or written anywhere.
{ echo "$H,anteckning"; echo "$(row P1 45 0180 SE),811218-9876"; } > pnr.csv
expect_exit 1 "personnummer" -- "$PROFIL" validate --rejects pnr.rej pnr.csv
expect_grep "^1,2,P1,anteckning,personnummer,<withheld>," pnr.rej "personnummer rule"
if grep -q "811218" out.txt err.txt pnr.rej; then fail "personnummer leaked"; else pass; fi

# A fraction in a numeric column is a number, whatever its digits.
{ echo "$H"; row P1 45 0180 SE | sed 's/,7\.5,/,0.8112189876,/'; } > frac.csv
expect_exit 0 "fraction digits in a numeric column" -- "$PROFIL" validate --no-rejects frac.csv

# 8. The input's SHA-256 is that of its bytes as stored (gzip too).
expect_exit 1 "sha256 of a gzip input" -- "$PROFIL" validate --no-rejects bad.csv.gz
expect_grep "^input sha256: +$(sha256sum < bad.csv.gz | cut -d' ' -f1)$" out.txt "input sha256"

# 9. JSON summary.
expect_exit 1 "json summary" -- "$PROFIL" validate --json --no-rejects bad.csv
expect_grep '"rows_rejected": 5' out.txt "json rejected count"
expect_grep '"out_of_range": 1' out.txt "json per-rule count"

finish
