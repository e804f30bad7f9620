#!/bin/bash
# test_windows.sh BINARY - the streaming crawl (SPEC 10): the same corpus crawled with
# windows of 1 file, 7 files and "everything" at 1 and 3 ranks gives identical outputs
# (byte-identical CSVs, identical HDF5 datasets and attributes; the file attribute
# `config` differs by run.window_files and is not compared), and the input folders
# whose tree (the folder and its subfolders) spans several windows get their
# "no DICOM files in folder" row exactly when no DICOM file is anywhere in the tree.
#
#   bash tests/integration/test_windows.sh build/dcmcrawl [--keep]
#
# The tree (recursive: true): tree/a (no files itself; subfolders with the synthetic
# series), tree/b (only non-DICOM files, in two subfolders), tree/c (a text file in one
# subfolder, a DICOM file in a later one), tree/e (empty), pydicom's test files.  With a
# window of 1 file every folder with files is a window of its own, so the trees of
# tree/b and tree/c span windows.  The trace (DCMCRAWL_TRACE) counts the windows.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
NAME=test_windows
source "$HERE/lib_test.sh" "$@"
test_corpus
SRC=("${SRC_FOLDERS[@]}")
T=$WORK/tree
mkdir -p "$T/a" "$T/b/x" "$T/b/y/z" "$T/c/1" "$T/c/2" "$T/e"
cp -r "$WORK/corpus/${SRC[0]}" "$T/a/f1"
mkdir -p "$T/a/f2"
cp -r "$WORK/corpus/${SRC[1]}" "$T/a/f2/deep"
[ ${#SRC[@]} -gt 2 ] && cp -r "$WORK/corpus/${SRC[2]}" "$T/a/f3"
echo "not a DICOM file" > "$T/b/x/readme.txt"
head -c 4096 /dev/zero > "$T/b/y/z/junk.bin"
echo "notes" > "$T/c/1/notes.txt"
first_dcm=$(find "$T/a/f1" -type f | sort | head -1)
cp "$first_dcm" "$T/c/2/only.dcm"
FOLDERS='"tree/a", "tree/b", "tree/c", "tree/e"'
[ -d "$WORK/pydicom/test_files" ] && FOLDERS="$FOLDERS, \"pydicom/test_files\""

write_config() { # volumes window file
    cat > "$3" <<CFG
input:
  folders: [$FOLDERS]
  recursive: true
output:
  folder: out
  id: win
  write_pixeldata: true
  volumes: $1
run:
  commit_every: 5
  window_files: $2
  progress: never
  log_level: warn
CFG
}

declare -a SUMMARY
for volumes in false true; do
    ref=""
    for window in 1000000 7 1; do
        for np in 1 3; do
            tag="vol${volumes}_w${window}_np${np}"
            write_config "$volumes" "$window" "$WORK/$tag.yaml"
            rm -rf "$WORK/out" "$WORK/trace_$tag"
            (cd "$WORK" && DCMCRAWL_TRACE="$WORK/trace_$tag" timeout 600 mpirun --allow-run-as-root \
                --oversubscribe -np "$np" "$BIN" "$tag.yaml") > "$WORK/log_$tag.txt" 2>&1
            rc=$?
            if [ $rc -ne 0 ]; then
                fail "$tag exited with $rc (log $WORK/log_$tag.txt)"
                tail -n 10 "$WORK/log_$tag.txt" | sed 's/^/    /'
                continue
            fi
            windows=$(awk '$1 == 0 && $3 == "header"' "$WORK/trace_$tag" | wc -l)
            mv "$WORK/out" "$WORK/out_$tag"
            if [ -z "$ref" ]; then
                ref="$WORK/out_$tag"
                unr="$ref/unreadable_files_win.csv"
                for want in tree_b tree_e; do
                    grep -q "^no DICOM files in folder,$want,0," "$unr" ||
                        fail "$tag: no 'no DICOM files in folder' row for $want in $unr"
                done
                for nope in tree_a tree_c; do
                    grep -q ",$nope,0," "$unr" && fail "$tag: $nope has DICOM files but got a folder row"
                done
                grep -q "^tree_c_2_" "$ref/metadata_win.csv" 2>/dev/null ||
                    grep -q "^tree_c_2" "$ref/metadata_win.csv" ||
                    fail "$tag: no metadata row for the DICOM file in tree/c/2"
                [ "$windows" -eq 1 ] || fail "$tag: $windows windows, expected 1"
                SUMMARY+=("$tag: reference ($windows window)")
                continue
            fi
            if [ "$window" = 1 ] && [ "$windows" -lt 8 ]; then
                fail "$tag: only $windows windows with window_files 1"
            fi
            if $PY "$HERE/compare_outputs.py" -q --ignore-attr config "$ref" "$WORK/out_$tag"; then
                SUMMARY+=("$tag: identical to the reference ($windows windows)")
            else
                SUMMARY+=("$tag: DIFFERS from the reference ($windows windows)")
                FAILED=1
            fi
        done
    done
done
# Checkpoints by time (run.commit_seconds): windows of 1 file (a folder each) cut the metadata crawl
# into batches; with commit_every 10000 the count never triggers.  commit_seconds 1000:
# one checkpoint, at the end.  commit_seconds 1 with every batch slowed past a second:
# a checkpoint after every batch.  The outputs are the same.  A checkpoint is counted by its
# done-set write (trace "doneset"); each window appends its rows ("rows": metadata-only runs
# write a window's rows when it ends, the checkpoint syncs them).
for secs in 1000 1; do
    tag="time_$secs"
    cat > "$WORK/$tag.yaml" <<CFG
input:
  folders: ["tree/a", "tree/c"]
  recursive: true
output:
  folder: out
  id: t
run:
  commit_every: 10000
  commit_seconds: $secs
  window_files: 1
  progress: never
  log_level: warn
CFG
    slow=""
    [ "$secs" = 1 ] && slow="batch:1100"
    rm -rf "$WORK/out" "$WORK/trace_$tag"
    (cd "$WORK" && DCMCRAWL_TRACE="$WORK/trace_$tag" DCMCRAWL_SLOW="$slow" timeout 600 mpirun \
        --allow-run-as-root --oversubscribe -np 2 "$BIN" "$tag.yaml") > "$WORK/log_$tag.txt" 2>&1 ||
        fail "$tag: exit $? (log $WORK/log_$tag.txt)"
    batches=$(awk '$1 == 0 && $3 == "batch"' "$WORK/trace_$tag" | wc -l)
    appends=$(awk '$1 == 0 && $3 == "rows"' "$WORK/trace_$tag" | wc -l)
    checkpoints=$(awk '$1 == 0 && $3 == "doneset"' "$WORK/trace_$tag" | wc -l)
    mv "$WORK/out" "$WORK/out_$tag"
    if [ "$secs" = 1000 ]; then
        [ "$batches" -ge 3 ] && [ "$checkpoints" -eq 1 ] && [ "$appends" -ge "$batches" ] ||
            fail "$tag: $batches batches, $checkpoints checkpoints, $appends CSV appends (want >= 3 batches, 1 checkpoint, an append per window)"
    else
        [ "$checkpoints" -ge "$batches" ] ||
            fail "$tag: $batches batches of > 1 s, only $checkpoints checkpoints (want one per batch)"
        $PY "$HERE/compare_outputs.py" -q --ignore-attr config "$WORK/out_time_1000" "$WORK/out_$tag" ||
            fail "$tag: outputs differ from commit_seconds 1000"
    fi
    SUMMARY+=("$tag: $batches batches, $checkpoints checkpoints, $appends CSV appends")
done

for s in "${SUMMARY[@]}"; do echo "  $s"; done
if [ "$FAILED" -ne 0 ]; then
    echo "test_windows: FAIL (work dir kept: $WORK)"
    exit 1
fi
echo "test_windows: PASS"
