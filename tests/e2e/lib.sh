# lib.sh - helpers shared by the end-to-end tests. Each test script gets
# the profil executable, the source directory and a scratch directory.
set -u
PROFIL=$1
SRC=$2
WORK=$3
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
export PROFIL_DATA="$SRC/data"
failures=0
passes=0

pass() { passes=$((passes + 1)); }
fail() {
    failures=$((failures + 1))
    printf 'FAIL: %s\n' "$*"
}

# expect_exit CODE DESCRIPTION -- command...
expect_exit() {
    local want=$1 what=$2
    shift 3
    "$@" >out.txt 2>err.txt
    local got=$?
    if [ "$got" -eq "$want" ]; then pass; else
        fail "$what: exit $got, expected $want"
        sed 's/^/    /' err.txt | head -20
    fi
}

# expect_grep PATTERN FILE DESCRIPTION
expect_grep() {
    if grep -qE -- "$1" "$2"; then pass; else
        fail "$3: no line matching '$1' in $2"
        sed 's/^/    /' "$2" | head -20
    fi
}

expect_eq() { # expect_eq GOT WANT DESCRIPTION
    if [ "$1" = "$2" ]; then pass; else fail "$3: got '$1', expected '$2'"; fi
}

finish() {
    printf '%d passed, %d failed\n' "$passes" "$failures"
    [ "$failures" -eq 0 ]
}
