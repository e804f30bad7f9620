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

BUILD_PKGS=(libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libdcmtk-dev dcmtk
    libyaml-dev libopenjp2-7-dev libcmocka-dev zlib1g-dev libssl-dev make gcc g++ pkg-config)
TEST_PKGS=(python3-h5py python3-pydicom python3-numpy python3-pandas python3-gdcm dcm2niix
    libgdcm-tools openjph-tools clang-14 libclang-rt-14-dev  # clang: the libFuzzer target
    build-essential debhelper lintian lmod man-db)  # make deb, the module and man page tests

# nibabel's Siemens mosaic test files and CSA reader: test_vendor.py's oracle
TEST_PKGS+=(python3-nibabel)

# strace: opens per file (test_single_read.sh)
TEST_PKGS+=(strace)

# RTSTRUCT rasterisation reference (tests/integration/test_labels.py)
TEST_PKGS+=(plastimatch)

say() { printf 'deps: %s\n' "$*"; }

# prints the packages among "$@" that are not installed, one per line
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

apt() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get "$@"
}

# installs "$@"; when apt-get refuses the set (one unknown package stops
# them all), tries one by one so the rest still get installed
install_pkgs() {
    apt install -y -q "$@" && return 0
    say "installing one by one"
    local p
    for p in "$@"; do
        apt install -y -q "$p" || say "apt-get could not install $p"
    done
}

main() {
    local wanted=("${BUILD_PKGS[@]}")
    [ "${DEPS_TESTS:-1}" = 0 ] || wanted+=("${TEST_PKGS[@]}")
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        say "this script needs Debian or Ubuntu (dpkg-query, apt-get); install by hand:"
        say "  ${wanted[*]}"
        return 1
    fi
    local missing still
    mapfile -t missing < <(missing_of "${wanted[@]}")
    if [ "${#missing[@]}" -eq 0 ]; then
        say "all ${#wanted[@]} packages are installed"
        return 0
    fi
    say "installing: ${missing[*]}"
    apt update -q || say "apt-get update failed; trying the install anyway"
    install_pkgs "${missing[@]}"
    mapfile -t still < <(missing_of "${missing[@]}")
    if [ "${#still[@]}" -gt 0 ]; then
        say "could not install: ${still[*]}"
        return 1
    fi
    say "installed ${#missing[@]} packages"
}

main "$@"
