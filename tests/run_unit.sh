#!/bin/bash
# run_unit.sh BUILD - run every BUILD/unit/test_* (cmocka) and report.
#
#   bash tests/run_unit.sh build
#
# Each test binary runs on its own (no MPI); its output is kept in
# BUILD/unit/<name>.log.  Prints one line per test binary and a summary; exits
# non-zero if any test binary fails or none is found.  With DCMCRAWL_ASAN=1 the
# sanitizer options of run_tests.sh apply.
set -u
BUILD=${1:-build}
if [ "${DCMCRAWL_ASAN:-0}" = 1 ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0}
    export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
    export OMPI_MCA_mca_base_component_disable_dlclose=1
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
shopt -s nullglob
tests=()
for t in "$BUILD"/unit/test_*; do
    case "$t" in *.log|*.d|*.o) continue ;; esac
    [ -x "$t" ] && [ -f "$t" ] && tests+=("$t")
done
if [ ${#tests[@]} -eq 0 ]; then
    echo "run_unit: FAIL: no unit test binaries in $BUILD/unit (build them: make BUILD=$BUILD unit)"
    exit 1
fi
pass=0
fail=0
failed=()
for t in "${tests[@]}"; do
    name=$(basename "$t")
    start=$(date +%s)
    timeout 300 "$t" > "$t.log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        printf '  PASS  %-28s (%ss)\n' "$name" "$secs"
    else
        fail=$((fail + 1))
        failed+=("$name")
        printf '  FAIL  %-28s exit %s (log: %s)\n' "$name" "$rc" "$t.log"
        grep -E '\[  (FAILED|ERROR) \]|FAIL|error|ERROR|Assertion|runtime error|AddressSanitizer' "$t.log" \
            | head -n 20 | sed 's/^/          /'
    fi
done
echo "run_unit: $pass passed, $fail failed${failed:+: ${failed[*]}}"
[ $fail -eq 0 ]
