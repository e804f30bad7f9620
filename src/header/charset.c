/*
 * charset.c - Specific Character Set (0008,0005) to UTF-8, as pydicom 2.3.1
 * decodes it.  See dc_charset.h for the rules.
 *
 * How the pieces fit:
 *  - term tables: DICOM defined terms -> pydicom's Python encoding names,
 *    Python codec aliases (for unknown terms), escape sequences;
 *  - decoders: one "step" function per encoding that decodes one character
 *    at the front of the input or reports how many bytes are bad (CPython's
 *    error ranges, so replacement characters fall where Python puts them);
 *    byte mappings come from glibc iconv (single-byte sets become 256-entry
 *    tables built on first use), patched where CPython differs;
 *  - ISO-2022-JP(-2): a small stateful decoder that mirrors CPython's;
 *  - pydicom's algorithm: decode_bytes / _decode_fragment /
 *    _decode_escaped_fragment, PN components, value splitting and trimming.
 */
#include "dc_charset.h"

#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_dicom.h"

/* ---- encodings (pydicom's Python names) ---- */

enum kind {
    K_LATIN1,
    K_ASCII,
    K_TABLE,
    K_UTF8,
    K_SJIS,
    K_EUCKR,
    K_GB2312,
    K_GBK,
    K_GB18030,
    K_JP,
    K_JP2
};

typedef struct {
    const char *py; /* pydicom's name, or the canonical Python codec name */
    uint8_t kind;
    const char *iconv; /* glibc name for K_TABLE */
} enc_def;

enum {
    E_ISO8859 = 0, /* pydicom's default_encoding */
    E_LATIN_1,
    E_8859_2,
    E_8859_3,
    E_8859_4,
    E_IR126,
    E_IR127,
    E_IR138,
    E_IR144,
    E_IR148,
    E_IR166,
    E_SHIFT_JIS,
    E_ISO2022_JP,
    E_ISO2022_JP_2,
    E_EUC_KR,
    E_IR58,
    E_UTF8,
    E_GB18030,
    E_GBK,
    E_GB2312,
    /* Python codecs reachable only through unknown terms */
    E_ASCII,
    E_8859_15,
    E_CP1250,
    E_CP1251,
    E_CP1252,
    E_CP1253,
    E_CP1254,
    E_CP1256,
    E_CP1257,
    E_KOI8_R,
    E_COUNT
};

static const enc_def ENC[E_COUNT] = {
    [E_ISO8859] = {"iso8859", K_LATIN1, NULL},
    [E_LATIN_1] = {"latin_1", K_LATIN1, NULL},
    [E_8859_2] = {"iso8859_2", K_TABLE, "ISO-8859-2"},
    [E_8859_3] = {"iso8859_3", K_TABLE, "ISO-8859-3"},
    [E_8859_4] = {"iso8859_4", K_TABLE, "ISO-8859-4"},
    [E_IR126] = {"iso_ir_126", K_TABLE, "ISO-8859-7"},
    [E_IR127] = {"iso_ir_127", K_TABLE, "ISO-8859-6"},
    [E_IR138] = {"iso_ir_138", K_TABLE, "ISO-8859-8"},
    [E_IR144] = {"iso_ir_144", K_TABLE, "ISO-8859-5"},
    [E_IR148] = {"iso_ir_148", K_TABLE, "ISO-8859-9"},
    [E_IR166] = {"iso_ir_166", K_TABLE, "TIS-620"},
    [E_SHIFT_JIS] = {"shift_jis", K_SJIS, NULL},
    [E_ISO2022_JP] = {"iso2022_jp", K_JP, NULL},
    [E_ISO2022_JP_2] = {"iso2022_jp_2", K_JP2, NULL},
    [E_EUC_KR] = {"euc_kr", K_EUCKR, NULL},
    [E_IR58] = {"iso_ir_58", K_GB2312, NULL},
    [E_UTF8] = {"UTF8", K_UTF8, NULL},
    [E_GB18030] = {"GB18030", K_GB18030, NULL},
    [E_GBK] = {"GBK", K_GBK, NULL},
    [E_GB2312] = {"GB2312", K_GB2312, NULL},
    [E_ASCII] = {"ascii", K_ASCII, NULL},
    [E_8859_15] = {"iso8859_15", K_TABLE, "ISO-8859-15"},
    [E_CP1250] = {"cp1250", K_TABLE, "CP1250"},
    [E_CP1251] = {"cp1251", K_TABLE, "CP1251"},
    [E_CP1252] = {"cp1252", K_TABLE, "CP1252"},
    [E_CP1253] = {"cp1253", K_TABLE, "CP1253"},
    [E_CP1254] = {"cp1254", K_TABLE, "CP1254"},
    [E_CP1256] = {"cp1256", K_TABLE, "CP1256"},
    [E_CP1257] = {"cp1257", K_TABLE, "CP1257"},
    [E_KOI8_R] = {"koi8_r", K_TABLE, "KOI8-R"},
};

