#!/usr/bin/env bash
# tools/deps.sh - install the Debian packages dcmcrawl needs (called by `make deps`).
#
# Checks every package with dpkg-query first: when all are installed it does
# nothing (no network, well under a second).  Otherwise it runs `apt-get
# update` once and installs only the missing ones, as root or through sudo.
#
#   DEPS_TESTS=0 bash tools/deps.sh    # build and run only, skip test-only packages
#
# Exit status: 0 all present (or installed); 1 something could not be installed.
set -u

BUILD_PKGS="libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libdcmtk-dev dcmtk
  libyaml-dev libopenjp2-7-dev libcmocka-dev zlib1g-dev make gcc g++ pkg-config"
TEST_PKGS="python3-h5py python3-pydicom python3-numpy python3-pandas python3-gdcm dcm2niix
  libgdcm-tools openjph-tools"

say() { printf 'deps: %s\n' "$*"; }

# prints the packages of "$@" that are not installed
missing_of() {
    local p status
    for p in "$@"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)
        [ "$status" = "installed" ] || printf '%s\n' "$p"
    done
}

# runs "$@" as root: directly, or through sudo
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        say "need root to run: $* (no sudo found)"
        return 1
    fi
}

main() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        say "this script needs a Debian/Ubuntu system (dpkg-query, apt-get); install by hand:"
        say "  $BUILD_PKGS"
        [ "${DEPS_TESTS:-1}" = 0 ] || say "  $TEST_PKGS"
        return 1
    fi
    local wanted="$BUILD_PKGS"
    [ "${DEPS_TESTS:-1}" = 0 ] || wanted="$wanted $TEST_PKGS"
    # shellcheck disable=SC2086
    local missing
    missing=$(missing_of $wanted | tr '\n' ' ')
    if [ -z "${missing// /}" ]; then
        say "all $(echo $wanted | wc -w) packages are installed"
        return 0
    fi
    missing=$(echo $missing)
    say "installing: $missing"
    export DEBIAN_FRONTEND=noninteractive
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q ||
        say "apt-get update failed; trying the install anyway"
    # shellcheck disable=SC2086
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing; then
        # one unknown package makes apt-get refuse them all: go one by one
        say "installing one by one"
        local p
        for p in $missing; do
            as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" ||
                say "apt-get could not install $p"
        done
    fi
    local still
    # shellcheck disable=SC2086
    still=$(echo $(missing_of $missing))
    if [ -n "$still" ]; then
        say "could not install: $still"
        return 1
    fi
    say "done"
}

main "$@"
