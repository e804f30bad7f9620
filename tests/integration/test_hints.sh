#!/bin/bash
# test_hints.sh BIN - output.mpi_io_hints reach MPI-IO (the layer reports them
# in effect on the CSV it opened), do not change the outputs, are recorded in
# the config attribute, and bad hints stop the run before anything is written.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/dcmcrawl}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
W=$(mktemp -d /tmp/dcmcrawl_hints_XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "test_hints: FAIL: $*"; exit 1; }
mpirun -np 2 "$BIN" configs/example3.yaml --set output.folder="$W/with" \
    --set 'output.mpi_io_hints={cb_nodes: 1, striping_factor: 2, cb_buffer_size: 1048576}' \
    --log-level debug > "$W/with.log" 2>&1 || fail "crawl with hints exited $?"
grep -q "MPI-IO hints in effect on $W/with/metadata_example3.csv: .*cb_nodes=1" "$W/with.log" ||
    fail "cb_nodes=1 not reported in effect on the metadata CSV"
grep -q "striping_factor=2" "$W/with.log" || fail "striping_factor not in effect"
mpirun -np 2 "$BIN" configs/example3.yaml --set output.folder="$W/without" --log-level warn \
    > "$W/without.log" 2>&1 || fail "crawl without hints"
/usr/bin/python3 tests/integration/compare_outputs.py "$W/with" "$W/without" --ignore-attr config ||
    fail "hints changed the outputs"
h5dump -a config "$W/with/pixel_data_example3.h5" | grep -q 'mpi_io_hints: {cb_nodes: \\"1\\"' ||
    h5dump -a config "$W/with/pixel_data_example3.h5" | grep -q 'mpi_io_hints: {cb_nodes: "1"' ||
    fail "hints not recorded in the config attribute"
for bad in 'output.mpi_io_hints=[a,b]' 'output.mpi_io_hints={bad key: 1}' \
           'output.mpi_io_hints={cb_nodes: [1,2]}' 'output.mpi_io_hints=4'; do
    set +e
    "$BIN" configs/example3.yaml --set output.folder="$W/bad" --set "$bad" > "$W/bad.log" 2>&1
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "$bad: exit $rc, expected 2"
    grep -q "output.mpi_io_hints" "$W/bad.log" || fail "$bad: message does not name the key"
    [ ! -e "$W/bad" ] || fail "$bad: something was written"
done
echo "test_hints: PASS"
