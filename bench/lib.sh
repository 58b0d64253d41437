# shellcheck shell=bash
# lib.sh - what the benchmark scripts share. Source it: . "$(dirname "$0")/lib.sh"

# bench_install PACKAGE...: installs the Debian packages a benchmark's peers
# need when they are missing (apt-get, through sudo when not root), retrying
# while another apt or dpkg holds the lock and refreshing stale package
# lists once. Exits 2 when they cannot be installed.
bench_install() {
    local need=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -qx 'install ok installed' ||
            need+=("$p")
    done
    ((${#need[@]})) || return 0
    local sudo=
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    echo "installing ${need[*]}" >&2
    local try
    for try in 1 2 3 4 5; do
        # DPkg::Lock::Timeout waits for another apt or dpkg to finish.
        if $sudo env DEBIAN_FRONTEND=noninteractive apt-get -q -y \
            -o DPkg::Lock::Timeout=300 install "${need[@]}" >&2; then
            return 0
        fi
        # Stale package lists are the other common cause; refresh once.
        [ "$try" -gt 1 ] || $sudo apt-get -q -o DPkg::Lock::Timeout=300 update >&2 || true
        sleep 10
    done
    echo "$(basename "$0"): could not install ${need[*]}" >&2
    exit 2
}
