#!/usr/bin/env bash
# tools/sample.sh BINARY - crawl the bundled sample in the three classic modes
# and say where the outputs are.  Called by `make sample` (the README's first
# command) after `make deps` and the build.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/dcmcrawl}
np=${NP:-2}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
for k in 1 2 3; do
    echo "== configs/example$k.yaml (mpirun -np $np)"
    mpirun -np "$np" "$bin" configs/example$k.yaml --set run.progress=never
done
echo
echo "Outputs (open them as the README shows):"
ls -l out/ | sed 's/^/  /'
echo
echo "  metadata:   out/metadata_example1.csv  (one row per file)"
echo "  2D images:  out/pixel_data_example2.h5 (one dataset per file)"
echo "  volumes:    out/pixel_data_example3.h5 (one dataset per series) + out/metadata_example3.csv"
