#!/bin/bash
# test_readme.sh BIN - the README's promises hold: the three example configs
# crawl the bundled sample (as `make sample` does), and the README's Python
# snippets for opening the outputs run unchanged against them.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-build/dcmcrawl}
[ -x "$BIN" ] || { echo "test_readme: FAIL: no binary $BIN"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
W=$(mktemp -d /tmp/dcmcrawl_readme_XXXXXX)
trap 'rm -rf "$W"' EXIT
for k in 1 2 3; do
    mpirun -np 2 "$BIN" configs/example$k.yaml --set output.folder="$W/out" --set run.progress=never \
        --log-level warn > "$W/example$k.log" 2>&1 || { cat "$W/example$k.log"; echo "test_readme: FAIL: example$k"; exit 1; }
done
# every ```python block of the README, run from a folder where out/ is the outputs
/usr/bin/python3 - "$W" <<'PY'
import os, re, subprocess, sys
w = sys.argv[1]
text = open("README.md", encoding="utf-8").read()
blocks = re.findall(r"```python\n(.*?)```", text, re.S)
assert blocks, "README has no python examples"
for i, code in enumerate(blocks):
    r = subprocess.run(["/usr/bin/python3", "-c", code], cwd=w, capture_output=True, text=True)
    if r.returncode != 0:
        print(code)
        print(r.stderr)
        sys.exit("test_readme: FAIL: README python example %d does not run" % (i + 1))
    print("README example %d ran: %s" % (i + 1, r.stdout.strip().splitlines()[:2]))
# and the outputs say what the README says they are
import h5py, pandas as pd
with h5py.File(os.path.join(w, "out/pixel_data_example3.h5"), "r") as f:
    assert len(f) == 5, list(f)
    for name, ds in f.items():
        for a in ("scan_id", "source_folder", "series_instance_uid", "study_instance_uid",
                  "modality", "n_files", "slice_order", "spacing", "affine", "slice_positions",
                  "instance_numbers", "rescale_slope", "rescale_intercept",
                  "photometric_interpretation", "bits_stored", "uniform_spacing", "warnings"):
            assert a in ds.attrs, (name, a)
        assert ds.attrs["scan_id"] == name
    for a in ("dcmcrawl_version", "layout", "config"):
        assert a in f.attrs, a
m1 = pd.read_csv(os.path.join(w, "out/metadata_example1.csv"), dtype=str, keep_default_na=False)
assert len(m1) == 46, len(m1)          # one row per DICOM file of the sample
with h5py.File(os.path.join(w, "out/pixel_data_example2.h5"), "r") as f:
    assert len(f) == 46
print("test_readme: PASS")
PY
