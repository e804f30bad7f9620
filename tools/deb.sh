#!/usr/bin/env bash
# tools/deb.sh OUTDIR - `make deb`: the Debian package of this tree, checked with lintian.
#
# Copies the tree (the files git knows, or the whole folder without build
# outputs when there is no git) to OUTDIR/dcmcrawl-VERSION, runs
# dpkg-buildpackage there (source and binary, unsigned), so that nothing of the
# package build lands in the checkout or in its parent folder, then lintian on
# the .changes (source and binary package).  Leaves in OUTDIR:
#   dcmcrawl_VERSION_ARCH.deb, dcmcrawl_VERSION.tar.xz, .dsc, .changes,
#   lintian.log
# DEB_BUILD_OPTIONS is passed on (e.g. DEB_BUILD_OPTIONS=nocheck skips the unit
# tests, parallel=2).  Exit status: 0 built and lintian reports no error or
# warning; 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: tools/deb.sh OUTDIR}
version=$(dpkg-parsechangelog -S Version)
code_version=$(sed -n 's/^#define DC_VERSION "\(.*\)"/\1/p' include/dc_util.h)
if [ "$version" != "$code_version" ]; then
    echo "deb: debian/changelog says $version, include/dc_util.h DC_VERSION $code_version:" \
        "add an entry to debian/changelog (by hand or dch -v $code_version) or fix DC_VERSION" >&2
    exit 1
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/dcmcrawl-$version
rm -rf "$src" "$out"/dcmcrawl_"$version"*
mkdir -p "$src"
if git rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar --null -T - -cf - | tar -xf - -C "$src"
else
    tar --exclude='./build*' --exclude=./out --exclude=./.git -cf - . | tar -xf - -C "$src"
fi
echo "deb: building dcmcrawl $version in $src"
(cd "$src" && dpkg-buildpackage -us -uc -j"$(nproc)") > "$out/build.log" 2>&1 || {
    tail -40 "$out/build.log"
    echo "deb: dpkg-buildpackage failed (whole log: $out/build.log)" >&2
    exit 1
}
changes=$(ls "$out"/dcmcrawl_"$version"_*.changes)
echo "deb: built $(ls "$out"/dcmcrawl_"$version"_*.deb)"
lintian --fail-on error,warning --info "$changes" > "$out/lintian.log" 2>&1 && rc=0 || rc=$?
cat "$out/lintian.log"
if [ "$rc" -ne 0 ]; then
    echo "deb: lintian reports errors or warnings (above; $out/lintian.log)" >&2
    exit 1
fi
echo "deb: lintian: no errors or warnings"
