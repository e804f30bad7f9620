/*
 * dc_charset.h - Specific Character Set (0008,0005) to UTF-8.
 *
 * Decodes text exactly as pydicom 2.3.1 does (charset.py, valuerep.py,
 * values.py), so CSV text equals pydicom's decoded strings:
 *  - single-byte sets (ISO_IR 100 ... 166, 13) and the default repertoire
 *    (decoded as ISO-8859-1, as pydicom does);
 *  - ISO 2022 code extensions: a value is cut into fragments at each ESC; a
 *    fragment whose escape sequence names a listed set is decoded with it
 *    (JIS X 0208/0212 through an ISO-2022-JP decoder that keeps the escape,
 *    single-byte sets and KS X 1001 / GB 2312 up to the first delimiter, the
 *    rest with the first set); PN delimiters are '^' (components split at
 *    '=' first), other text CR LF TAB FF;
 *  - multi-byte sets without extensions (ISO_IR 192 UTF-8, GB18030, GBK);
 *  - unknown terms as pydicom: common misspellings patched ("ISO IR 100"),
 *    Python codec names accepted (a built-in alias table), else ISO-8859-1.
 * Never fails: a fragment that does not decode is decoded again with the
 * first set and U+FFFD for each bad sequence (pydicom's errors='replace').
 *
 * One deliberate difference: pydicom passes the "ESC $ ) A" escape of
 * ISO 2022 IR 58 (GB 2312) to Python's gb2312 codec, which copies the escape
 * bytes into the text; here it is stripped like the KS X 1001 escape.
 *
 * Byte mappings come from glibc iconv, with the few code points where glibc
 * and CPython's codecs disagree patched to CPython's (Shift_JIS 0x5C/0x7E,
 * GB18030 2000 vs 2005, EUC-KR, JIS X 0212 0x2237, TIS-620 C1).  Converters
 * and tables are cached per thread; dc_charset_release() frees them.
 */
#ifndef DC_CHARSET_H
#define DC_CHARSET_H

#include <stddef.h>
#include <stdint.h>
#include "dc_util.h"

#define DC_CHARSET_MAX 8

/* A parsed (0008,0005) value: the encodings in order, as pydicom converts them. */
typedef struct {
    uint8_t n;                   /* number of encodings, >= 1 */
    uint8_t enc[DC_CHARSET_MAX]; /* decoder ids (private to charset.c) */
    uint8_t
        exact[DC_CHARSET_MAX]; /* 1: the term maps to pydicom's own name (matters for escapes) */
    uint8_t fallback;          /* 1: a term was unknown or misspelled */
} dc_charset;

/* IN spec/len: the raw (0008,0005) value bytes with backslashes and padding
 * (NULL or empty for the default repertoire).  OUT cs.  Returns 0, or 1 when
 * a term was unknown or patched (pydicom warns). */
int dc_charset_parse(const char *spec, size_t len, dc_charset *cs);

/* IN cs; pn: 1 for PN ('=' components, '^' delimiters); in/n: ONE value
 * (no backslash splitting).  OUT appended to out as UTF-8.  Returns 0, or 1
 * when replacement characters were used. */
int dc_charset_decode(const dc_charset *cs, int pn, const uint8_t *in, size_t n, dc_buf *out);

/* A whole element value of VR vr as pydicom reads it, values joined by '\':
 * PN: trailing spaces/NULs of the value trimmed, then split at '\';
 * SH LO UC: split at '\', each value decoded then trimmed of trailing
 * spaces/NULs; ST LT UT (and anything else): decoded whole, then trimmed.
 * Returns 0, or 1 when replacement characters were used. */
int dc_charset_value(const dc_charset *cs, uint16_t vr, const uint8_t *in, size_t n, dc_buf *out);

/* Convenience: parse spec and decode one element value (dc_charset_value).
 * Returns 0, or 1 when a replacement/fallback happened. */
int dc_charset_to_utf8(const char *spec, uint16_t vr, const uint8_t *in, size_t n, dc_buf *out);

/* Latin-1 (the default repertoire as pydicom reads it) to UTF-8. */
void dc_latin1_to_utf8(const uint8_t *in, size_t n, dc_buf *out);

/* Free the cached iconv converters and tables of this thread. */
void dc_charset_release(void);

/* Length (1..4) of the well-formed UTF-8 sequence at s[0..n), 0 if none
 * (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, cut
 * short): the decoder's own UTF-8 step. */
size_t dc_utf8_seq_len(const unsigned char *s, size_t n);

#endif
