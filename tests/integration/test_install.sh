#!/bin/bash
# test_install.sh BUILD/dcmcrawl - dcmcrawl installed the ways a cluster installs it.
#
#   1. make install DESTDIR=W/dest PREFIX=/opt/cluster-sw: exactly the expected files,
#      all under DESTDIR+PREFIX, the checkout untouched; the installed binary crawls the
#      sample with the installed configs (configs/example1..3) and the outputs are
#      identical to the checkout build's (compare_outputs.py); the installed crawl.sbatch,
#      run without SLURM, finds the installed binary beside it and gives the same
#      outputs; a copy of the scripts outside the install finds dcmcrawl on PATH; the
#      checkout's jobs/ still find build/; make uninstall leaves none of our files.
#   2. make install PREFIX=W/prefix, then in a bash with Lmod: module use + module load
#      put dcmcrawl on PATH, its man page on MANPATH (the system's pages still found),
#      DCMCRAWL_HOME; `dcmcrawl --version` names each library at the version of the
#      Debian package that owns the library file the binary loads (ldd + dpkg -S).
#   3. make deb (lintian: no errors or warnings), apt-get install of the .deb on this
#      machine, the sample crawl with /usr/bin/dcmcrawl and with
#      /usr/share/dcmcrawl/jobs/crawl.sbatch identical to the checkout's, man finds the
#      page; then purge, also on failure (a trap), leaving the machine as it was.
#      Skipped with a message when a dcmcrawl package is installed already (not ours
#      to replace), or when not root.
# DEB_BUILD_OPTIONS=nocheck for the package build: `make test` runs the unit tests itself.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
BIN=${1:-build/dcmcrawl}
[ -x "$BIN" ] || { echo "test_install: FAIL: no binary $BIN"; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
BUILD=$(realpath --relative-to="$ROOT" "$(dirname "$BIN")")
VERSION=$(sed -n 's/^#define DC_VERSION "\(.*\)"/\1/p' "$ROOT/include/dc_util.h")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
unset DCMCRAWL SLURM_JOB_ID SLURM_NTASKS SLURM_SUBMIT_DIR
W=$(mktemp -d /tmp/dcmcrawl_install_XXXXXX)
OURS=0    # 1 once this test installed the package: the trap purges it
DEB_PID=  # the package build running in the background (its own process group)

cleanup() {
    if [ -n "$DEB_PID" ] && kill -0 "$DEB_PID" 2> /dev/null; then
        kill -TERM -- "-$DEB_PID" 2> /dev/null
        wait "$DEB_PID" 2> /dev/null
    fi
    if [ "$OURS" = 1 ]; then
        echo "test_install: purging the dcmcrawl package"
        DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 purge -y -q dcmcrawl \
            > "$W/purge.log" 2>&1 || cat "$W/purge.log"
    fi
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
    echo "test_install: FAIL: $*"
    exit 1
}
step() { echo "== $* ($SECONDS s)"; }

# crawl NAME BINARY CONFIGDIR [RUNNER...]: configs/example1..3 from W/NAME (where
# tests/ links to the checkout's, so the configs' relative folders resolve) into
# W/NAME/out; RUNNER (default: mpirun -np 2) is put before "BINARY CONFIG ..."
crawl() {
    local name=$1 bin=$2 cfgs=$3 k
    shift 3
    local -a runner=("$@")
    [ ${#runner[@]} -gt 0 ] || runner=(mpirun -np 2)
    mkdir -p "$W/$name"
    ln -sfn "$ROOT/tests" "$W/$name/tests"
    for k in 1 2 3; do
        (cd "$W/$name" && "${runner[@]}" "$bin" "$cfgs/example$k.yaml" --set run.progress=never \
            --log-level warn) >> "$W/$name.log" 2>&1 ||
            { cat "$W/$name.log"; fail "$name: crawl of example$k.yaml failed"; }
    done
}

# same NAME: W/NAME/out is identical to the checkout build's W/ref/out
same() {
    $PY "$ROOT/tests/integration/compare_outputs.py" "$W/ref/out" "$W/$1/out" ||
        fail "$1: outputs differ from the checkout build's (above)"
    echo "   $1: $(ls "$W/$1/out" | grep -c .) outputs identical to the checkout build's"
}

# job_script NAME SCRIPT: SCRIPT (a crawl.sbatch) as a plain bash script, no SLURM,
# 2 ranks under mpirun, PATH without the checkout
job_script() {
    crawl "$1" "$2" "$3" env PATH="${4:-/usr/bin:/bin}" DCMCRAWL_NP=2 \
        DCMCRAWL_MPIRUN_ARGS="--allow-run-as-root --oversubscribe" bash
}

# the binary a job script's log says it ran
job_binary() {
    sed -n 's/.*node(s); mpirun -np 2 --allow-run-as-root --oversubscribe \([^ ]*\) .*/\1/p' \
        "$W/$1.log" | sort -u
}

# the package build takes longest (a clean build): it runs while parts 1 and 2 run
PKG_SKIP=
if [ "$(id -u)" != 0 ]; then
    PKG_SKIP="installing it needs root"
elif [ "$(dpkg-query -W -f='${db:Status-Status}' dcmcrawl 2> /dev/null)" = installed ]; then
    PKG_SKIP="a dcmcrawl package is installed already; not replacing it"
else
    DEB_T0=$SECONDS
    DEB_BUILD_OPTIONS="nocheck" setsid make -s -C "$ROOT" BUILD="$BUILD" deb > "$W/deb.log" 2>&1 &
    DEB_PID=$!
fi

step "reference: the checkout's $BUILD/dcmcrawl on the sample"
crawl ref "$BIN" "$ROOT/configs"

# ---------------------------------------------------------------- 1. DESTDIR install
step "make install DESTDIR=W/dest PREFIX=/opt/cluster-sw"
DEST=$W/dest
PREFIX=/opt/cluster-sw
INST=$DEST$PREFIX
git_before=$(git -C "$ROOT" status --porcelain 2> /dev/null)
make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$DEST" PREFIX="$PREFIX" > "$W/install.log" 2>&1 ||
    { cat "$W/install.log"; fail "make install"; }
[ "$(git -C "$ROOT" status --porcelain 2> /dev/null)" = "$git_before" ] ||
    fail "make install changed the checkout (git status differs)"
want=$(cd "$ROOT" && {
    echo "bin/dcmcrawl"
    echo "share/man/man1/dcmcrawl.1"
    for f in jobs/crawl.sbatch jobs/crawl_array.sbatch jobs/lib_crawl.sh jobs/README.md configs/*.yaml; do
        echo "share/dcmcrawl/$f"
    done
    echo "share/dcmcrawl/modulefiles/dcmcrawl/$VERSION.lua"
    echo "share/doc/dcmcrawl/README.md"
} | sed "s|^|.$PREFIX/|" | sort)
got=$(cd "$DEST" && find . ! -type d | sort)
[ "$got" = "$want" ] || fail "installed files differ from the expected list:
$(diff <(echo "$want") <(echo "$got"))"
cmp -s "$BIN" "$INST/bin/dcmcrawl" || fail "installed binary differs from $BIN"
for f in jobs/crawl.sbatch jobs/crawl_array.sbatch jobs/lib_crawl.sh configs/example1.yaml; do
    cmp -s "$ROOT/$f" "$INST/share/dcmcrawl/$f" || fail "installed $f differs from the checkout's"
done
[ -x "$INST/share/dcmcrawl/jobs/crawl.sbatch" ] && [ ! -x "$INST/share/dcmcrawl/jobs/lib_crawl.sh" ] ||
    fail "job script modes: crawl.sbatch must be executable, lib_crawl.sh not"
grep -q "^\.I $PREFIX/share/dcmcrawl/jobs/" "$INST/share/man/man1/dcmcrawl.1" &&
    ! grep -q "PREFIX/" "$INST/share/man/man1/dcmcrawl.1" ||
    fail "the installed man page does not name $PREFIX in FILES"
echo "   $(echo "$got" | wc -l) files, all under DESTDIR+PREFIX; checkout unchanged"

step "the installed binary and configs on the sample"
crawl inst "$INST/bin/dcmcrawl" "$INST/share/dcmcrawl/configs"
same inst

step "the installed jobs/crawl.sbatch without SLURM"
job_script job "$INST/share/dcmcrawl/jobs/crawl.sbatch" "$INST/share/dcmcrawl/configs"
[ "$(job_binary job)" = "$INST/bin/dcmcrawl" ] ||
    fail "the installed crawl.sbatch ran '$(job_binary job)', not $INST/bin/dcmcrawl"
grep -q "done: the crawl is complete" "$W/job.log" || fail "no 'done' line in the job log"
same job

step "job scripts elsewhere find dcmcrawl on PATH; the checkout's find build/"
mkdir -p "$W/copied"
cp "$INST/share/dcmcrawl/jobs/crawl.sbatch" "$INST/share/dcmcrawl/jobs/lib_crawl.sh" "$W/copied/"
job_script onpath "$W/copied/crawl.sbatch" "$INST/share/dcmcrawl/configs" "$INST/bin:/usr/bin:/bin"
[ "$(job_binary onpath)" = "$INST/bin/dcmcrawl" ] ||
    fail "a copied crawl.sbatch ran '$(job_binary onpath)', not dcmcrawl on PATH ($INST/bin)"
same onpath
if [ -x "$ROOT/build/dcmcrawl" ]; then
    (cd "$W/ref" && env PATH="$INST/bin:/usr/bin:/bin" DCMCRAWL_NP=1 bash "$ROOT/jobs/crawl.sbatch" \
        "$ROOT/configs/example1.yaml" --dry-run) > "$W/checkout_job.log" 2>&1 ||
        { cat "$W/checkout_job.log"; fail "the checkout's crawl.sbatch --dry-run"; }
    grep -q "mpirun -np 1 $ROOT/jobs/../build/dcmcrawl " "$W/checkout_job.log" ||
        { cat "$W/checkout_job.log"; fail "the checkout's crawl.sbatch did not run its build/dcmcrawl"; }
    echo "   the checkout's jobs/crawl.sbatch ran $ROOT/jobs/../build/dcmcrawl (PATH had the install)"
fi

step "make uninstall"
make -s -C "$ROOT" BUILD="$BUILD" uninstall DESTDIR="$DEST" PREFIX="$PREFIX" > "$W/uninstall.log" 2>&1 ||
    { cat "$W/uninstall.log"; fail "make uninstall"; }
left=$(cd "$DEST" && find . ! -type d; find . -name '*dcmcrawl*')
[ -z "$left" ] || fail "left after make uninstall: $left"
echo "   no file and no dcmcrawl folder left in DESTDIR"

# ---------------------------------------------------------------- 2. Lmod module
step "make install PREFIX=W/prefix; module load dcmcrawl (Lmod)"
LMOD_INIT=/usr/share/lmod/lmod/init/bash
[ -r "$LMOD_INIT" ] || fail "no Lmod ($LMOD_INIT): apt-get install lmod (tools/deps.sh TEST_PKGS)"
make -s -C "$ROOT" BUILD="$BUILD" install PREFIX="$W/prefix" > "$W/install2.log" 2>&1 ||
    { cat "$W/install2.log"; fail "make install PREFIX=$W/prefix"; }
# a clean login-like environment (the sanitizer settings of `make asan` kept)
env -i HOME="$W" PATH=/usr/bin:/bin TERM=dumb OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    ${ASAN_OPTIONS:+ASAN_OPTIONS=$ASAN_OPTIONS} ${LSAN_OPTIONS:+LSAN_OPTIONS=$LSAN_OPTIONS} \
    ${UBSAN_OPTIONS:+UBSAN_OPTIONS=$UBSAN_OPTIONS} \
    ${OMPI_MCA_mca_base_component_disable_dlclose:+OMPI_MCA_mca_base_component_disable_dlclose=1} \
    bash -c ". $LMOD_INIT && module use $W/prefix/share/dcmcrawl/modulefiles && module load dcmcrawl &&
             echo \"which=\$(command -v dcmcrawl)\" && echo \"home=\$DCMCRAWL_HOME\" &&
             echo \"man=\$(man -w dcmcrawl)\" && echo \"sysman=\$(man -w ls)\" &&
             echo \"loaded=\$(module -t list 2>&1 | tr '\n' ' ')\" && dcmcrawl --version" \
    > "$W/module.log" 2>&1 || { cat "$W/module.log"; fail "module use/load/dcmcrawl --version"; }
cat "$W/module.log" | sed 's/^/   /'
grep -qx "which=$W/prefix/bin/dcmcrawl" "$W/module.log" || fail "module load: dcmcrawl not the module's"
grep -qx "home=$W/prefix/share/dcmcrawl" "$W/module.log" || fail "module load: DCMCRAWL_HOME"
grep -qx "man=$W/prefix/share/man/man1/dcmcrawl.1" "$W/module.log" || fail "module load: man -w dcmcrawl"
grep -q "^sysman=/usr/share/man/man1/ls.1" "$W/module.log" || fail "module load hid the system's man pages"
grep -q "^loaded=.*dcmcrawl/$VERSION" "$W/module.log" || fail "module list does not show dcmcrawl/$VERSION"

# upstream version of the Debian package owning the library (soname) the binary loads
lib_version() {
    local path pkg v
    path=$(ldd "$BIN" | awk -v so="$1" '$1 == so {print $3; exit}')
    [ -n "$path" ] || { echo "?"; return; }
    path=$(readlink -f "$path")
    pkg=$(dpkg -S "$path" 2> /dev/null || dpkg -S "${path#/usr}" 2> /dev/null)
    v=$(dpkg-query -W -f='${Version}' "${pkg%%: *}" 2> /dev/null)
    v=${v#*:}
    [[ $v =~ ^[0-9]+(\.[0-9]+)* ]] && echo "${BASH_REMATCH[0]}" || echo "?"
}
grep -qx "dcmcrawl $VERSION" "$W/module.log" || fail "--version: no line 'dcmcrawl $VERSION'"
for want in "Open MPI v$(lib_version libmpi.so.40)," "HDF5 $(lib_version libhdf5_openmpi.so.103) (parallel)" \
    "dcmtk $(lib_version libdcmdata.so.17) " "OpenJPEG $(lib_version libopenjp2.so.7)" \
    "libyaml $(lib_version libyaml-0.so.2)" "zlib $(lib_version libz.so.1)"; do
    [[ $want != *"?"* ]] || fail "could not find the Debian package of a library for '$want'"
    grep -q "^$want" "$W/module.log" || fail "--version has no line starting '$want' (dpkg's version)"
done
echo "   --version names the libraries at the versions dpkg has installed"

# ---------------------------------------------------------------- 3. Debian package
step "make deb; apt-get install; the sample crawl with /usr/bin/dcmcrawl; purge"
if [ -n "$PKG_SKIP" ]; then
    echo "   SKIP the package: $PKG_SKIP"
    echo "test_install: PASS (without the package)"
    exit 0
fi
# Build-Depends are the -dev packages and compilers `make deps` installs to build
$PY - "$ROOT" << 'PY' || fail "debian/control's Build-Depends and tools/deps.sh disagree (above)"
import re, sys
root = sys.argv[1]
deps = open(root + "/tools/deps.sh").read()
build_pkgs = set(re.search(r"BUILD_PKGS=\(([^)]*)\)", deps).group(1).split())
control = open(root + "/debian/control").read()
field = re.search(r"^Build-Depends:(.*?)^\S", control, re.S | re.M).group(1)
bdeps = {re.split(r"[\s(<]", d.strip())[0] for d in field.split(",") if d.strip()}
bdeps.discard("debhelper-compat")
extra = bdeps - build_pkgs
missing = {p for p in build_pkgs if p.endswith("-dev")} - bdeps
if extra or missing:
    sys.exit("Build-Depends not in BUILD_PKGS: %s; -dev packages of BUILD_PKGS not in "
             "Build-Depends: %s" % (sorted(extra), sorted(missing)))
print("   Build-Depends (%d) = the -dev packages and mpicc of BUILD_PKGS" % len(bdeps))
PY
wait "$DEB_PID" || { cat "$W/deb.log"; fail "make deb (lintian or the build)"; }
DEB_PID=
grep -q "lintian: no errors or warnings" "$W/deb.log" || { cat "$W/deb.log"; fail "make deb: lintian"; }
DEB=$(ls "$ROOT/$BUILD"/deb/dcmcrawl_"$VERSION"_*.deb)
echo "   built $(basename "$DEB") (in the background, $((SECONDS - DEB_T0)) s), lintian clean"
OURS=1
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
    "$DEB" > "$W/apt.log" 2>&1 || { cat "$W/apt.log"; fail "apt-get install $DEB"; }
[ "$(dpkg-query -W -f='${Version}' dcmcrawl)" = "$VERSION" ] || fail "dpkg does not list dcmcrawl $VERSION"
[ "$(/usr/bin/dcmcrawl --version | head -n 1)" = "dcmcrawl $VERSION" ] || fail "/usr/bin/dcmcrawl --version"
[ "$(env -u MANPATH man -w dcmcrawl)" = /usr/share/man/man1/dcmcrawl.1.gz ] || fail "man -w dcmcrawl"
crawl pkg /usr/bin/dcmcrawl /usr/share/dcmcrawl/configs
same pkg
job_script pkgjob /usr/share/dcmcrawl/jobs/crawl.sbatch /usr/share/dcmcrawl/configs
[ "$(job_binary pkgjob)" = /usr/bin/dcmcrawl ] || fail "the packaged crawl.sbatch ran '$(job_binary pkgjob)'"
same pkgjob
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 purge -y -q dcmcrawl > "$W/purge.log" 2>&1 ||
    { cat "$W/purge.log"; fail "apt-get purge dcmcrawl"; }
OURS=0
case "$(dpkg-query -W -f='${db:Status-Status}' dcmcrawl 2> /dev/null)" in
    "" | not-installed) ;;
    *) fail "dpkg still lists dcmcrawl after the purge" ;;
esac
[ ! -e /usr/bin/dcmcrawl ] && [ ! -e /usr/share/dcmcrawl ] || fail "purge left dcmcrawl behind"
echo "   installed, crawled (binary and job script), purged: nothing of it left"
echo "test_install: PASS ($SECONDS s)"
