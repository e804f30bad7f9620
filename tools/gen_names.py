#!/usr/bin/python3
"""gen_names.py - generate src/header/dc_names_table.c: the element names the old
crawler wrote as CSV column names (pydicom's DataElement.name), and what
Python's str.isprintable() says about each code point (pydicom's text of a
multi-valued string is Python's repr of each value).

    /usr/bin/python3 tools/gen_names.py > src/header/dc_names_table.c

Reads the installed pydicom's own dictionaries (Debian 12: python3-pydicom
2.3.1, DICOM 2022a), so the names are exactly the ones that pydicom version
prints; the version is written into the generated file.  The output is
committed, so a build never depends on the machine's pydicom.

Compact (about 250 KB in the binary for 10,000 names): every distinct name
is stored once, as a list of words: dc_names_codes holds, per name, its
number of words and each word's index in dc_names_words (one byte for the
127 most frequent words, two bytes for the others; a word carries its
leading space).  Names are referred to by their offset in dc_names_codes.
Tables (consumed by src/header/names.c, no pointers):

  dc_names_pub[]      DicomDictionary: (tag, name), sorted by tag
  dc_names_rev[]      indices into dc_names_pub sorted by name (bytes), for
                      name -> lowest tag (CSV header names read back)
  dc_names_rep[]      RepeatersDictionary in pydicom's order: (mask1, mask2,
                      name); a tag matches when (tag ^ mask1) & mask2 == 0
  dc_names_creator_text / dc_names_creators[]
                      private creators, plain, sorted by bytes
  dc_names_priv[]     (key, creator << 23 | kind << 21 | name), sorted by
                      (creator, kind, key); kind 0: key "ggggeeee", 1:
                      "ggggxxee" (key gggg00ee), 2: "ggxxxxee" (key
                      gg0000ee): the three keys pydicom's get_private_entry
                      tries, in that order.  Keys of other shapes can never be
                      found by pydicom and are left out.
  dc_names_nonprint[] code point ranges above U+00FF that are not printable
                      for Python's repr (str.isprintable() false)
"""
import re
import sys
import unicodedata

import pydicom
from pydicom._dicom_dict import DicomDictionary, RepeatersDictionary
from pydicom._private_dict import private_dictionaries


class Names:
    """Distinct names as word-code sequences."""

    def __init__(self, strings):
        toks = {x: re.findall(r" ?[^ ]+| ", x) for x in strings}
        for x, t in toks.items():
            assert "".join(t) == x and len(t) < 256, x
        freq = {}
        for t in toks.values():
            for w in t:
                freq[w] = freq.get(w, 0) + 1
        self.words = sorted(freq, key=lambda w: (-freq[w], w.encode("utf-8")))
        assert len(self.words) < 32768
        rank = {w: i for i, w in enumerate(self.words)}
        self.codes, self.offsets = bytearray(), {}
        for x in sorted(strings, key=lambda v: v.encode("utf-8")):
            self.offsets[x] = len(self.codes)
            self.codes.append(len(toks[x]))
            for w in toks[x]:
                i = rank[w]
                self.codes += bytes([i]) if i < 128 else bytes([0x80 | i >> 8, i & 0xFF])
        assert len(self.codes) < (1 << 21)

    def ref(self, x):
        return self.offsets[x]


def c_bytes(b):
    out = []
    for c in b:
        ch = chr(c)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 0x20 <= c < 0x7F:
            out.append(ch)
        else:
            out.append("\\%03o" % c)
    return "".join(out)


def emit_bytes(w, name, data):
    w("const uint8_t %s[] = {\n" % name)
    for i in range(0, len(data), 20):
        w("   " + "".join(" %d," % b for b in data[i:i + 20]) + "\n")
    w("};\n\n")


def emit_u16(w, name, values):
    assert max(values) < 65536
    w("const uint16_t %s[] = {\n" % name)
    for i in range(0, len(values), 12):
        w("   " + "".join(" %d," % v for v in values[i:i + 12]) + "\n")
    w("};\n\n")


def emit_text(w, name, strings):
    """strings in one NUL-separated char array; returns their offsets"""
    offs, size = [], 0
    w("const char %s[] =\n" % name)
    line = ""
    for x in strings:
        offs.append(size)
        size += len(x.encode("utf-8")) + 1
        piece = c_bytes(x.encode("utf-8")) + "\\000"  # three digits: a digit may follow
        if len(line) + len(piece) > 90:
            w('    "%s"\n' % line)
            line = ""
        line += piece
    w('    "%s";\n\n' % line)
    return offs