/* pydicom's python_encoding: DICOM defined term -> encoding */
static const struct {
    const char *term;
    uint8_t enc;
} TERMS[] = {
    {"", E_ISO8859},
    {"ISO_IR 6", E_ISO8859},
    {"ISO_IR 13", E_SHIFT_JIS},
    {"ISO_IR 100", E_LATIN_1},
    {"ISO_IR 101", E_8859_2},
    {"ISO_IR 109", E_8859_3},
    {"ISO_IR 110", E_8859_4},
    {"ISO_IR 126", E_IR126},
    {"ISO_IR 127", E_IR127},
    {"ISO_IR 138", E_IR138},
    {"ISO_IR 144", E_IR144},
    {"ISO_IR 148", E_IR148},
    {"ISO_IR 166", E_IR166},
    {"ISO 2022 IR 6", E_ISO8859},
    {"ISO 2022 IR 13", E_SHIFT_JIS},
    {"ISO 2022 IR 87", E_ISO2022_JP},
    {"ISO 2022 IR 100", E_LATIN_1},
    {"ISO 2022 IR 101", E_8859_2},
    {"ISO 2022 IR 109", E_8859_3},
    {"ISO 2022 IR 110", E_8859_4},
    {"ISO 2022 IR 126", E_IR126},
    {"ISO 2022 IR 127", E_IR127},
    {"ISO 2022 IR 138", E_IR138},
    {"ISO 2022 IR 144", E_IR144},
    {"ISO 2022 IR 148", E_IR148},
    {"ISO 2022 IR 149", E_EUC_KR},
    {"ISO 2022 IR 159", E_ISO2022_JP_2},
    {"ISO 2022 IR 166", E_IR166},
    {"ISO 2022 IR 58", E_IR58},
    {"ISO_IR 192", E_UTF8},
    {"GB18030", E_GB18030},
    {"ISO 2022 GBK", E_GBK},
    {"ISO 2022 58", E_GB2312},
    {"GBK", E_GBK},
};

/* Python codec aliases (normalized: lower case, runs of other characters
 * than letters, digits and '.' as one '_'), for terms pydicom passes to
 * codecs.lookup().  A subset of CPython's encodings.aliases. */
static const struct {
    const char *alias;
    uint8_t enc;
} ALIASES[] = {
    {"latin_1", E_LATIN_1},
    {"latin1", E_LATIN_1},
    {"latin", E_LATIN_1},
    {"l1", E_LATIN_1},
    {"iso8859", E_LATIN_1},
    {"8859", E_LATIN_1},
    {"iso8859_1", E_LATIN_1},
    {"iso_8859_1", E_LATIN_1},
    {"iso_8859_1_1987", E_LATIN_1},
    {"iso_ir_100", E_LATIN_1},
    {"cp819", E_LATIN_1},
    {"ibm819", E_LATIN_1},
    {"csisolatin1", E_LATIN_1},
    {"ascii", E_ASCII},
    {"us_ascii", E_ASCII},
    {"us", E_ASCII},
    {"646", E_ASCII},
    {"iso_ir_6", E_ASCII},
    {"iso646_us", E_ASCII},
    {"csascii", E_ASCII},
    {"cp367", E_ASCII},
    {"ansi_x3.4_1968", E_ASCII},
    {"ansi_x3_4_1968", E_ASCII},
    {"utf_8", E_UTF8},
    {"utf8", E_UTF8},
    {"u8", E_UTF8},
    {"utf", E_UTF8},
    {"cp65001", E_UTF8},
    {"utf8_ucs2", E_UTF8},
    {"utf8_ucs4", E_UTF8},
    {"iso8859_2", E_8859_2},
    {"iso_8859_2", E_8859_2},
    {"iso_ir_101", E_8859_2},
    {"latin2", E_8859_2},
    {"l2", E_8859_2},
    {"iso8859_3", E_8859_3},
    {"iso_8859_3", E_8859_3},
    {"iso_ir_109", E_8859_3},
    {"latin3", E_8859_3},
    {"l3", E_8859_3},
    {"iso8859_4", E_8859_4},
    {"iso_8859_4", E_8859_4},
    {"iso_ir_110", E_8859_4},
    {"latin4", E_8859_4},
    {"l4", E_8859_4},
    {"iso8859_5", E_IR144},
    {"iso_8859_5", E_IR144},
    {"iso_ir_144", E_IR144},
    {"cyrillic", E_IR144},
    {"iso8859_6", E_IR127},
    {"iso_8859_6", E_IR127},
    {"iso_ir_127", E_IR127},
    {"arabic", E_IR127},
    {"iso8859_7", E_IR126},
    {"iso_8859_7", E_IR126},
    {"iso_ir_126", E_IR126},
    {"greek", E_IR126},
    {"greek8", E_IR126},
    {"iso8859_8", E_IR138},
    {"iso_8859_8", E_IR138},
    {"iso_ir_138", E_IR138},
    {"hebrew", E_IR138},
    {"iso8859_9", E_IR148},
    {"iso_8859_9", E_IR148},
    {"iso_ir_148", E_IR148},
    {"latin5", E_IR148},
    {"l5", E_IR148},
    {"tis_620", E_IR166},
    {"tis620", E_IR166},
    {"iso_ir_166", E_IR166},
    {"iso8859_15", E_8859_15},
    {"iso_8859_15", E_8859_15},
    {"latin9", E_8859_15},
    {"l9", E_8859_15},
    {"cp1250", E_CP1250},
    {"windows_1250", E_CP1250},
    {"cp1251", E_CP1251},
    {"windows_1251", E_CP1251},
    {"cp1252", E_CP1252},
    {"windows_1252", E_CP1252},
    {"cp1253", E_CP1253},
    {"windows_1253", E_CP1253},
    {"cp1254", E_CP1254},
    {"windows_1254", E_CP1254},
    {"cp1256", E_CP1256},
    {"windows_1256", E_CP1256},
    {"cp1257", E_CP1257},
    {"windows_1257", E_CP1257},
    {"koi8_r", E_KOI8_R},
    {"shift_jis", E_SHIFT_JIS},
    {"sjis", E_SHIFT_JIS},
    {"s_jis", E_SHIFT_JIS},
    {"shiftjis", E_SHIFT_JIS},
    {"csshiftjis", E_SHIFT_JIS},
    {"euc_kr", E_EUC_KR},
    {"euckr", E_EUC_KR},
    {"korean", E_EUC_KR},
    {"ksc5601", E_EUC_KR},
    {"ks_c_5601", E_EUC_KR},
    {"ks_c_5601_1987", E_EUC_KR},
    {"ksx1001", E_EUC_KR},
    {"ks_x_1001", E_EUC_KR},
    {"gb2312", E_GB2312},
    {"euc_cn", E_GB2312},
    {"euccn", E_GB2312},
    {"chinese", E_GB2312},
    {"gb2312_1980", E_GB2312},
    {"gb2312_80", E_GB2312},
    {"iso_ir_58", E_GB2312},
    {"eucgb2312_cn", E_GB2312},
    {"csiso58gb231280", E_GB2312},
    {"gbk", E_GBK},
    {"cp936", E_GBK},
    {"ms936", E_GBK},
    {"936", E_GBK},
    {"gb18030", E_GB18030},
    {"gb18030_2000", E_GB18030},
    {"iso2022_jp", E_ISO2022_JP},
    {"iso2022jp", E_ISO2022_JP},
    {"iso_2022_jp", E_ISO2022_JP},
    {"csiso2022jp", E_ISO2022_JP},
    {"iso2022_jp_2", E_ISO2022_JP_2},
    {"iso2022jp_2", E_ISO2022_JP_2},
    {"iso_2022_jp_2", E_ISO2022_JP_2},
};

