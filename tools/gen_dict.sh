#!/usr/bin/env bash
# gen_dict.sh - generate src/header/dc_dict_table.c from dcmtk's data dictionaries.
#
#   bash tools/gen_dict.sh [dicom.dic] [private.dic] [_private_dict.py] > src/header/dc_dict_table.c
#
# Defaults: /usr/share/libdcmtk17/dicom.dic and private.dic, and pydicom's
# private dictionary (/usr/lib/python3/dist-packages/pydicom/_private_dict.py,
# read with awk, optional).  pydicom's private dictionary is much larger than
# dcmtk's and decides which private VRs the old crawler saw, so private
# entries are merged: dcmtk's name when dcmtk has the tag (else pydicom's
# description in CamelCase), pydicom's VR when pydicom has it; tags only dcmtk
# knows get flag 8 (DC_DICT_NOT_PYDICOM: pydicom reads them as UN).  The output is
# committed so the names never depend on the build machine.  It holds four
# tables, all consumed by src/header/dict.c:
#
#   dc_dict_public[]        exact public tags, sorted by tag (binary search)
#   dc_dict_public_ranges[] repeating groups / element ranges, e.g.
#                           (6000-60FF,3000) or (0020,3100-31FF); narrow ranges
#                           first, catch-alls (group length, private creator)
#                           last (linear scan, first match wins)
#   dc_dict_private[]       private tags keyed by (creator, group, element low
#                           byte), sorted with LC_ALL=C = strcmp order
#   dc_dict_private_ranges[] private tags of repeating odd groups (7001-o-70FF)
#
# Conventions (kept identical to what pydicom shows users):
#   - dcmtk's "RETIRED_" keyword prefix is dropped (pydicom has none).
#   - dcmtk pseudo VRs: xs -> US (flag XS: US or SS by PixelRepresentation),
#     ox -> OW, lt -> OW, px -> OW (flag AMBIG: OB or OW / US or OW),
#     up -> UL, na -> "??" (items and delimiters have no VR).
#   - Group ranges follow dcmtk: "a-b" even groups only, "a-o-b" odd only,
#     "a-u-b" all.  Element ranges accept every element unless "-o-" is given
#     (pydicom's 31xx style masks match all of them).
#   - Private 4-digit elements (e.g. 1010) keep their low byte only.
#   - A later line overrides an earlier one with the same key (as in dcmtk).
set -euo pipefail
export LC_ALL=C

PUB=${1:-/usr/share/libdcmtk17/dicom.dic}
PRIV=${2:-/usr/share/libdcmtk17/private.dic}
PYD=${3:-/usr/lib/python3/dist-packages/pydicom/_private_dict.py}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# shared awk helpers: VR mapping, flags, range parsing, C string escaping
AWKLIB='
function vrmap(v) {
    if (v == "xs") return "US"; if (v == "ox" || v == "lt" || v == "px") return "OW";
    if (v == "up") return "UL"; if (v == "na") return "??"; return v
}
function vrflags(v, kw,   f) {
    f = 0
    if (v == "xs") f += 1
    if (v == "ox" || v == "lt" || v == "px") f += 2
    if (kw ~ /^RETIRED_/) f += 4
    return f
}
# mawk has no strtonum
function hex(s,   i, c, v) {
    v = 0; s = toupper(s)
    for (i = 1; i <= length(s); i++) { c = index("0123456789ABCDEF", substr(s, i, 1)); v = v * 16 + c - 1 }
    return v
}
function cesc(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); return s }
function kwclean(k) { sub(/^RETIRED_/, "", k); return k }
# "6000-60FF" -> lo hi parity (0 even, 1 odd, 2 all); single value -> lo lo 2
function range(s, out, dflt,   n, a) {
    if (s ~ /-o-/) { n = split(s, a, "-o-"); out[3] = 1 }
    else if (s ~ /-u-/) { n = split(s, a, "-u-"); out[3] = 2 }
    else if (s ~ /-/) { n = split(s, a, "-"); out[3] = dflt }
    else { a[1] = s; a[2] = s; out[3] = 2 }
    out[1] = hex(a[1]); out[2] = hex(a[2])
}
'

