#!/usr/bin/python3
"""compare_outputs.py A B - are two dcmcrawl outputs the same?

    /usr/bin/python3 tests/integration/compare_outputs.py [--rows-as-sets]
                     [--ignore-attr NAME ...] A B

A and B are two output folders (every metadata*.csv, unreadable_files*.csv and
pixel_data*.h5 in either is compared with the file of the same name in the
other) or two files of the same kind.

  CSVs      byte-identical; with --rows-as-sets: identical header and the same
            set of rows (order ignored; for appended runs).
  HDF5      the same dataset names at the root (external links are followed,
            as h5py does), and for each: dtype, shape, values (NaN equal to
            NaN), attribute names and values; the same file attributes.

Prints every difference (dataset, what, A vs B) and exits 1 if there is any,
0 if the outputs are the same, 2 on bad usage.
"""
import argparse
import csv
import io
import os
import sys

import numpy as np

KINDS = ("metadata", "unreadable_files", "pixel_data")


def out_files(d):
    return sorted(n for n in os.listdir(d) if n.startswith(KINDS) and
                  (n.endswith(".csv") or n.endswith(".h5")) and os.path.isfile(os.path.join(d, n)))


def short(v, n=200):
    s = repr(v)
    return s if len(s) <= n else s[:n] + "..."


class Diff:
    def __init__(self):
        self.items = []

    def add(self, where, what, a=None, b=None):
        self.items.append((where, what, a, b))

    def print(self, limit=200):
        for where, what, a, b in self.items[:limit]:
            line = "  %s: %s" % (where, what)
            if a is not None or b is not None:
                line += "\n      A: %s\n      B: %s" % (short(a), short(b))
            print(line)
        if len(self.items) > limit:
            print("  ... %d more differences" % (len(self.items) - limit))


def compare_csv(a, b, rows_as_sets, diff):
    ra, rb = open(a, "rb").read(), open(b, "rb").read()
    name = os.path.basename(a)
    if not rows_as_sets:
        if ra == rb:
            return
        # say where: first differing line
        la, lb = ra.split(b"\n"), rb.split(b"\n")
        for i, (x, y) in enumerate(zip(la, lb)):
            if x != y:
                k = next((j for j in range(min(len(x), len(y))) if x[j] != y[j]),
                         min(len(x), len(y)))
                lo = max(0, k - 60)
                diff.add(name, "files differ first at line %d, byte %d of the line" % (i + 1, k),
                         x[lo:k + 100].decode("utf-8", "replace"),
                         y[lo:k + 100].decode("utf-8", "replace"))
                break
        else:
            diff.add(name, "files differ in length (%d vs %d lines)" % (len(la), len(lb)))
        return
    try:
        pa = list(csv.reader(io.StringIO(ra.decode("utf-8"), newline="")))
        pb = list(csv.reader(io.StringIO(rb.decode("utf-8"), newline="")))
    except (csv.Error, UnicodeDecodeError) as ex:
        diff.add(name, "cannot parse: %s" % ex)
        return
    if not pa or not pb:
        if pa != pb:
            diff.add(name, "one file is empty")
        return
    if pa[0] != pb[0]:
        diff.add(name, "headers differ", pa[0], pb[0])
        return
    sa = sorted(tuple(r) for r in pa[1:])
    sb = sorted(tuple(r) for r in pb[1:])
    if sa != sb:
        only_a = set(sa) - set(sb)
        only_b = set(sb) - set(sa)
        for r in sorted(only_a)[:10]:
            diff.add(name, "row only in A", list(r[:3]), None)
        for r in sorted(only_b)[:10]:
            diff.add(name, "row only in B", None, list(r[:3]))
        if len(sa) != len(sb):
            diff.add(name, "row counts differ", len(sa), len(sb))


