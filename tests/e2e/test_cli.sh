#!/usr/bin/env bash
# The executable's conventions: --help and --version on it and on every
# subcommand, exit 2 for usage errors, unknown commands and options.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "profil --help" -- "$PROFIL" --help
expect_grep "^Usage: profil COMMAND" out.txt "top-level help"
expect_exit 0 "profil --version" -- "$PROFIL" --version
expect_grep "^profil [0-9]+\.[0-9]+\.[0-9]+" out.txt "version line"
expect_exit 2 "no command" -- "$PROFIL"
expect_exit 2 "unknown command" -- "$PROFIL" frobnicate
expect_grep "unknown command 'frobnicate'" err.txt "unknown command message"

for cmd in $("$PROFIL" --help | awk '/^Commands:/{on=1; next} on && /^  [a-z]/{print $1} /^$/{if(on) exit}'); do
    expect_exit 0 "profil $cmd --help" -- "$PROFIL" "$cmd" --help
    expect_grep "^Usage: profil $cmd" out.txt "$cmd help text"
    expect_exit 0 "profil $cmd --version" -- "$PROFIL" "$cmd" --version
    expect_grep "^profil [0-9]" out.txt "$cmd version text"
    expect_exit 2 "profil $cmd --no-such-option" -- "$PROFIL" "$cmd" --no-such-option
    expect_exit 0 "profil help $cmd" -- "$PROFIL" help "$cmd"
done
finish