# ---- public dictionary ----
awk -F'\t' "$AWKLIB"'
/^#/ || NF < 3 { next }
{
    t = $1; gsub(/[()]/, "", t); split(t, ge, ",")
    vr = vrmap($2); fl = vrflags($2, $3); kw = cesc(kwclean($3))
    if (ge[1] ~ /-/ || ge[2] ~ /-/) {
        range(ge[1], g, 0); range(ge[2], e, 2)
        key = sprintf("%04X%04X%04X%04X", g[1], g[2], e[1], e[2])
        span = (g[2] - g[1]) * 65536 + (e[2] - e[1])
        rng[key] = sprintf("%012d\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%s", span, key, g[1], g[2], g[3], e[1], e[2], e[3], vr, fl, kw)
    } else {
        tag = sprintf("%04X%04X", hex(ge[1]), hex(ge[2]))
        pub[tag] = tag "\t" vr "\t" fl "\t" kw
    }
}
END {
    for (k in pub) print pub[k] > "'"$TMP"'/pub"
    for (k in rng) print rng[k] > "'"$TMP"'/rng"
}' "$PUB"

# ---- private dictionary: dcmtk's, merged with pydicom's (VRs as pydicom) ----
# pydicom's _private_dict.py -> "kind \t creator \t group \t elow \t VR \t keyword"
# kind E: 'ggggxxee' (one group); kind R: 'ggxxxxee' (groups gg00-ggFF).
: > "$TMP/pyd"
if [ -r "$PYD" ]; then
awk "$AWKLIB"'
function unq(s,   q) { q = substr(s, 1, 1); s = substr(s, 2); return substr(s, 1, index(s, q) - 1) }
# next quoted Python string in R (single or double quotes), R advanced past it
function qnext(   p, q, i, s) {
    p = match(R, /[\x27"]/); if (!p) return ""
    q = substr(R, p, 1); R = substr(R, p + 1); i = index(R, q)
    s = substr(R, 1, i - 1); R = substr(R, i + 1); return s
}
# "CR Image Params Common" -> "CRImageParamsCommon"
function camel(d,   out, i, c, up) {
    out = ""; up = 1
    for (i = 1; i <= length(d); i++) {
        c = substr(d, i, 1)
        if (c ~ /[A-Za-z0-9]/) { if (up) c = toupper(c); out = out c; up = 0 } else up = 1
    }
    return out == "" ? "Unknown" : out
}
/^    [\x27"].*[\x27"]: \{$/ { t = $0; sub(/^    /, "", t); cre = unq(t); next }
/^        \x27[0-9A-Fa-fx][0-9A-Fa-fx][0-9A-Fa-fx][0-9A-Fa-fx][0-9A-Fa-fx][0-9A-Fa-fx][0-9A-Fa-fx][0-9A-Fa-fx]\x27: \(/ {
    key = tolower(substr($0, 10, 8)); R = substr($0, index($0, "(") + 1)
    vr = qnext(); vm = qnext(); desc = qnext()
    if (vr == "OB_OW") vr = "ox"
    if (key ~ /^[0-9a-f][0-9a-f][0-9a-f][0-9a-f]xx[0-9a-f][0-9a-f]$/) kind = "E"
    else if (key ~ /^[0-9a-f][0-9a-f]xxxx[0-9a-f][0-9a-f]$/) kind = "R"
    else next
    g = (kind == "E") ? sprintf("%04X", hex(substr(key, 1, 4))) : toupper(substr(key, 1, 2))
    printf "%s\t%s\t%s\t%02X\t%s\t%s\n", kind, cre, g, hex(substr(key, 7, 2)), vr, camel(desc)
}' "$PYD" > "$TMP/pyd"
fi

# merge: dcmtk names win; pydicom VRs win (the parser must resolve VRs as
# pydicom does); dcmtk-only entries get flag 8 (pydicom: VR UN).
awk -F'\t' "$AWKLIB"'
FNR == NR {
    k = $1 SUBSEP $2 SUBSEP $3 SUBSEP $4
    pyvr[k] = $5; pykw[k] = $6; order[++n] = k
    next
}
/^#/ || NF < 3 { next }
{
    t = $1; sub(/^\(/, "", t); sub(/\)$/, "", t)
    # (gggg,"creator",ee): the creator may contain commas, so split on quotes
    q1 = index(t, "\""); rest = substr(t, q1 + 1); q2 = index(rest, "\"")
    grp = substr(t, 1, q1 - 2); cre = substr(rest, 1, q2 - 1); el = substr(rest, q2 + 2)
    elow = hex(el) % 256
    kw = cesc(kwclean($3)); v = $2
    if (grp ~ /-/) {
        range(grp, g, 0)
        k = "R" SUBSEP cre SUBSEP sprintf("%02X", int(g[1] / 256)) SUBSEP sprintf("%02X", elow)
    } else {
        k = "E" SUBSEP cre SUBSEP sprintf("%04X", hex(grp)) SUBSEP sprintf("%02X", elow)
    }
    fl = 8
    if (k in pyvr) { v = pyvr[k]; fl = 0; used[k] = 1 }
    vr = vrmap(v); fl += vrflags(v, $3)
    if (grp ~ /-/) prng[k] = sprintf("%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s", g[1], g[2], g[3], elow, vr, fl, cre, kw)
    else priv[k] = sprintf("%s\t%04X\t%02X\t%s\t%d\t%s", cre, hex(grp), elow, vr, fl, kw)
}
END {
    for (i = 1; i <= n; i++) {
        k = order[i]
        if (k in used) continue
        split(k, f, SUBSEP); vr = vrmap(pyvr[k]); fl = vrflags(pyvr[k], "")
        if (f[1] == "E") priv[k] = sprintf("%s\t%s\t%s\t%s\t%d\t%s", f[2], f[3], f[4], vr, fl, cesc(pykw[k]))
        else prng[k] = sprintf("%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s", hex(f[3]) * 256, hex(f[3]) * 256 + 255, 2, hex(f[4]), vr, fl, f[2], cesc(pykw[k]))
    }
    for (k in priv) print priv[k] > "'"$TMP"'/priv"
    for (k in prng) print prng[k] > "'"$TMP"'/prng"
}' "$TMP/pyd" "$PRIV"

cat <<EOF
/*
 * dc_dict_table.c - GENERATED by tools/gen_dict.sh from dcmtk's dicom.dic and
 * private.dic; do not edit.  Tables consumed by src/header/dict.c (see the generator
 * for the conventions: RETIRED_ prefix dropped, pseudo VRs mapped, ranges).
 */
#include "dc_dict.h"

EOF

echo "const dc_dict_public_row dc_dict_public[] = {"
sort -t$'\t' -k1,1 "$TMP/pub" | awk -F'\t' '{
    printf "    {0x%sU, {\"%s\", DC_VR(\x27%s\x27, \x27%s\x27), %d}},\n", $1, $4, substr($2,1,1), substr($2,2,1), $3 }'
echo "};"
echo "const size_t dc_dict_public_n = sizeof dc_dict_public / sizeof dc_dict_public[0];"
echo
echo "const dc_dict_range_row dc_dict_public_ranges[] = {"
sort -t$'\t' -k1,1 -k2,2 "$TMP/rng" | awk -F'\t' '{
    printf "    {0x%04X, 0x%04X, %d, 0x%04X, 0x%04X, %d, {\"%s\", DC_VR(\x27%s\x27, \x27%s\x27), %d}},\n", $3, $4, $5, $6, $7, $8, $11, substr($9,1,1), substr($9,2,1), $10 }'
echo "};"
echo "const size_t dc_dict_public_ranges_n = sizeof dc_dict_public_ranges / sizeof dc_dict_public_ranges[0];"
echo
echo "const dc_dict_private_row dc_dict_private[] = {"
sort -t$'\t' -k1,1 -k2,2 -k3,3 "$TMP/priv" | awk -F'\t' "$AWKLIB"'{
    printf "    {\"%s\", 0x%sU, 0x%sU, {\"%s\", DC_VR(\x27%s\x27, \x27%s\x27), %d}},\n", cesc($1), $2, $3, $6, substr($4,1,1), substr($4,2,1), $5 }'
echo "};"
echo "const size_t dc_dict_private_n = sizeof dc_dict_private / sizeof dc_dict_private[0];"
echo
echo "const dc_dict_private_range_row dc_dict_private_ranges[] = {"
sort -t$'\t' -k7,7 -k1,1n -k4,4n "$TMP/prng" | awk -F'\t' "$AWKLIB"'{
    printf "    {\"%s\", 0x%04X, 0x%04X, %d, 0x%02X, {\"%s\", DC_VR(\x27%s\x27, \x27%s\x27), %d}},\n", cesc($7), $1, $2, $3, $4, $8, substr($5,1,1), substr($5,2,1), $6 }'
echo "};"
echo "const size_t dc_dict_private_ranges_n = sizeof dc_dict_private_ranges / sizeof dc_dict_private_ranges[0];"
