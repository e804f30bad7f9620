/*
 * pytext.c - Python's text of pydicom values (output.csv_style: seed).
 * See dc_pytext.h.
 *
 * repr() follows CPython's unicode_repr: the quote choice, the escapes of
 * the quote, backslash, TAB, LF, CR, other controls as \xNN, and code
 * points that str.isprintable() rejects (dc_names_printable, generated from
 * Python's unicodedata) as \xNN, \uNNNN or \UNNNNNNNN.
 */
#include "dc_pytext.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_names.h"

/* one UTF-8 sequence at s[0..n): its code point and length, or -1 */
static int utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    int len = s[0] < 0x80 ? 1 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : s[0] >= 0xE0 && s[0] < 0xF0 ? 3
                            : s[0] >= 0xF0 && s[0] < 0xF5 ? 4 : 0;
    if (len == 0 || (size_t)len > n) return -1;
    uint32_t v = len == 1 ? s[0] : s[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return -1;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (v < 0x800 || (v >= 0xD800 && v < 0xE000))) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)))
        return -1;
    *cp = v;
    return len;
}

static void put_escape(dc_buf *out, uint32_t cp)
{
    char s[12];
    if (cp <= 0xFF)
        snprintf(s, sizeof s, "\\x%02x", (unsigned)cp);
    else if (cp <= 0xFFFF)
        snprintf(s, sizeof s, "\\u%04x", (unsigned)cp);
    else
        snprintf(s, sizeof s, "\\U%08x", (unsigned)cp);
    dc_buf_puts(out, s);
}

void dc_py_repr(dc_buf *out, const char *s, size_t n)
{
    char quote = memchr(s, '\'', n) && !memchr(s, '"', n) ? '"' : '\'';
    dc_buf_putc(out, quote);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t run = i; /* printable ASCII other than the quote and '\\': as it is */
        while (run < n && p[run] >= 0x20 && p[run] < 0x7F && p[run] != (unsigned char)quote &&
               p[run] != '\\')
            run++;
        if (run > i) {
            dc_buf_append(out, s + i, run - i);
            i = run;
            continue;
        }
        uint32_t cp;
        int len = utf8_next(p + i, n - i, &cp);
        if (len < 0) { /* not UTF-8 (never from the charset decoder) */
            put_escape(out, p[i++]);
            continue;
        }
        if (cp == (uint32_t)quote || cp == '\\') {
            dc_buf_putc(out, '\\');
            dc_buf_putc(out, (char)cp);
        } else if (cp == '\t') {
            dc_buf_puts(out, "\\t");
        } else if (cp == '\n') {
            dc_buf_puts(out, "\\n");
        } else if (cp == '\r') {
            dc_buf_puts(out, "\\r");
        } else if (dc_names_printable(cp)) {
            dc_buf_append(out, s + i, (size_t)len);
        } else {
            put_escape(out, cp);
        }
        i += (size_t)len;
    }
    dc_buf_putc(out, quote);
}

/* Python's float() / IS() would take this item (already stripped) */
/* [+-]digits[.digits] (integer: no fraction) in at most 15 characters: a
 * number to both Python and strtod without asking strtod */
static int plain_decimal(const char *s, size_t n, int integer)
{
    size_t i = 0, digits = 0;
    if (n > 15) return 0;
    if (i < n && (s[i] == '+' || s[i] == '-')) i++;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    if (i < n && s[i] == '.' && !integer) {
        i++;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++, digits++;
    }
    return digits && i == n;
}

static int is_number(const char *s, size_t n, int integer)
{
    char buf[64];
    if (plain_decimal(s, n, integer)) return 1;
    if (n == 0 || n >= sizeof buf) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; i < n; i++) /* strtod also reads hex, Python does not */
        if (buf[i] == 'x' || buf[i] == 'X') return 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end != '\0') return 0;
    return !integer || (isfinite(v) && v == floor(v));
}

static int all_numbers(const char *s, size_t n, int integer)
{
    for (size_t i = 0;;) {
        size_t j = i;
        while (j < n && s[j] != '\\') j++;
        if (j > i && !is_number(s + i, j - i, integer)) return 0;
        if (j >= n) return 1;
        i = j + 1;
    }
}

void dc_py_multivalue(dc_buf *out, const char *s, size_t n, enum dc_py_items kind)
{
    int bare_numbers = (kind == DC_PY_NUMBER || kind == DC_PY_INTEGER) &&
                       all_numbers(s, n, kind == DC_PY_INTEGER);
    dc_buf_putc(out, '[');
    for (size_t i = 0;;) {
        size_t j = i;
        while (j < n && s[j] != '\\') j++;
        if (i > 0) dc_buf_puts(out, ", ");
        int empty = j == i;
        if (kind == DC_PY_BARE || (bare_numbers && !empty))
            dc_buf_append(out, s + i, j - i);
        else
            dc_py_repr(out, s + i, j - i);
        if (j >= n) break;
        i = j + 1;
    }
    dc_buf_putc(out, ']');
}
