# lib_test.sh - shared start of the shell integration tests that crawl the synthetic
# corpus (sourced, not run; not a test itself: the runner picks up test_* only).
#
#   NAME=test_x; source "$HERE/lib_test.sh" "$@"
#
# Sets PY, TESTS, BIN (absolute), KEEP, WORK (a temp folder, removed at exit unless
# --keep or a failure), FAILED=0 and fail() ("NAME: FAIL: ..."; sets FAILED=1).
# test_corpus makes WORK/corpus (tests/gen/make_series.py) and WORK/pydicom/test_files
# (pydicom's test files, when installed) and sets CORPUS_FOLDERS (their folders as a
# YAML list body: "corpus/a", "corpus/b", ..., "pydicom/test_files"; SRC_FOLDERS the
# corpus folder names).
PY=/usr/bin/python3
TESTS=$(dirname "$HERE")
BIN=${1:-}
KEEP=${2:-}
if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    echo "$NAME: FAIL: binary '${BIN}' not found or not executable (build it first)"
    exit 1
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dcmcrawl_${NAME}_XXXXXX")
FAILED=0
lib_cleanup() { if [ "$KEEP" != "--keep" ] && [ "$FAILED" = 0 ]; then rm -rf "$WORK"; fi; }
trap lib_cleanup EXIT
fail() { echo "$NAME: FAIL: $*"; FAILED=1; }

test_corpus() {
    if ! $PY "$TESTS/gen/make_series.py" "$WORK/corpus" --quiet; then
        fail "corpus generation failed"
        exit 1
    fi
    mapfile -t SRC_FOLDERS < <($PY -c "import json,sys; print('\n'.join(json.load(open(sys.argv[1]))['folders']))" "$WORK/corpus/manifest.json")
    CORPUS_FOLDERS=$($PY -c "import json,sys; m=json.load(open(sys.argv[1])); print(', '.join('\"corpus/%s\"' % f for f in m['folders']))" "$WORK/corpus/manifest.json")
    local pyd=/usr/lib/python3/dist-packages/pydicom/data/test_files
    if [ -d "$pyd" ]; then
        mkdir -p "$WORK/pydicom/test_files"
        find "$pyd" -maxdepth 1 -type f -exec cp {} "$WORK/pydicom/test_files/" \;
        CORPUS_FOLDERS="$CORPUS_FOLDERS, \"pydicom/test_files\""
    fi
}