/* pydicom's CODES_TO_ENCODINGS */
static const struct {
    const char *esc; /* without the leading ESC */
    uint8_t enc;
} ESCAPES[] = {
    {"(B", E_ISO8859},    {"-A", E_LATIN_1}, {")I", E_SHIFT_JIS}, {"(J", E_SHIFT_JIS},
    {"$B", E_ISO2022_JP}, {"-B", E_8859_2},  {"-C", E_8859_3},    {"-D", E_8859_4},
    {"-F", E_IR126},      {"-G", E_IR127},   {"-H", E_IR138},     {"-L", E_IR144},
    {"-M", E_IR148},      {"-T", E_IR166},   {"$)C", E_EUC_KR},   {"$(D", E_ISO2022_JP_2},
    {"$)A", E_IR58},
};

#define ESC 0x1B
#define REPLACEMENT 0xFFFD

/* ---- UTF-8 output ---- */

static void put_cp(dc_buf *out, uint32_t c)
{
    char b[4];
    size_t n;
    if (c < 0x80) {
        b[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3F));
        n = 2;
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (char)(0x80 | (c & 0x3F));
        n = 4;
    }
    dc_buf_append(out, b, n);
}

void dc_latin1_to_utf8(const uint8_t *in, size_t n, dc_buf *out)
{
    dc_buf_reserve(out, n * 2);
    char *o = out->data + out->len;
    size_t i = 0;
    for (uint64_t w; i + 8 <= n; i += 8) { /* ASCII 8 bytes at a time */
        memcpy(&w, in + i, 8);
        if (w & 0x8080808080808080ULL) break;
        memcpy(o, in + i, 8);
        o += 8;
    }
    for (; i < n; i++) {
        uint8_t c = in[i];
        if (c < 0x80) {
            *o++ = (char)c;
        } else {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    out->len = (size_t)(o - out->data);
    out->data[out->len] = '\0';
}

/* ---- cached iconv converters and single-byte tables (per thread) ---- */

enum { CV_SJIS, CV_EUCKR, CV_EUCCN, CV_GBK, CV_GB18030, CV_EUCJP, CV_COUNT };
static const char *const CV_NAMES[CV_COUNT] = {"SHIFT_JIS", "EUC-KR",  "EUC-CN",
                                               "GBK",       "GB18030", "EUC-JP"};

static _Thread_local iconv_t g_cv[CV_COUNT];
static _Thread_local uint8_t g_cv_state[CV_COUNT]; /* 0 not tried, 1 open, 2 unavailable */
static _Thread_local uint16_t *g_table[E_COUNT];   /* 0xFFFF: undefined byte */

static iconv_t converter(int which)
{
    if (g_cv_state[which] == 0) {
        g_cv[which] = iconv_open("UTF-8", CV_NAMES[which]);
        g_cv_state[which] = g_cv[which] == (iconv_t)-1 ? 2 : 1;
    }
    return g_cv_state[which] == 1 ? g_cv[which] : (iconv_t)-1;
}

/* Convert exactly one character of len bytes.  Returns its code point, or
 * -1 when iconv rejects it or makes other than one character of it. */
static long iconv_char(int which, const uint8_t *p, size_t len)
{
    iconv_t cd = converter(which);
    if (cd == (iconv_t)-1) return -1;
    char inb[8], outb[16];
    memcpy(inb, p, len);
    char *ip = inb, *op = outb;
    size_t il = len, ol = sizeof outb;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &ip, &il, &op, &ol) == (size_t)-1 || il != 0) return -1;
    if (iconv(cd, NULL, NULL, &op, &ol) == (size_t)-1) return -1;
    size_t n = (size_t)(op - outb);
    const uint8_t *u = (const uint8_t *)outb;
    if (n == 1 && u[0] < 0x80) return u[0];
    if (n == 2 && (u[0] & 0xE0) == 0xC0) return ((long)(u[0] & 0x1F) << 6) | (u[1] & 0x3F);
    if (n == 3 && (u[0] & 0xF0) == 0xE0)
        return ((long)(u[0] & 0x0F) << 12) | ((long)(u[1] & 0x3F) << 6) | (u[2] & 0x3F);
    if (n == 4 && (u[0] & 0xF8) == 0xF0)
        return ((long)(u[0] & 0x07) << 18) | ((long)(u[1] & 0x3F) << 12) |
               ((long)(u[2] & 0x3F) << 6) | (u[3] & 0x3F);
    return -1;
}

