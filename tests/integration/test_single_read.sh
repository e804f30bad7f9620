#!/bin/bash
# test_single_read.sh BINARY - metadata-only runs open every input file once (SPEC 10):
# the CSV row comes from the header pass.  Crawls the synthetic corpus plus pydicom's
# test files at 2 ranks under strace (open/openat of every process), metadata only, per
# file and volumes, and checks
#   - per-file mode: every file in scope opened exactly once (a file whose header pass
#     parse fails is opened again to report why: at most twice, and it is unreadable);
#   - the rows equal those of a pixel run (which reads each file for its pixels and row)
#     for every scan both store, byte for byte.
#
#   bash tests/integration/test_single_read.sh build/dcmcrawl [--keep]
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
NAME=test_single_read
source "$HERE/lib_test.sh" "$@"
if ! command -v strace >/dev/null; then
    echo "test_single_read: FAIL: strace not installed (tools/deps.sh TEST_PKGS)"; exit 1
fi
test_corpus
FOLDERS=$CORPUS_FOLDERS
run() { # tag volumes pixels
    cat > "$WORK/$1.yaml" <<CFG
input:
  folders: [$FOLDERS]
output:
  folder: out_$1
  id: s
  volumes: $2
  write_pixeldata: $3
run:
  progress: never
  log_level: error
CFG
    # LeakSanitizer cannot run under ptrace: the sanitizer build checks leaks elsewhere
    (cd "$WORK" && OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        strace -f -qq -e trace=open,openat -o "$WORK/strace_$1.txt" \
        mpirun --oversubscribe -np 2 "$BIN" "$1.yaml") > "$WORK/log_$1.txt" 2>&1 ||
        fail "$1: exit $? (log $WORK/log_$1.txt)"
}
run meta_perfile false false
run meta_volumes true false
run pix_perfile false true

# opens per file in scope (the corpus folders are not recursive: files directly inside)
$PY - "$WORK" <<'PYEOF' || FAILED=1
import csv, os, re, sys, warnings
warnings.simplefilter("ignore")
work = sys.argv[1]
files = set()
for top in ("corpus", "pydicom/test_files"):
    for root, dirs, names in os.walk(os.path.join(work, top)):
        for n in names:
            files.add(os.path.relpath(os.path.join(root, n), work))
files = {f for f in files if not f.endswith("manifest.json")}
pat = re.compile(r'open(?:at)?\((?:AT_FDCWD|\d+), "([^"]+)"|open\("([^"]+)"')
bad = 0
def opens(tag):
    n = {}
    for line in open(os.path.join(work, "strace_%s.txt" % tag), errors="replace"):
        m = pat.search(line)
        if m and "O_DIRECTORY" not in line:
            p = m.group(1) or m.group(2)
            p = os.path.relpath(p, work) if p.startswith("/") else p
            if p in files:
                n[p] = n.get(p, 0) + 1
    return n
n = opens("meta_perfile")
unr_path = os.path.join(work, "out_meta_perfile", "unreadable_files_s.csv")
unreadable = set()
if os.path.exists(unr_path):
    with open(unr_path, newline="") as f:
        unreadable = {r[3] for r in list(csv.reader(f))[1:] if len(r) > 3}
twice = [p for p in files if n.get(p, 0) > 1]
wrong = [p for p in twice if n[p] > 2 or p not in unreadable]
unopened = [p for p in files if n.get(p, 0) == 0]
total = sum(n.values())
print("  meta per-file: %d files, %d opens (%.3f per file), %d unreadable ones opened twice"
      % (len(files), total, total / max(1, len(files)), len(twice) - len(wrong)))
if wrong:
    print("test_single_read: FAIL: opened more than once: %s" % sorted(wrong)[:5]); bad = 1
if unopened:
    print("test_single_read: FAIL: never opened: %s" % sorted(unopened)[:5]); bad = 1
nv = opens("meta_volumes")
print("  meta volumes: %d opens (%.3f per file)" % (sum(nv.values()), sum(nv.values()) / max(1, len(files))))
# volume mode: one file heading several scans (a multi-frame file split by orientation)
# is read again for each further scan
if sum(nv.values()) > 1.05 * len(files) or any(v > 3 for v in nv.values()):
    print("test_single_read: FAIL: volume mode: %d opens for %d files" % (sum(nv.values()), len(files))); bad = 1
# rows: metadata-only rows equal the pixel run's rows for the scans both store
def rows(tag):
    with open(os.path.join(work, "out_%s" % tag, "metadata_s.csv"), newline="") as f:
        r = list(csv.reader(f))
    h = r[0]
    return h, {x[0]: dict(zip(h, x)) for x in r[1:]}
hm, rm = rows("meta_perfile")
hp, rp = rows("pix_perfile")
common = set(rm) & set(rp)
diff = [s for s in common if {k: v for k, v in rm[s].items() if v} != {k: v for k, v in rp[s].items() if v}]
print("  rows: %d metadata-only, %d pixel run, %d in both, %d differ" % (len(rm), len(rp), len(common), len(diff)))
if len(common) < 0.8 * len(rp) or diff:
    print("test_single_read: FAIL: rows differ from the pixel run's: %s" % sorted(diff)[:3]); bad = 1
sys.exit(bad)
PYEOF
if [ "$FAILED" -ne 0 ]; then echo "test_single_read: FAIL (work dir kept: $WORK)"; exit 1; fi
echo "test_single_read: PASS"
