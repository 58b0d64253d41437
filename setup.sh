#!/usr/bin/env bash
# setup.sh - sets profil up on Debian 12 and runs it.
#
#   ./setup.sh run    install packages, build, run the main job on the bundled
#                     defaults (generate a synthetic population, validate it,
#                     train the default model on it)
#   ./setup.sh test   install packages, build, run the whole test suite, once
#                     normally and once with -fsanitize=address,undefined
#   ./setup.sh build  install packages and build only
#
# Idempotent: packages already installed are skipped, builds are incremental.
# Environment: JOBS (parallel build jobs, default: all cores), OUT (output
# directory of the main job, default: out), ROWS (population size, default
# 650000, the size of AF's register).
set -euo pipefail
cd "$(dirname "$0")"

mode=${1:-run}
JOBS=${JOBS:-$(nproc)}
OUT=${OUT:-out}
ROWS=${ROWS:-650000}

# What profil needs to build and run.
packages=(build-essential cmake pkg-config libcsv-dev libcmocka-dev libgsl-dev
          libopenblas-dev liblapacke-dev libjansson-dev zlib1g-dev nettle-dev
          libcairo2-dev fonts-dejavu-core libmicrohttpd-dev)
# What the test suite needs in addition: clang for the fuzz targets, python3
# for the parameter-recovery check against the generator's ground truth,
# python3-nbformat to validate the notebooks of `profil report`, curl and
# certtool (gnutls-bin) for the HTTP service's tests, python3-xgboost for
# the XGBoost import test.
test_packages=(clang libclang-rt-14-dev python3 python3-nbformat curl gnutls-bin
               python3-xgboost)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_packages() {
    local missing=()
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    say "installing Debian packages: ${missing[*]}"
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build() { # build DIR [cmake options...]
    local dir=$1
    shift
    say "building in $dir"
    cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
    cmake --build "$dir" -j "$JOBS" >/dev/null
}

case "$mode" in
build)
    install_packages "${packages[@]}"
    build build
    ;;
run)
    install_packages "${packages[@]}"
    build build
    mkdir -p "$OUT"
    say "generating a synthetic population of $ROWS job seekers"
    build/profil synth --rows "$ROWS" --seed 20200330 --output "$OUT/population.csv"
    say "validating it against the bundled schema"
    build/profil validate --rejects "$OUT/population.rejects.csv" "$OUT/population.csv"
    say "training the default logistic model on it (holdout: 20 %)"
    build/profil train --output "$OUT/model.json" --coef-csv "$OUT/coefficients.csv" \
        "$OUT/population.csv"
    say "the same fit as the bundled data/models/af-logit.json (data/models/make-default.sh)"
    say "scoring the population with the bundled model under the policy in force today"
    build/profil score --output "$OUT/decisions.csv" "$OUT/population.csv"
    ;;
test)
    install_packages "${packages[@]}" "${test_packages[@]}"
    build build
    say "running the test suite"
    ctest --test-dir build --output-on-failure -j "$JOBS"
    build build-asan -DPROFIL_SANITIZE=ON
    say "running the test suite with address and undefined-behaviour sanitizers"
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure -j "$JOBS"
    if command -v clang >/dev/null; then
        CC=clang build build-fuzz -DPROFIL_FUZZ=ON -DPROFIL_TESTS=OFF -DPROFIL_WERROR=OFF
        say "fuzzing each parser briefly (corpus replay runs in the suites above)"
        for f in build-fuzz/tests/fuzz/fuzz_*; do
            [ -x "$f" ] || continue
            name=$(basename "$f")
            corpus=tests/fuzz/corpus/${name#fuzz_}
            work=$(mktemp -d)
            "$f" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=0 \
                "$work" "$corpus" 2>&1 | tail -n 2
            rm -rf "$work"
        done
    fi
    say "all tests passed"
    ;;
*)
    echo "usage: $0 run|test|build" >&2
    exit 2
    ;;
esac