static uint16_t *build_table(int enc)
{
    uint16_t *t = dc_malloc(256 * sizeof *t);
    iconv_t cd =
        ENC[enc].iconv ? iconv_open("UTF-16LE", ENC[enc].iconv) : (iconv_t)-1; /* ascii: none */
    for (int b = 0; b < 256; b++) {
        t[b] = b < 0x80 ? (uint16_t)b : 0xFFFF;
        if (b < 0x80 || cd == (iconv_t)-1) continue;
        char in = (char)b, outb[8];
        char *ip = &in, *op = outb;
        size_t il = 1, ol = sizeof outb;
        iconv(cd, NULL, NULL, NULL, NULL);
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1 && op - outb == 2)
            t[b] = (uint16_t)((uint8_t)outb[0] | ((uint8_t)outb[1] << 8));
    }
    if (cd != (iconv_t)-1) iconv_close(cd);
    if (enc == E_IR166) /* CPython's tis_620 maps 0x80-0x9F to C1 controls */
        for (int b = 0x80; b < 0xA0; b++) t[b] = (uint16_t)b;
    return t;
}

static const uint16_t *table(int enc)
{
    if (!g_table[enc]) g_table[enc] = build_table(enc);
    return g_table[enc];
}

void dc_charset_release(void)
{
    for (int i = 0; i < CV_COUNT; i++) {
        if (g_cv_state[i] == 1) iconv_close(g_cv[i]);
        g_cv_state[i] = 0;
    }
    for (int i = 0; i < E_COUNT; i++) {
        free(g_table[i]);
        g_table[i] = NULL;
    }
}

/* ---- one-character decoders ----
 * step(p, n, &cp): > 0 bytes consumed with *cp set; < 0 the bad bytes as a
 * negative count (CPython's error range; "incomplete" at the end of input
 * covers the rest). */

typedef int (*step_fn)(const uint8_t *p, size_t n, uint32_t *cp);

static int too_few(size_t n)
{
    return -(int)(n > 64 ? 64 : n);
}

static int step_utf8(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        *cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        *cp = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        *cp = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    for (int k = 1; k < len; k++) { /* maximal subpart: the valid prefix is one error */
        if ((size_t)k >= n) return -k;
        uint8_t b = p[k];
        if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return -k;
        *cp = (*cp << 6) | (b & 0x3F);
    }
    return len;
}

size_t dc_utf8_seq_len(const unsigned char *s, size_t n)
{
    uint32_t cp;
    int k = n ? step_utf8(s, n, &cp) : 0;
    return k > 0 ? (size_t)k : 0;
}

static int step_sjis(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) { /* CPython: ASCII, so 0x5C is '\' and 0x7E '~' */
        *cp = c;
        return 1;
    }
    if (c >= 0xA1 && c <= 0xDF) { /* JIS X 0201 katakana */
        *cp = 0xFF61 + (uint32_t)(c - 0xA1);
        return 1;
    }
    if (!((c >= 0x81 && c <= 0x9F) || (c >= 0xE0 && c <= 0xEA))) return -1;
    if (n < 2) return too_few(n);
    uint8_t c2 = p[1];
    if (c2 < 0x40 || c2 == 0x7F || c2 > 0xFC) return -1;
    long u = iconv_char(CV_SJIS, p, 2);
    if (u < 0) return -1;
    *cp = (uint32_t)u;
    return 2;
}

/* KS X 1001:1998 Annex 3 make-up sequences (CPython's euc_kr) */
static const int8_t CHOSEONG[30] = {0,  1, -1, 2, -1, -1, 3,  4,  5,  -1, -1, -1, -1, -1, -1,
                                    -1, 6, 7,  8, -1, 9,  10, 11, 12, 13, 14, 15, 16, 17, 18};
static const int8_t JONGSEONG[30] = {1,  2,  3,  4,  5,  6,  7,  -1, 8,  9,  10, 11, 12, 13, 14,
                                     15, 16, 17, -1, 18, 19, 20, 21, 22, -1, 23, 24, 25, 26, 27};

static int step_euckr_makeup(const uint8_t *p, size_t n, uint32_t *cp)
{
    if (n < 8) return too_few(n);
    if (p[2] != 0xA4 || p[4] != 0xA4 || p[6] != 0xA4) return -1;
    int cho = p[3] >= 0xA1 && p[3] <= 0xBE ? CHOSEONG[p[3] - 0xA1] : -1;
    int jung = p[5] >= 0xBF && p[5] <= 0xD3 ? p[5] - 0xBF : -1;
    int jong = p[7] == 0xD4 ? 0 : (p[7] >= 0xA1 && p[7] <= 0xBE ? JONGSEONG[p[7] - 0xA1] : -1);
    if (cho < 0 || jung < 0 || jong < 0) return -1;
    *cp = 0xAC00 + (uint32_t)(cho * 588 + jung * 28 + jong);
    return 8;
}

static int step_euckr(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (n < 2) return too_few(n);
    if (c == 0xA4 && p[1] == 0xD4) return step_euckr_makeup(p, n, cp);
    if (c < 0xA1 || c > 0xFE || p[1] < 0xA1 || p[1] > 0xFE) return -1;
    if (c == 0xA2 && p[1] == 0xE8) return -1; /* KS X 1001:2002 addition CPython lacks */
    long u = iconv_char(CV_EUCKR, p, 2);
    if (u < 0) return -1;
    *cp = (uint32_t)u;
    return 2;
}

