#!/bin/bash
# run_fuzz.sh [SECONDS] - build the libFuzzer target and fuzz dcmcrawl's
# per-file path (tests/fuzz/fuzz_one.c) for SECONDS (default 60).  `make fuzz`
# runs it with FUZZ_SECONDS; tests/run_tests.sh runs a short bounded run.
#
#   bash tests/fuzz/run_fuzz.sh 1800           # half an hour, one core
#   FUZZ_BUILD=build-fuzzer FUZZ_JOBS=1 ...    # defaults (make fuzz: BUILD/fuzzer)
#   FUZZ_SEED=1 ...                            # fixed mutation seed (run_tests.sh)
#
# Seeds (made once into $FUZZ_BUILD/seeds): pydicom's test_files and
# charset_files, nibabel's Siemens CSA headers and mosaics, the generated codec corpus (tests/gen/make_codec_files.py:
# every transfer syntax) and series corpus (tests/gen/make_series.py), and the
# regression inputs of tests/fuzz/regressions/.  The corpus grows in
# $FUZZ_BUILD/corpus across runs.  Limits: inputs up to 256 KiB, 2 GiB RSS,
# no single allocation above 512 MiB (an allocation that size is a finding:
# nothing may allocate from an unchecked declared size), 20 s per input.
#
# On a crash libFuzzer writes $FUZZ_BUILD/artifacts/crash-<sha1>; the script
# exits non-zero and prints how to replay it.  To keep it as a regression:
# copy it to tests/fuzz/regressions/<short-name>.dcm (replayed by
# tests/unit/test_fuzz_regressions.c in every `make test`) and fix the bug.
# Prints the corpus size and coverage (libFuzzer's cov/ft counters) at the end.
set -u
cd "$(dirname "$0")/../.."
SECS=${1:-${FUZZ_SECONDS:-60}}
FB=${FUZZ_BUILD:-build-fuzzer}
JOBS=${FUZZ_JOBS:-1}
PY=/usr/bin/python3

if ! command -v clang-14 >/dev/null 2>&1 && ! command -v clang >/dev/null 2>&1; then
    echo "run_fuzz: FAIL: clang not found (make deps installs clang and libclang-rt-14-dev)"
    exit 1
fi
make -s -f tests/fuzz/fuzz.mk FUZZ_BUILD="$FB" -j2 || { echo "run_fuzz: FAIL: build"; exit 1; }

# ---- seeds, once
SEEDS="$FB/seeds"
if [ ! -f "$SEEDS/.done" ]; then
    rm -rf "$SEEDS" && mkdir -p "$SEEDS"
    data=$($PY -c 'import os, pydicom; print(os.path.join(os.path.dirname(pydicom.__file__), "data"))')
    tmp=$(mktemp -d)
    $PY tests/gen/make_codec_files.py "$tmp/codec" >/dev/null 2>&1 || echo "run_fuzz: note: make_codec_files.py failed"
    $PY tests/gen/make_series.py "$tmp/series" >/dev/null 2>&1 || echo "run_fuzz: note: make_series.py failed"
    # Siemens CSA header blobs and mosaics of nibabel's tests (python3-nibabel): the
    # target also reads every input as a CSA header
    nib=/usr/lib/python3/dist-packages/nibabel/nicom/tests/data
    [ -d "$nib" ] && mkdir -p "$tmp/nib" && cp "$nib"/*.bin "$nib"/*.dcm "$tmp/nib/" 2>/dev/null
    # every file up to 256 KiB, named by content (duplicates collapse)
    find "$data/test_files" "$data/charset_files" "$tmp" tests/data/sample -type f -size -257k 2>/dev/null |
        while IFS= read -r f; do
            cp "$f" "$SEEDS/$(sha1sum < "$f" | cut -c1-40)"
        done
    rm -rf "$tmp"
    touch "$SEEDS/.done"
fi
mkdir -p "$FB/corpus" "$FB/artifacts"

# ---- fuzz
LOG="$FB/fuzz-$(date +%Y%m%d-%H%M%S).log"
echo "run_fuzz: $SECS s, $JOBS job(s), corpus $FB/corpus, seeds $(ls "$SEEDS" | wc -l), log $LOG"
# own sanitizer options (not those of an ASan build of dcmcrawl that run_tests.sh exports)
export ASAN_OPTIONS=${FUZZ_ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:abort_on_error=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
args=(-max_total_time="$SECS" -max_len=262144 -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=20
      -dict=tests/fuzz/dicom.dict -artifact_prefix="$FB/artifacts/" -print_final_stats=1)
[ "$JOBS" -gt 1 ] && args+=(-fork="$JOBS" -ignore_crashes=0)
[ -n "${FUZZ_SEED:-}" ] && args+=(-seed="$FUZZ_SEED") # the same mutations every run (CI)
T0=$(date +%s)
"$FB/fuzz_dcmfile" "${args[@]}" "$FB/corpus" "$SEEDS" tests/fuzz/regressions > "$LOG" 2>&1
rc=$?
grep -E "^#[0-9]+ +(DONE|INITED)|cov:" "$LOG" | tail -n 2
grep -E "stat::|Done [0-9]+ runs" "$LOG" | tail -n 8
ncorp=$(ls "$FB/corpus" | wc -l)
echo "run_fuzz: corpus $ncorp inputs, $(du -sk "$FB/corpus" | cut -f1) KiB"
# one line per run in $FB/fuzz-history.tsv: start, seconds run, exit status,
# coverage (cov = edges, ft = features), corpus inputs, executions, log
last=$(grep -E "^#[0-9]+[[:space:]].*cov: " "$LOG" | tail -n 1)
secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$LOG" | tail -n 1)
[ -n "$secs" ] || secs=$(( $(date +%s) - T0 )) # a crash: wall clock
printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -r "$LOG" +%FT%T)" "${secs:-?}" "$rc" \
    "$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")" "$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")" \
    "$ncorp" "$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG")" "$LOG" >> "$FB/fuzz-history.tsv"
if [ $rc -ne 0 ]; then
    grep -E "ERROR|SUMMARY|invariant|runtime error|Test unit written" "$LOG" | head -n 20
    echo "run_fuzz: FAIL (exit $rc): replay with $FB/fuzz_dcmfile <artifact>; keep it in tests/fuzz/regressions/"
    exit 1
fi
echo "run_fuzz: PASS (no crash in $SECS s)"
