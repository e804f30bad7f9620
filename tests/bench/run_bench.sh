#!/bin/bash
# run_bench.sh BUILD - what `make bench` runs: builds the two small C tools of
# the benchmark into BUILD/bench/ and runs tests/bench/bench.py (see its header
# for what is measured and the BENCH_* settings).
#
#   make bench                                  # BUILD=build
#   BENCH_REPEAT=3 BENCH_ONLY="volumes" make BUILD=build-perf bench
#
# Needs: mpirun, dcm2niix, dcmcjpeg (the lossless JPEG corpus), /usr/bin/time,
# /usr/bin/python3 with pydicom and numpy.  Corpora are cached in BENCH_DIR
# (default /tmp/dcmcrawl-bench; about 5 GB with the default sizes).
set -eu
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
MPICC=${MPICC:-mpicc}
mkdir -p "$BUILD/bench"
cc -O2 -Wall -Wextra -o "$BUILD/bench/openread" tests/bench/openread.c
cc -O2 -Wall -Wextra -o "$BUILD/bench/cfrcopy" tests/bench/cfrcopy.c
cc -O2 -Wall -Wextra -o "$BUILD/bench/stamp" tests/bench/stamp.c
cc -O2 -Wall -Wextra -shared -fPIC -o "$BUILD/bench/opencount.so" tests/bench/opencount.c -ldl
$MPICC -O2 -Wall -Wextra -std=c11 -D_GNU_SOURCE -Iinclude -I/usr/include/hdf5/openmpi \
    -o "$BUILD/bench/h5create" tests/bench/h5create.c "$BUILD/libdcmcrawl.a" \
    -L/usr/lib/x86_64-linux-gnu/hdf5/openmpi -Wl,-rpath,/usr/lib/x86_64-linux-gnu/hdf5/openmpi \
    -lhdf5 -lyaml -lopenjp2 -ldcmjpls -ldcmtkcharls -ldcmjpeg -lijg8 -lijg12 -lijg16 -ldcmimgle \
    -ldcmdata -loflog -lofstd -lcrypto -lz -lstdc++ -lm
$MPICC -O2 -Wall -Wextra -std=c11 -D_GNU_SOURCE -Iinclude -o "$BUILD/bench/doneset_rss" \
    tests/bench/doneset_rss.c "$BUILD/libdcmcrawl.a" -lm
for tool in mpirun dcm2niix dcmcjpeg /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "run_bench: $tool not found (make deps)"; exit 1; }
done
# the archive-scale case (SPEC 10): BENCH_ONLY=archive runs it alone
if [[ " ${BENCH_ONLY:-volumes jpeg metadata memory archive} " == *" archive "* ]]; then
    /usr/bin/python3 tests/bench/bench_archive.py "$BUILD"
fi
ONLY_REST=$(echo " ${BENCH_ONLY:-volumes jpeg metadata memory} " | sed 's/ archive / /')
if [ -n "${ONLY_REST// /}" ]; then
    BENCH_ONLY="$ONLY_REST" exec /usr/bin/python3 tests/bench/bench.py "$BUILD"
fi