static int step_gb2312(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (n < 2) return too_few(n);
    if (c < 0xA1 || c > 0xFE || p[1] < 0xA1 || p[1] > 0xFE) return -1;
    long u = iconv_char(CV_EUCCN, p, 2);
    if (u < 0) return -1;
    *cp = (uint32_t)u;
    return 2;
}

static int step_gbk(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (n < 2) return too_few(n);
    if (c == 0x80 || c == 0xFF) return -1; /* glibc maps 0x80 to the euro sign, CPython does not */
    long u = iconv_char(CV_GBK, p, 2);
    if (u < 0) return -1;
    *cp = (uint32_t)u;
    return 2;
}

/* GB18030 codes where CPython (GB18030-2000) and glibc (2005) disagree:
 * bytes (2 or 4, big-endian packed) -> CPython's code point */
static const struct {
    uint32_t code;
    uint32_t cp;
} GB18030_PATCH[] = {
    {0xA6D9, 0xE78D},     {0xA6DA, 0xE78E},     {0xA6DB, 0xE78F},     {0xA6DC, 0xE790},
    {0xA6DD, 0xE791},     {0xA6DE, 0xE792},     {0xA6DF, 0xE793},     {0xA6EC, 0xE794},
    {0xA6ED, 0xE795},     {0xA6F3, 0xE796},     {0xA8BC, 0xE7C7},     {0xFE51, 0xE816},
    {0xFE52, 0xE817},     {0xFE53, 0xE818},     {0xFE59, 0xE81E},     {0xFE61, 0xE826},
    {0xFE66, 0xE82B},     {0xFE67, 0xE82C},     {0xFE6C, 0xE831},     {0xFE6D, 0xE832},
    {0xFE76, 0xE83B},     {0xFE7E, 0xE843},     {0xFE90, 0xE854},     {0xFE91, 0xE855},
    {0xFEA0, 0xE864},     {0x8135F437, 0x1E3F}, {0x82359037, 0x9FB4}, {0x82359038, 0x9FB5},
    {0x82359039, 0x9FB6}, {0x82359130, 0x9FB7}, {0x82359131, 0x9FB8}, {0x82359132, 0x9FB9},
    {0x82359133, 0x9FBA}, {0x82359134, 0x9FBB}, {0x84318236, 0xFE10}, {0x84318237, 0xFE11},
    {0x84318238, 0xFE12}, {0x84318239, 0xFE13}, {0x84318330, 0xFE14}, {0x84318331, 0xFE15},
    {0x84318332, 0xFE16}, {0x84318333, 0xFE17}, {0x84318334, 0xFE18}, {0x84318335, 0xFE19},
};

static int gb18030_patched(const uint8_t *p, int len, uint32_t *cp)
{
    uint32_t code = 0;
    for (int i = 0; i < len; i++) code = (code << 8) | p[i];
    for (size_t i = 0; i < sizeof GB18030_PATCH / sizeof GB18030_PATCH[0]; i++)
        if (GB18030_PATCH[i].code == code) {
            *cp = GB18030_PATCH[i].cp;
            return 1;
        }
    return 0;
}

static int step_gb18030_4(const uint8_t *p, size_t n, uint32_t *cp)
{
    if (n < 4) return too_few(n);
    uint8_t c = p[0], c3 = p[2], c4 = p[3];
    if (c < 0x81 || c > 0xFE || c3 < 0x81 || c3 > 0xFE || c4 < 0x30 || c4 > 0x39) return -1;
    if (c >= 0x90) { /* supplementary planes: arithmetic, as CPython */
        uint32_t lseq = 0x10000 + (((uint32_t)(c - 0x90) * 10 + (p[1] - 0x30)) * 1260 +
                                   (uint32_t)(c3 - 0x81) * 10 + (c4 - 0x30));
        if (lseq > 0x10FFFF) return -1;
        *cp = lseq;
        return 4;
    }
    if (c > 0x84) return -1;
    if (gb18030_patched(p, 4, cp)) return 4;
    long u = iconv_char(CV_GB18030, p, 4);
    if (u < 0) return -1;
    *cp = (uint32_t)u;
    return 4;
}

