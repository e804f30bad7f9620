/*
 * dc_names.h - element names as the old crawler wrote them (pydicom's
 * DataElement.name), for output.csv_style: seed (SPEC 4).
 *
 * The tables are generated from pydicom's own dictionaries by
 * tools/gen_names.py into src/header/dc_names_table.c (committed; the pydicom
 * version is named there and in dc_names_source).  Lookups: src/header/names.c.
 */
#ifndef DC_NAMES_H
#define DC_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* Names returned are valid until dc_names_release on this thread.
 * Name of a public tag: DicomDictionary, then the repeating groups
 * (50xx, 60xx, ...) in pydicom's order.  NULL when pydicom knows neither
 * (DataElement.name is then "Group Length" for element 0000, else ""). */
const char *dc_names_public(uint32_t tag);

/* pydicom's private dictionary description (without the brackets DataElement.name
 * adds) of a private tag for this creator (exact, trailing spaces trimmed
 * as pydicom reads it).  NULL when unknown. */
const char *dc_names_private(uint32_t tag, const char *creator);

/* Lowest public tag whose name is s[0..n) (also repeating-group names, as
 * their mask with x = 0), or 0xFFFFFFFF. */
uint32_t dc_names_tag_of(const char *s, size_t n);

/* Python's str.isprintable() for one code point. */
int dc_names_printable(uint32_t cp);

/* "pydicom 2.3.1": where the tables come from */
extern const char dc_names_source[];

/* Free this thread's decoded names (names returned before become invalid). */
void dc_names_release(void);

/* ---- generated tables (src/header/dc_names_table.c), used by names.c only ----
 * A name is an offset into dc_names_codes: its number of words, then each
 * word's index into dc_names_words (one byte below 128, else two bytes,
 * 0x80 | high, low).  Names come back decoded, one copy per name and thread,
 * so a name's pointer stands for the name. */
typedef struct {
    uint32_t tag;
    uint32_t name; /* offset in dc_names_codes */
} dc_name_pub;

typedef struct {
    uint32_t mask1, mask2; /* match: (tag ^ mask1) & mask2 == 0 */
    uint32_t name;
} dc_name_rep;

typedef struct {
    uint32_t key;  /* the dictionary key with x = 0 */
    uint32_t meta; /* creator index << 23 | kind << 21 | name; kind 0 ggggeeee,
                      1 ggggxxee, 2 ggxxxxee; sorted by (meta >> 21, key) */
} dc_name_priv;

extern const char dc_names_word_text[];
extern const uint16_t dc_names_words[];
extern const uint8_t dc_names_codes[];
extern const dc_name_pub dc_names_pub[];
extern const size_t dc_names_pub_n;
extern const uint16_t dc_names_rev[];
extern const dc_name_rep dc_names_rep[];
extern const size_t dc_names_rep_n;
extern const char dc_names_creator_text[];
extern const uint16_t dc_names_creators[];
extern const size_t dc_names_creators_n;
extern const dc_name_priv dc_names_priv[];
extern const size_t dc_names_priv_n;
extern const uint32_t dc_names_nonprint[][2];
extern const size_t dc_names_nonprint_n;

#endif
