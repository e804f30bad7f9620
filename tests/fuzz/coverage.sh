#!/bin/bash
# coverage.sh - line and branch coverage of dcmcrawl's per-file path reached by
# the fuzz corpus (run_fuzz.sh builds it up in $FUZZ_BUILD/corpus).
#
#   bash tests/fuzz/coverage.sh          # FUZZ_BUILD=build-fuzzer by default
#
# Builds the fuzz target with clang's source-based coverage (no sanitizers),
# runs every input of the corpus, the seeds and tests/fuzz/regressions once,
# and prints llvm-cov's report for the sources of the per-file path.  The
# HTML report goes to $FUZZ_BUILD/coverage/index.html.
set -u
cd "$(dirname "$0")/../.."
FB=${FUZZ_BUILD:-build-fuzzer}
V=$(command -v llvm-cov-14 >/dev/null 2>&1 && echo -14 || echo "")
make -s -f tests/fuzz/fuzz.mk FUZZ_BUILD="$FB" -j2 coverage || { echo "coverage: FAIL: build"; exit 1; }
rm -rf "$FB/profraw" && mkdir -p "$FB/profraw"
dirs=()
for d in "$FB/corpus" "$FB/seeds" tests/fuzz/regressions; do [ -d "$d" ] && dirs+=("$d"); done
LLVM_PROFILE_FILE="$FB/profraw/%p.profraw" ASAN_OPTIONS=detect_leaks=0 \
    "$FB/fuzz_dcmfile_cov" -runs=0 "${dirs[@]}" > "$FB/coverage.log" 2>&1
llvm-profdata$V merge -sparse "$FB"/profraw/*.profraw -o "$FB/coverage.profdata" || exit 1
srcs=(src/header/dicom.c src/header/charset.c src/header/flatten.c src/header/record.c src/output/csv.c src/pixels/decode.c src/pixels/codec_*.c
      src/pixels/dcmtk_wrap.cpp src/core/util.c)
llvm-cov$V report "$FB/fuzz_dcmfile_cov" -instr-profile="$FB/coverage.profdata" "${srcs[@]}"
llvm-cov$V show "$FB/fuzz_dcmfile_cov" -instr-profile="$FB/coverage.profdata" -format=html \
    -output-dir="$FB/coverage" "${srcs[@]}" > /dev/null
echo "coverage: $(grep -c . <(ls "$FB/corpus" 2>/dev/null)) corpus inputs; HTML in $FB/coverage/index.html"