static int step_gb18030(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t c = p[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (n < 2) return too_few(n);
    if (p[1] >= 0x30 && p[1] <= 0x39) return step_gb18030_4(p, n, cp);
    if (c == 0x80 || c == 0xFF) return -1;
    if (gb18030_patched(p, 2, cp)) return 2;
    long u = iconv_char(CV_GB18030, p, 2);
    if (u < 0) return -1;
    *cp = (uint32_t)u;
    return 2;
}

/* ---- ISO-2022-JP and ISO-2022-JP-2, as CPython's _codecs_iso2022.c ---- */

enum { G_ASCII, G_JISX0201_R, G_JISX0208, G_JISX0212, G_GB2312, G_KSX1001, G_8859_1, G_8859_7 };

typedef struct {
    int jp2;
    int g0, g2;
} jp_state;

/* Escape sequence at p (p[0] == ESC): returns bytes consumed (>0) or an
 * error count (<0). */
static int jp_escape(jp_state *s, const uint8_t *p, size_t n)
{
    size_t len = 0;
    for (size_t i = 1; i < 16; i++) {
        if (i >= n) return too_few(n);
        if ((p[i] >= 'A' && p[i] <= 'Z') || p[i] == '@') {
            len = i + 1;
            break;
        }
    }
    if (len == 0) return -1;
    int set = -1, g = -1;
    if (len == 3 && p[1] == '$') {
        g = 0;
        set = p[2] == 'B' || p[2] == '@' ? G_JISX0208 : (s->jp2 && p[2] == 'A' ? G_GB2312 : -1);
    } else if (len == 3 && (p[1] == '(' || p[1] == ')' || (s->jp2 && p[1] == '.'))) {
        g = p[1] == '(' ? 0 : (p[1] == ')' ? 1 : 2);
        if (g == 2)
            set = p[2] == 'A' ? G_8859_1 : (p[2] == 'F' ? G_8859_7 : -1);
        else
            set = p[2] == 'B' ? G_ASCII : (p[2] == 'J' ? G_JISX0201_R : -1);
    } else if (len == 4 && p[1] == '$' && (p[2] == '(' || p[2] == ')')) {
        g = p[2] == '(' ? 0 : 1;
        set = p[3] == 'B' || p[3] == '@' ? G_JISX0208 : -1;
        if (s->jp2 && p[3] == 'D') set = G_JISX0212;
        if (s->jp2 && p[3] == 'C') set = G_KSX1001;
        if (s->jp2 && p[3] == 'A') set = G_GB2312;
    }
    if (set < 0) return -(int)len;
    if (g == 0) s->g0 = set;
    if (g == 2) s->g2 = set;
    return (int)len; /* G1 is never invoked: these codecs ignore SO/SI */
}

static long jp_double(int set, uint8_t a, uint8_t b)
{
    if (a < 0x21 || a > 0x7E || b < 0x21 || b > 0x7E) return -1;
    uint8_t e[3];
    if (set == G_JISX0208) {
        if (a == 0x21 && b == 0x40) return 0xFF3C;
        e[0] = a | 0x80;
        e[1] = b | 0x80;
        return iconv_char(CV_EUCJP, e, 2);
    }
    if (set == G_JISX0212) {
        if (a == 0x22 && b == 0x37) return 0x7E; /* CPython's table: TILDE */
        e[0] = 0x8F;
        e[1] = a | 0x80;
        e[2] = b | 0x80;
        return iconv_char(CV_EUCJP, e, 3);
    }
    e[0] = a | 0x80;
    e[1] = b | 0x80;
    if (set == G_GB2312) return iconv_char(CV_EUCCN, e, 2);
    if (a == 0x22 && b == 0x68) return -1; /* KS X 1001 */
    return iconv_char(CV_EUCKR, e, 2);
}

/* ESC N c: single shift of G2 */
static int jp_single_shift(const jp_state *s, const uint8_t *p, size_t n, dc_buf *out)
{
    if (n < 3) return too_few(n);
    uint8_t c = p[2];
    if (s->g2 == G_ASCII) {
        if (c & 0x80) return -3;
        put_cp(out, c);
    } else if (s->g2 == G_8859_1) {
        if (c >= 0x80) return -3;
        put_cp(out, c | 0x80u);
    } else {
        uint16_t u = table(E_IR126)[c | 0x80];
        if (c >= 0x80 || u == 0xFFFF) return -3;
        put_cp(out, u);
    }
    return 3;
}

/* Decode a run in the current state.  Returns bytes consumed (>0) or an
 * error count (<0).  *esc_through: in CPython's "ESC throughout" mode. */
static int jp_step(jp_state *s, const uint8_t *p, size_t n, dc_buf *out, int *esc_through)
{
    uint8_t c = p[0];
    if (*esc_through) {
        put_cp(out, c);
        if ((c >= 'A' && c <= 'Z') || c == '@') *esc_through = 0;
        return 1;
    }
    if (c == ESC) {
        if (n < 2) return too_few(n);
        uint8_t c2 = p[1];
        if (c2 == '(' || c2 == ')' || c2 == '$' || c2 == '.' || c2 == '&')
            return jp_escape(s, p, n);
        if (s->jp2 && c2 == 'N') return jp_single_shift(s, p, n, out);
        put_cp(out, ESC);
        *esc_through = 1;
        return 1;
    }
    if (c < 0x20 || s->g0 == G_ASCII) {
        if (c >= 0x80) return -1;
        put_cp(out, c);
        return 1;
    }
    if (c >= 0x80) return -1;
    if (s->g0 == G_JISX0201_R) {
        put_cp(out, c == 0x5C ? 0xA5 : (c == 0x7E ? 0x203E : c));
        return 1;
    }
    if (n < 2) return too_few(n);
    long u = jp_double(s->g0, p[0], p[1]);
    if (u < 0) return -2;
    put_cp(out, (uint32_t)u);
    return 2;
}

/* ---- decoding a byte string with one encoding ---- */

/* Returns 0 (clean), 1 (replace mode: replacements made) or -1 (strict: failed). */
static int decode_jp(int jp2, const uint8_t *p, size_t n, dc_buf *out, int replace)
{
    jp_state s = {jp2, G_ASCII, G_ASCII};
    int esc_through = 0, replaced = 0;
    size_t i = 0;
    while (i < n) {
        int r = jp_step(&s, p + i, n - i, out, &esc_through);
        if (r > 0) {
            i += (size_t)r;
            continue;
        }
        if (!replace) return -1;
        put_cp(out, REPLACEMENT);
        replaced = 1;
        i += (size_t)-r;
    }
    return replaced;
}

static int decode_table(int enc, const uint8_t *p, size_t n, dc_buf *out, int replace)
{
    const uint16_t *t = table(enc);
    int replaced = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t u = t[p[i]];
        if (u == 0xFFFF) {
            if (!replace) return -1;
            u = REPLACEMENT;
            replaced = 1;
        }
        put_cp(out, u);
    }
    return replaced;
}