def main():
    rep_masks = [(int(m.replace("x", "0"), 16), int("".join("F0"[c == "x"] for c in m), 16), e[2])
                 for m, e in RepeatersDictionary.items()]
    creators = sorted(private_dictionaries, key=lambda c: c.encode("utf-8"))
    assert len(creators) < 512
    cidx = {c: i for i, c in enumerate(creators)}
    priv = []
    for c, d in private_dictionaries.items():
        for k, e in d.items():
            if re.fullmatch(r"[0-9a-f]{8}", k):
                kind, key = 0, int(k, 16)
            elif re.fullmatch(r"[0-9a-f]{4}xx[0-9a-f]{2}", k):
                kind, key = 1, int(k[:4], 16) << 16 | int(k[6:], 16)
            elif re.fullmatch(r"[0-9a-f]{2}xxxx[0-9a-f]{2}", k):
                kind, key = 2, int(k[:2], 16) << 24 | int(k[6:], 16)
            else:
                continue   # never looked up by pydicom (other masks, upper case)
            priv.append((cidx[c], kind, key, e[2]))
    priv.sort(key=lambda p: p[:3])
    names = Names({e[2] for e in DicomDictionary.values()} | {r[2] for r in rep_masks} |
                  {p[3] for p in priv})
    pub = sorted((tag, names.ref(e[2])) for tag, e in DicomDictionary.items())
    bname = {t: DicomDictionary[t][2].encode("utf-8") for t, _ in pub}
    rev = sorted(range(len(pub)), key=lambda i: (bname[pub[i][0]], pub[i][0]))
    nonprint, start = [], None
    for cp in range(0x100, 0x110000):
        bad = not chr(cp).isprintable()
        if bad and start is None:
            start = cp
        elif not bad and start is not None:
            nonprint.append((start, cp - 1))
            start = None
    if start is not None:
        nonprint.append((start, 0x10FFFF))

    w = sys.stdout.write
    w("/*\n * dc_names_table.c - GENERATED by tools/gen_names.py; do not edit.\n"
      " * From pydicom %s (DICOM %s) as shipped by Debian, and Python %s's\n"
      " * unicodedata %s (str.isprintable).  %d public names, %d repeating-group\n"
      " * masks, %d private creators with %d names; %d distinct names of %d words.\n"
      " * Consumed by src/header/names.c.\n */\n"
      % (pydicom.__version__, pydicom._version.__dicom_version__,
         ".".join(map(str, sys.version_info[:3])), unicodedata.unidata_version,
         len(pub), len(rep_masks), len(creators), len(priv), len(names.offsets),
         len(names.words)))
    w('#include "dc_names.h"\n\n')
    w("const char dc_names_source[] = \"pydicom %s\";\n\n" % pydicom.__version__)
    emit_u16(w, "dc_names_words", emit_text(w, "dc_names_word_text", names.words))
    emit_bytes(w, "dc_names_codes", names.codes)
    w("const dc_name_pub dc_names_pub[] = {\n")
    for i in range(0, len(pub), 4):
        w("   " + "".join(" {0x%08xu, %du}," % p for p in pub[i:i + 4]) + "\n")
    w("};\nconst size_t dc_names_pub_n = %d;\n\n" % len(pub))
    emit_u16(w, "dc_names_rev", rev)
    w("const dc_name_rep dc_names_rep[] = {\n")
    for m1, m2, n in rep_masks:
        w("    {0x%08xu, 0x%08xu, %du},\n" % (m1, m2, names.ref(n)))
    w("};\nconst size_t dc_names_rep_n = %d;\n\n" % len(rep_masks))
    emit_u16(w, "dc_names_creators", emit_text(w, "dc_names_creator_text", creators))
    w("const size_t dc_names_creators_n = %d;\n\n" % len(creators))
    w("const dc_name_priv dc_names_priv[] = {\n")
    for i in range(0, len(priv), 4):
        w("   " + "".join(" {0x%08xu, 0x%08xu}," % (p[2], p[0] << 23 | p[1] << 21 | names.ref(p[3]))
                          for p in priv[i:i + 4]) + "\n")
    w("};\nconst size_t dc_names_priv_n = %d;\n\n" % len(priv))
    w("const uint32_t dc_names_nonprint[][2] = {\n")
    for i in range(0, len(nonprint), 5):
        w("   " + "".join(" {0x%x, 0x%x}," % r for r in nonprint[i:i + 5]) + "\n")
    w("};\nconst size_t dc_names_nonprint_n = %d;\n" % len(nonprint))


if __name__ == "__main__":
    main()
