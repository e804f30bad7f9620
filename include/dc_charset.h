/*
 * dc_charset.h - Specific Character Set (0008,0005) to UTF-8.
 *
 * Follows PS3.5 6.1 and pydicom's decoding rules so CSV text equals
 * pydicom's decoded strings: single-byte sets (ISO_IR 100 ... 166, 13),
 * ISO 2022 code extensions with escape sequences (ISO 2022 IR 6/87/149/
 * 159/58/13/100...), multi-byte sets without extensions (ISO_IR 192 UTF-8,
 * GB18030, GBK).  PN values switch back to the first set at '^' and '='
 * delimiters; other text at CR/LF/TAB/FF and '\\'.  Uses iconv.
 */
#ifndef DC_CHARSET_H
#define DC_CHARSET_H

#include <stddef.h>
#include <stdint.h>
#include "dc_util.h"

/* IN spec: the raw (0008,0005) value with backslashes ("" or NULL for the
 *    default repertoire); vr: element VR (PN delimiters differ); in/n: bytes.
 * OUT appended to out as UTF-8.  Undecodable bytes become U+FFFD, never an
 * error; unknown character set terms fall back to ISO-8859-1 (as pydicom warns
 * and falls back).  Returns 0, or 1 when a replacement/fallback happened. */
int dc_charset_to_utf8(const char *spec, uint16_t vr, const uint8_t *in, size_t n, dc_buf *out);

#endif