static int decode_steps(step_fn step, const uint8_t *p, size_t n, dc_buf *out, int replace)
{
    int replaced = 0;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) { /* ASCII run: the same in every step decoder */
            size_t j = i + 1;
            while (j < n && p[j] < 0x80) j++;
            dc_buf_append(out, p + i, j - i);
            i = j;
            continue;
        }
        uint32_t cp = 0;
        int r = step(p + i, n - i, &cp);
        if (r > 0) {
            put_cp(out, cp);
            i += (size_t)r;
            continue;
        }
        if (!replace) return -1;
        put_cp(out, REPLACEMENT);
        replaced = 1;
        i += (size_t)-r;
    }
    return replaced;
}

static int decode_with(int enc, const uint8_t *p, size_t n, dc_buf *out, int replace)
{
    switch (ENC[enc].kind) {
    case K_LATIN1:
        dc_latin1_to_utf8(p, n, out);
        return 0;
    case K_ASCII:
    case K_TABLE:
        return decode_table(enc, p, n, out, replace);
    case K_UTF8:
        return decode_steps(step_utf8, p, n, out, replace);
    case K_SJIS:
        return decode_steps(step_sjis, p, n, out, replace);
    case K_EUCKR:
        return decode_steps(step_euckr, p, n, out, replace);
    case K_GB2312:
        return decode_steps(step_gb2312, p, n, out, replace);
    case K_GBK:
        return decode_steps(step_gbk, p, n, out, replace);
    case K_GB18030:
        return decode_steps(step_gb18030, p, n, out, replace);
    case K_JP:
        return decode_jp(0, p, n, out, replace);
    default:
        return decode_jp(1, p, n, out, replace);
    }
}

/* ---- pydicom's algorithm ---- */

typedef struct {
    const uint8_t *set; /* delimiter bytes */
    size_t n;
} delims;

static const uint8_t PN_DELIMS[] = {'^'};
static const uint8_t TEXT_DELIMS[] = {0x0D, 0x0A, 0x09, 0x0C};

static int listed(const dc_charset *cs, int enc)
{
    for (int i = 0; i < cs->n; i++)
        if (cs->enc[i] == enc && cs->exact[i]) return 1;
    return 0;
}

/* _decode_escaped_fragment; returns -1 when a strict decode failed */
static int decode_escaped(const dc_charset *cs, delims d, const uint8_t *p, size_t n, dc_buf *out)
{
    size_t seq = n >= 3 && p[1] == '$' && (p[2] == '(' || p[2] == ')') ? 4 : 3;
    int enc = -1;
    for (size_t i = 0; i < sizeof ESCAPES / sizeof ESCAPES[0] && n >= seq; i++)
        if (strlen(ESCAPES[i].esc) == seq - 1 && memcmp(ESCAPES[i].esc, p + 1, seq - 1) == 0)
            enc = ESCAPES[i].enc;
    if (enc < 0 || !(enc == E_ISO8859 || listed(cs, enc))) {
        decode_with(cs->enc[0], p, n, out, 1); /* unknown escape: pydicom warns */
        return 1;
    }
    if (enc == E_ISO2022_JP || enc == E_ISO2022_JP_2) return decode_with(enc, p, n, out, 0);
    p += seq;
    n -= seq;
    size_t k = 0;
    while (k < n && !memchr(d.set, p[k], d.n)) k++;
    if (decode_with(enc, p, k, out, 0) < 0) return -1;
    return k < n ? decode_with(cs->enc[0], p + k, n - k, out, 0) : 0;
}

/* _decode_fragment: strict, else the first encoding with replacements */
static int decode_fragment(const dc_charset *cs, delims d, const uint8_t *p, size_t n, dc_buf *out)
{
    size_t mark = out->len;
    int r = p[0] == ESC ? decode_escaped(cs, d, p, n, out) : decode_with(cs->enc[0], p, n, out, 0);
    if (r >= 0) return r;
    out->len = mark;
    decode_with(cs->enc[0], p, n, out, 1);
    return 1;
}

/* decode_bytes */
static int decode_bytes(const dc_charset *cs, delims d, const uint8_t *p, size_t n, dc_buf *out)
{
    if (!memchr(p, ESC, n)) {
        size_t mark = out->len;
        if (decode_with(cs->enc[0], p, n, out, 0) >= 0) return 0;
        out->len = mark;
        decode_with(cs->enc[0], p, n, out, 1);
        return 1;
    }
    int replaced = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i + 1;
        while (j < n && p[j] != ESC) j++;
        replaced |= decode_fragment(cs, d, p + i, j - i, out);
        i = j;
    }
    return replaced;
}

/* PersonName: components split at '=', each decoded with '^' delimiters,
 * trailing empty components dropped */
static int decode_pn(const dc_charset *cs, const uint8_t *p, size_t n, dc_buf *out)
{
    delims d = {PN_DELIMS, sizeof PN_DELIMS};
    size_t start = out->len, keep = start;
    int replaced = 0;
    for (size_t i = 0;;) {
        size_t j = i;
        while (j < n && p[j] != '=') j++;
        if (i > 0) dc_buf_putc(out, '=');
        size_t before = out->len;
        if (j > i) replaced |= decode_bytes(cs, d, p + i, j - i, out);
        if (out->len > before) keep = out->len;
        if (j >= n) break;
        i = j + 1;
    }
    out->len = keep;
    if (out->data) out->data[out->len] = '\0';
    return replaced;
}

int dc_charset_decode(const dc_charset *cs, int pn, const uint8_t *in, size_t n, dc_buf *out)
{
    dc_buf_reserve(out, n);
    if (pn) return decode_pn(cs, in, n, out);
    if (n == 0) return 0;
    delims d = {TEXT_DELIMS, sizeof TEXT_DELIMS};
    return decode_bytes(cs, d, in, n, out);
}