def _norm_attr(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.dtype.kind in "SO":
        return [_norm_attr(x) for x in v.reshape(-1)]
    return v


def attrs_equal(x, y):
    x, y = _norm_attr(x), _norm_attr(y)
    if isinstance(x, (str, list)) or isinstance(y, (str, list)):
        return x == y
    ax, ay = np.asarray(x), np.asarray(y)
    if ax.shape != ay.shape or ax.dtype != ay.dtype:
        return False
    if ax.dtype.kind in "fc":
        return bool(np.array_equal(ax, ay, equal_nan=True))
    return bool(np.array_equal(ax, ay))


def compare_attrs(where, aa, ab, ignore, diff):
    ka = set(aa.keys()) - ignore
    kb = set(ab.keys()) - ignore
    if ka != kb:
        diff.add(where, "attribute names differ", sorted(ka - kb), sorted(kb - ka))
    for k in sorted(ka & kb):
        try:
            x, y = aa[k], ab[k]
        except Exception as ex:  # noqa: BLE001
            diff.add(where, "attribute %s unreadable: %s" % (k, ex))
            continue
        if not attrs_equal(x, y):
            diff.add(where, "attribute %s differs" % k, x, y)


def compare_h5(a, b, ignore, diff):
    import h5py
    name = os.path.basename(a)
    try:
        fa = h5py.File(a, "r")
        fb = h5py.File(b, "r")
    except Exception as ex:  # noqa: BLE001
        diff.add(name, "cannot open: %s" % ex)
        return
    with fa, fb:
        compare_attrs(name + " (file)", fa.attrs, fb.attrs, ignore, diff)
        ka, kb = set(fa.keys()), set(fb.keys())
        for k in sorted(ka - kb):
            diff.add(name, "dataset only in A: %s" % k)
        for k in sorted(kb - ka):
            diff.add(name, "dataset only in B: %s" % k)
        for k in sorted(ka & kb):
            try:
                da, db = fa[k], fb[k]
            except Exception as ex:  # noqa: BLE001
                diff.add(k, "cannot open dataset: %s" % ex)
                continue
            if da.dtype != db.dtype:
                diff.add(k, "dtype differs", str(da.dtype), str(db.dtype))
            if da.shape != db.shape:
                diff.add(k, "shape differs", da.shape, db.shape)
                continue
            try:
                va, vb = da[()], db[()]
            except Exception as ex:  # noqa: BLE001
                diff.add(k, "cannot read values: %s" % ex)
                continue
            same = np.array_equal(va, vb, equal_nan=True) if va.dtype.kind in "fc" else \
                np.array_equal(va, vb)
            if not same:
                idx = np.argwhere(va != vb)
                diff.add(k, "values differ in %d voxels, first at %s" % (
                    len(idx), tuple(idx[0]) if len(idx) else "?"),
                    va[tuple(idx[0])] if len(idx) else None, vb[tuple(idx[0])] if len(idx) else None)
            compare_attrs(k, da.attrs, db.attrs, ignore, diff)


def compare_paths(a, b, rows_as_sets, ignore):
    diff = Diff()
    if os.path.isdir(a) and os.path.isdir(b):
        fa, fb = out_files(a), out_files(b)
        for n in sorted(set(fa) - set(fb)):
            diff.add(n, "only in A")
        for n in sorted(set(fb) - set(fa)):
            diff.add(n, "only in B")
        pairs = [(os.path.join(a, n), os.path.join(b, n)) for n in fa if n in fb]
        if not fa and not fb:
            diff.add(a, "no dcmcrawl outputs in either folder")
    elif os.path.isfile(a) and os.path.isfile(b):
        pairs = [(a, b)]
    else:
        diff.add(a, "A and B must both be folders or both be files")
        return diff
    for x, y in pairs:
        if x.endswith(".csv"):
            compare_csv(x, y, rows_as_sets, diff)
        else:
            compare_h5(x, y, ignore, diff)
    return diff


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rows-as-sets", action="store_true",
                    help="CSV rows compared as sets (header still identical)")
    ap.add_argument("--ignore-attr", action="append", default=[],
                    help="attribute name not to compare (repeatable)")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(args.a) or not os.path.exists(args.b):
        print("compare_outputs: no such path: %s" % (args.a if not os.path.exists(args.a) else args.b))
        return 2
    diff = compare_paths(args.a, args.b, args.rows_as_sets, set(args.ignore_attr))
    if diff.items:
        print("compare_outputs: %s and %s differ (%d difference(s)):" % (args.a, args.b,
                                                                         len(diff.items)))
        diff.print()
        return 1
    if not args.quiet:
        print("compare_outputs: %s and %s are the same" % (args.a, args.b))
    return 0


if __name__ == "__main__":
    sys.exit(main())
