#!/bin/bash
# run_tests.sh BUILD - every test of dcmcrawl against the binaries in BUILD (what `make test` runs).
#
#   bash tests/run_tests.sh build            # after: make BUILD=build all unit
#   DCMCRAWL_ASAN=1 bash tests/run_tests.sh build-asan     # what `make asan` runs
#
# In order:
#   unit              tests/run_unit.sh BUILD (every BUILD/unit/test_*)
#   parser            tests/integration/test_parser_vs_pydicom.py BUILD/tools/dcdump   } when the
#   rows              tests/integration/test_rows_vs_pydicom.py   BUILD/tools/dcrow    } test file
#   decode            tests/integration/test_decode_vs_pydicom.py BUILD/tools/dcdecode } exists
#   other             any other tests/integration/test_*.py|.sh, given BUILD/dcmcrawl
#                     (test_faults.py: hostile input, permissions, full disk, bad configs)
#   fuzz              tests/fuzz/run_fuzz.sh: 30 s of the libFuzzer target (clang build in
#                     BUILD/fuzzer, fixed seed; FUZZ_SECONDS changes the time)
#   crawl             tests/integration/test_crawl.py BUILD/dcmcrawl (end to end vs the oracle)
#   ranks             tests/integration/test_ranks.sh BUILD/dcmcrawl (-np 1..4 identical)
#   slurm             tests/slurm/test_slurm.sh BUILD/dcmcrawl (a real one-node SLURM, as root)
#
# Output of each test goes to the terminal and to BUILD/test-logs/<name>.log.  Prints a
# summary with PASS/FAIL per test and exits non-zero on any failure.  DCMCRAWL_ASAN=1 sets
# ASAN_OPTIONS (leak detection with tests/lsan.supp for Open MPI's own
# allocations, full unwinding, MPI plugins kept loaded so they symbolize) and
# UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1.  DCMCRAWL_TESTS="unit crawl" runs a subset.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PY=/usr/bin/python3
LOGS="$BUILD/test-logs"
mkdir -p "$LOGS"
if [ "${DCMCRAWL_ASAN:-0}" = 1 ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
    export OMPI_MCA_mca_base_component_disable_dlclose=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    echo "run_tests: sanitizer build: ASAN_OPTIONS=$ASAN_OPTIONS UBSAN_OPTIONS=$UBSAN_OPTIONS"
fi
export PYTHONDONTWRITEBYTECODE=1
ONLY=${DCMCRAWL_TESTS:-}
T0=$(date +%s)

declare -a NAMES RESULTS TIMES
FAILED=0

wanted() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }

run() { # name command...
    local name=$1; shift
    wanted "$name" || return 0
    echo
    echo "=== $name: $*"
    local start rc
    start=$(date +%s)
    "$@" 2>&1 | tee "$LOGS/$name.log"
    rc=${PIPESTATUS[0]}
    NAMES+=("$name")
    TIMES+=("$(( $(date +%s) - start ))s")
    if [ "$rc" -eq 0 ]; then
        RESULTS+=("PASS")
    else
        RESULTS+=("FAIL (exit $rc)")
        FAILED=1
    fi
}

skip() { # name why
    wanted "$1" || return 0
    NAMES+=("$1"); RESULTS+=("SKIP: $2"); TIMES+=("-")
}

run unit bash tests/run_unit.sh "$BUILD"

declare -A TOOL=([test_parser_vs_pydicom.py]=dcdump [test_rows_vs_pydicom.py]=dcrow
                 [test_decode_vs_pydicom.py]=dcdecode)
declare -A SHORT=([test_parser_vs_pydicom.py]=parser [test_rows_vs_pydicom.py]=rows
                  [test_decode_vs_pydicom.py]=decode)
for f in test_parser_vs_pydicom.py test_rows_vs_pydicom.py test_decode_vs_pydicom.py; do
    if [ -f "tests/integration/$f" ]; then
        run "${SHORT[$f]}" timeout 1200 $PY "tests/integration/$f" "$BUILD/tools/${TOOL[$f]}"
    fi
done

shopt -s nullglob
for f in tests/integration/test_*.py tests/integration/test_*.sh; do
    b=$(basename "$f")
    case "$b" in
        test_parser_vs_pydicom.py|test_rows_vs_pydicom.py|test_decode_vs_pydicom.py) continue ;;
        test_crawl.py|test_ranks.sh) continue ;;
    esac
    n=${b%.*}; n=${n#test_}
    case "$b" in
        *.py) run "$n" timeout 1200 $PY "$f" "$BUILD/dcmcrawl" ;;
        *.sh) run "$n" timeout 1200 bash "$f" "$BUILD/dcmcrawl" ;;
    esac
done

run fuzz env FUZZ_BUILD="$BUILD/fuzzer" FUZZ_SEED=1 timeout 600 bash tests/fuzz/run_fuzz.sh "${FUZZ_SECONDS:-30}"
run crawl timeout 1500 $PY tests/integration/test_crawl.py "$BUILD/dcmcrawl"
run ranks timeout 1500 bash tests/integration/test_ranks.sh "$BUILD/dcmcrawl"
# a real one-node SLURM (installs slurm-wlm and munge when missing; root only)
if [ "$(id -u)" = 0 ]; then
    run slurm timeout 900 bash tests/slurm/test_slurm.sh "$BUILD/dcmcrawl"
else
    skip slurm "needs root to start munged/slurmctld/slurmd"
fi

echo
echo "=== summary ($BUILD, $(( $(date +%s) - T0 ))s)"
for i in "${!NAMES[@]}"; do
    printf '  %-10s %-22s %s\n' "${NAMES[$i]}" "${RESULTS[$i]}" "${TIMES[$i]}"
done
if [ ${#NAMES[@]} -eq 0 ]; then
    echo "run_tests: no test selected"
    exit 1
fi
if [ $FAILED -ne 0 ]; then
    echo "run_tests: FAIL (logs in $LOGS)"
    exit 1
fi
echo "run_tests: PASS"