/* ---- element values ---- */

static void rstrip_out(dc_buf *out, size_t from)
{
    while (out->len > from && (out->data[out->len - 1] == ' ' || out->data[out->len - 1] == '\0'))
        out->len--;
    if (out->data) out->data[out->len] = '\0';
}

int dc_charset_value(const dc_charset *cs, uint16_t vr, const uint8_t *in, size_t n, dc_buf *out)
{
    int pn = vr == DC_VR('P', 'N');
    int split = pn || vr == DC_VR('S', 'H') || vr == DC_VR('L', 'O') || vr == DC_VR('U', 'C');
    if (pn)
        while (n > 0 && (in[n - 1] == ' ' || in[n - 1] == '\0')) n--;
    dc_buf_reserve(out, n);
    if (!split) {
        size_t from = out->len;
        int r = dc_charset_decode(cs, 0, in, n, out);
        rstrip_out(out, from);
        return r;
    }
    int replaced = 0;
    for (size_t i = 0;;) {
        size_t j = i;
        while (j < n && in[j] != '\\') j++;
        if (i > 0) dc_buf_putc(out, '\\');
        size_t from = out->len;
        replaced |= dc_charset_decode(cs, pn, in + i, j - i, out);
        if (!pn) rstrip_out(out, from);
        if (j >= n) break;
        i = j + 1;
    }
    return replaced;
}

/* ---- parsing (0008,0005): convert_encodings ---- */

static int term_lookup(const char *t, size_t n)
{
    for (size_t i = 0; i < sizeof TERMS / sizeof TERMS[0]; i++)
        if (strlen(TERMS[i].term) == n && memcmp(TERMS[i].term, t, n) == 0) return TERMS[i].enc;
    return -1;
}

/* CPython's encodings.normalize_encoding + lower case */
static void normalize(const char *t, size_t n, char *o, size_t olen)
{
    size_t k = 0;
    int pending = 0;
    for (size_t i = 0; i < n && k + 2 < olen; i++) {
        char c = t[i];
        int keep =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.';
        if (!keep) {
            pending = k > 0;
            continue;
        }
        if (pending) o[k++] = '_';
        pending = 0;
        o[k++] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    o[k] = '\0';
}

static int alias_lookup(const char *t, size_t n)
{
    char norm[64];
    normalize(t, n, norm, sizeof norm);
    for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (strcmp(ALIASES[i].alias, norm) == 0) return ALIASES[i].enc;
    return -1;
}

/* _python_encoding_for_corrected_encoding: *exact = 1 when the result is
 * pydicom's own name for it.  Returns the encoding (default when unknown). */
static int corrected(const char *t, size_t n, uint8_t *exact)
{
    char patched[80];
    *exact = 1;
    if (n >= 6 && n < 60 && memcmp(t, "ISO", 3) == 0 && t[3] != '_' &&
        memcmp(t + 4, "IR", 2) == 0) {
        snprintf(patched, sizeof patched, "ISO_IR%.*s", (int)(n - 6), t + 6);
    } else if (n >= 12 && n < 60 && memcmp(t, "ISO", 3) == 0 && memcmp(t + 4, "2022", 4) == 0 &&
               memcmp(t + 9, "IR", 2) == 0 && memcmp(t, "ISO 2022 IR ", 12) != 0) {
        snprintf(patched, sizeof patched, "ISO 2022 IR %.*s", (int)(n - 12), t + 12);
    } else {
        int e = alias_lookup(t, n);
        if (e < 0) return E_ISO8859;
        *exact = strlen(ENC[e].py) == n && memcmp(ENC[e].py, t, n) == 0;
        return e;
    }
    int e = term_lookup(patched, strlen(patched));
    return e < 0 ? E_ISO8859 : e;
}

static int stand_alone(const char *t, size_t n)
{
    return (n == 10 && memcmp(t, "ISO_IR 192", 10) == 0) || (n == 3 && memcmp(t, "GBK", 3) == 0) ||
           (n == 7 && memcmp(t, "GB18030", 7) == 0);
}

int dc_charset_parse(const char *spec, size_t len, dc_charset *cs)
{
    memset(cs, 0, sizeof *cs);
    if (!spec) {
        spec = "";
        len = 0;
    }
    while (len > 0 && (spec[len - 1] == ' ' || spec[len - 1] == '\0')) len--;
    int fallback = 0, first_alone = 0;
    size_t i = 0;
    do {
        size_t j = i;
        while (j < len && spec[j] != '\\') j++;
        const char *t = spec + i;
        size_t tn = j - i;
        int alone = stand_alone(t, tn), e = term_lookup(t, tn);
        uint8_t exact = 1;
        if (e < 0) {
            e = corrected(t, tn, &exact);
            fallback = 1;
        }
        if (cs->n == 0) first_alone = alone;
        /* _handle_illegal_standalone_encodings */
        if (cs->n < DC_CHARSET_MAX && !(cs->n > 0 && (first_alone || alone))) {
            cs->enc[cs->n] = (uint8_t)e;
            cs->exact[cs->n] = exact;
            cs->n++;
        }
        i = j + 1;
    } while (i <= len);
    cs->fallback = (uint8_t)fallback;
    return fallback;
}

int dc_charset_to_utf8(const char *spec, uint16_t vr, const uint8_t *in, size_t n, dc_buf *out)
{
    dc_charset cs;
    int r = dc_charset_parse(spec, spec ? strlen(spec) : 0, &cs);
    return dc_charset_value(&cs, vr, in, n, out) | r;
}
