#!/bin/bash
# test_names_table.sh BINARY - the committed pydicom name tables
# (src/header/dc_names_table.c) are exactly what tools/gen_names.py makes from the
# pydicom installed here (python3-pydicom), so csv_style seed names cannot
# drift from the pydicom the tests use as their oracle.  The binary is unused.
set -eu
cd "$(dirname "$0")/../.."
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
/usr/bin/python3 tools/gen_names.py > "$tmp"
if ! cmp -s "$tmp" src/header/dc_names_table.c; then
    echo "test_names_table: FAIL: src/header/dc_names_table.c differs from tools/gen_names.py's output:"
    diff "$tmp" src/header/dc_names_table.c | head -20
    exit 1
fi
echo "test_names_table: PASS ($(sed -n 3p src/header/dc_names_table.c | sed 's/^ \* //'))"
