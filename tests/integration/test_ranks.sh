#!/bin/bash
# test_ranks.sh BINARY - the same crawl at -np 1, 2, 3, 4 gives identical outputs (SPEC 4:
# "1 rank and 64 ranks give byte-identical CSVs and identical datasets and attributes").
#
#   bash tests/integration/test_ranks.sh build/dcmcrawl [--keep]
#
# Generates the synthetic corpus (tests/gen/make_series.py) plus pydicom's test files,
# crawls it in two modes (volumes with pixel data; one scan per file with pixel data),
# each with a small commit_every so that several checkpoints and batches are spread over
# the ranks, at 1, 2, 3 and 4 ranks (--oversubscribe: the machine may have fewer cores),
# always from the same folder with the same config, and compares every output with the
# 1-rank one using compare_outputs.py (byte-identical CSVs; same HDF5 datasets, dtypes,
# shapes, values and attributes).  Exit status 0 when all are identical.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TESTS=$(dirname "$HERE")
PY=/usr/bin/python3
BIN=${1:-}
KEEP=${2:-}
NPS=${DCMCRAWL_RANKS:-"1 2 3 4"}

if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "test_ranks: FAIL: binary '${BIN}' not found or not executable (build it first)"
    exit 1
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if ! command -v mpirun >/dev/null 2>&1; then
    echo "test_ranks: FAIL: mpirun not found"
    exit 1
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/dcmcrawl_ranks_XXXXXX")
cleanup() { if [ "$KEEP" != "--keep" ] && [ "${FAILED:-0}" = 0 ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

if ! $PY "$TESTS/gen/make_series.py" "$WORK/corpus" --quiet; then
    echo "test_ranks: FAIL: corpus generation failed"
    FAILED=1
    exit 1
fi
FOLDERS=$($PY -c "import json,sys; m=json.load(open(sys.argv[1])); print(', '.join('\"corpus/%s\"' % f for f in m['folders']))" "$WORK/corpus/manifest.json")
PYD=/usr/lib/python3/dist-packages/pydicom/data/test_files
if [ -d "$PYD" ]; then
    mkdir -p "$WORK/pydicom/test_files"
    find "$PYD" -maxdepth 1 -type f -exec cp {} "$WORK/pydicom/test_files/" \;
    FOLDERS="$FOLDERS, \"pydicom/test_files\""
fi

write_config() { # mode file
    local volumes=$1
    cat > "$2" <<EOF
input:
  folders: [$FOLDERS]
  recursive: false
output:
  folder: out
  id: ranks
  write_pixeldata: true
  volumes: $volumes
  layout: zyx
  compression: none
run:
  commit_every: 3
  progress: never
  log_level: warn
EOF
}

FAILED=0
declare -a SUMMARY
for mode in volumes perfile; do
    if [ $mode = volumes ]; then write_config true "$WORK/config.yaml"; else write_config false "$WORK/config.yaml"; fi
    for n in $NPS; do
        rm -rf "$WORK/out"
        start=$(date +%s)
        (cd "$WORK" && timeout 900 mpirun --allow-run-as-root --oversubscribe -np "$n" "$BIN" config.yaml) \
            > "$WORK/log_${mode}_np$n.txt" 2>&1
        rc=$?
        secs=$(( $(date +%s) - start ))
        if [ $rc -ne 0 ]; then
            echo "test_ranks: FAIL: $mode at -np $n exited with $rc (log: $WORK/log_${mode}_np$n.txt)"
            tail -n 15 "$WORK/log_${mode}_np$n.txt" | sed 's/^/    /'
            SUMMARY+=("$mode np=$n: exit $rc")
            FAILED=1
            continue
        fi
        rm -rf "$WORK/out_${mode}_np$n"
        mv "$WORK/out" "$WORK/out_${mode}_np$n"
        if [ "$n" != "$(echo $NPS | cut -d' ' -f1)" ]; then
            ref="$WORK/out_${mode}_np$(echo $NPS | cut -d' ' -f1)"
            if [ -d "$ref" ]; then
                if $PY "$HERE/compare_outputs.py" -q "$ref" "$WORK/out_${mode}_np$n"; then
                    SUMMARY+=("$mode np=$n: identical to np=$(echo $NPS | cut -d' ' -f1) (${secs}s)")
                else
                    SUMMARY+=("$mode np=$n: DIFFERS from np=$(echo $NPS | cut -d' ' -f1)")
                    FAILED=1
                fi
            fi
        else
            SUMMARY+=("$mode np=$n: reference (${secs}s)")
        fi
    done
done

for s in "${SUMMARY[@]}"; do echo "  $s"; done
if [ $FAILED -ne 0 ]; then
    echo "test_ranks: FAIL (work dir kept: $WORK)"
    exit 1
fi
echo "test_ranks: PASS"
exit 0
