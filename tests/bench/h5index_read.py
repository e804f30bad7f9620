#!/usr/bin/python3
"""h5index_read.py INDEX [N] - what a user waits for: open an index written by
tests/bench/h5index.c with h5py and read one scan (dataset values and every
attribute), in a fresh process each time (N times, default 5); prints the
median and range of the seconds per open + read.  (Listing every name is
another matter: h5py's iteration of 135,000 links takes seconds; see README.)

    /usr/bin/python3 tests/bench/h5index_read.py /tmp/x/idx.h5 5
"""
import statistics
import subprocess
import sys

CHILD = r"""
import sys, time
t0 = time.perf_counter()
import h5py
t1 = time.perf_counter()
f = h5py.File(sys.argv[1], "r")
d = f[sys.argv[2]]
v = d[()]
a = dict(d.attrs)
t2 = time.perf_counter()
print(t2 - t1, v.shape, len(a))
"""


def main():
    idx = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    # a scan in the middle of the name range that holds a real dataset (every 10,000th)
    import h5py
    with h5py.File(idx, "r") as f:
        count = len(f)
    k = (count // 2) // 10000 * 10000
    name = "idx_%d_1.2.826.0.1.3680043.10.1436.77.5.%d" % (k, 100000000 + k)
    opens = []
    for _ in range(n):
        out = subprocess.run([sys.executable, "-c", CHILD, idx, name], check=True,
                             stdout=subprocess.PIPE, text=True).stdout.split()
        opens.append(float(out[0]))
    print("links=%d open+read_s median=%.3f min=%.3f max=%.3f" % (
        count, statistics.median(opens), min(opens), max(opens)))


if __name__ == "__main__":
    main()
