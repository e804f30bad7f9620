/*
 * dc_dicom.h - dcmcrawl's own DICOM parser.
 *
 * Why our own: the header pass must be far faster than a general toolkit
 * (issue 4: metadata mode at >= 0.3x the speed of an open/read/close loop),
 * every size must be bounded before allocation (issue 6), and pixel data must
 * be located without being loaded so native frames can be read straight into
 * the output buffer.  dcmtk is still used for JPEG/JPEG-LS decoding
 * (dc_dcmtk.h) and its data dictionary is compiled into dc_dict_table.c.
 *
 * A parsed file is a dc_dataset: the header bytes in one buffer and a flat
 * array of elements in file order (pre-order: a sequence element is followed by
 * the elements of its items).  Values are offsets into that buffer.  Pixel
 * data is never loaded by the parser; dc_pixel_loc says where it is.  The
 * file meta elements (group 0002) are at the start of el[] at depth 0; the
 * top-level pixel data element is in el[] too, flagged DC_EL_SKIPPED.
 * Items are not elements: a SQ element's len is its item count and each
 * element inside records its parent SQ index and item number.  Big endian
 * values stay big endian in buf (DC_EL_BIGENDIAN); the getters swap.
 *
 * VRs follow pydicom: implicit VR from the dictionary (private tags through
 * their Private Creator, else UN; US or SS resolved by PixelRepresentation);
 * explicit UN of a known tag gets the dictionary VR; UN (or an unknown
 * implicit tag holding items) with undefined length is a sequence; an
 * explicit VR dataset may hold implicit VR items (detected per item).
 * Without walk_fragments, parsing stops at encapsulated pixel data.
 *
 * Supported encodings: preamble + "DICM" or no preamble; implicit VR little
 * endian, explicit VR little/big endian, deflated explicit VR little endian
 * (inflated into the buffer), defined and undefined length sequences/items,
 * UN with undefined length (parsed as implicit VR little endian).
 */
#ifndef DC_DICOM_H
#define DC_DICOM_H

#include <stddef.h>
#include <stdint.h>
#include "dc_util.h"

#define DC_TAG(g, e) ((uint32_t)(((uint32_t)(g) << 16) | (uint32_t)(e)))
#define DC_TAG_GROUP(t) ((uint16_t)((t) >> 16))
#define DC_TAG_ELEM(t) ((uint16_t)((t)&0xFFFF))
#define DC_VR(a, b) ((uint16_t)(((uint16_t)(a) << 8) | (uint16_t)(b)))

/* a few tags used across modules */
#define DC_TAG_TRANSFER_SYNTAX DC_TAG(0x0002, 0x0010)
#define DC_TAG_MEDIA_SOP_CLASS DC_TAG(0x0002, 0x0002)
#define DC_TAG_SPECIFIC_CHARSET DC_TAG(0x0008, 0x0005)
#define DC_TAG_SOP_CLASS_UID DC_TAG(0x0008, 0x0016)
#define DC_TAG_SOP_INSTANCE_UID DC_TAG(0x0008, 0x0018)
#define DC_TAG_MODALITY DC_TAG(0x0008, 0x0060)
#define DC_TAG_STUDY_UID DC_TAG(0x0020, 0x000D)
#define DC_TAG_SERIES_UID DC_TAG(0x0020, 0x000E)
#define DC_TAG_ACQ_NUMBER DC_TAG(0x0020, 0x0012)
#define DC_TAG_INSTANCE_NUMBER DC_TAG(0x0020, 0x0013)
#define DC_TAG_IPP DC_TAG(0x0020, 0x0032)
#define DC_TAG_IOP DC_TAG(0x0020, 0x0037)
#define DC_TAG_TEMPORAL_POS DC_TAG(0x0020, 0x0100)
#define DC_TAG_SAMPLES DC_TAG(0x0028, 0x0002)
#define DC_TAG_PHOTOMETRIC DC_TAG(0x0028, 0x0004)
#define DC_TAG_PLANAR DC_TAG(0x0028, 0x0006)
#define DC_TAG_NUM_FRAMES DC_TAG(0x0028, 0x0008)
#define DC_TAG_ROWS DC_TAG(0x0028, 0x0010)
#define DC_TAG_COLUMNS DC_TAG(0x0028, 0x0011)
#define DC_TAG_PIXEL_SPACING DC_TAG(0x0028, 0x0030)
#define DC_TAG_BITS_ALLOCATED DC_TAG(0x0028, 0x0100)
#define DC_TAG_BITS_STORED DC_TAG(0x0028, 0x0101)
#define DC_TAG_HIGH_BIT DC_TAG(0x0028, 0x0102)
#define DC_TAG_PIXEL_REP DC_TAG(0x0028, 0x0103)
#define DC_TAG_RESCALE_INTERCEPT DC_TAG(0x0028, 0x1052)
#define DC_TAG_RESCALE_SLOPE DC_TAG(0x0028, 0x1053)
#define DC_TAG_SLICE_THICKNESS DC_TAG(0x0018, 0x0050)
#define DC_TAG_SPACING_BETWEEN DC_TAG(0x0018, 0x0088)
#define DC_TAG_PIXEL_DATA DC_TAG(0x7FE0, 0x0010)
#define DC_TAG_FLOAT_PIXEL_DATA DC_TAG(0x7FE0, 0x0008)
#define DC_TAG_DOUBLE_PIXEL_DATA DC_TAG(0x7FE0, 0x0009)
#define DC_TAG_ITEM DC_TAG(0xFFFE, 0xE000)
#define DC_TAG_ITEM_END DC_TAG(0xFFFE, 0xE00D)
#define DC_TAG_SEQ_END DC_TAG(0xFFFE, 0xE0DD)

/* transfer syntaxes the parser distinguishes */
enum dc_ts {
    DC_TS_UNKNOWN = 0,     /* a UID we do not know: parsed as explicit LE if encapsulated */
    DC_TS_IMPLICIT_LE,     /* 1.2.840.10008.1.2 */
    DC_TS_EXPLICIT_LE,     /* 1.2.840.10008.1.2.1 */
    DC_TS_DEFLATED_LE,     /* 1.2.840.10008.1.2.1.99 */
    DC_TS_EXPLICIT_BE,     /* 1.2.840.10008.1.2.2 */
    DC_TS_ENCAPSULATED     /* any compressed syntax (JPEG, JPEG-LS, RLE, J2K, ...): explicit LE */
};

/* element flags */
#define DC_EL_BIGENDIAN 0x01 /* numeric value bytes are big endian */
#define DC_EL_UNDEF_LEN 0x02 /* sequence/item had undefined length in the file */
#define DC_EL_VR_FROM_DICT 0x04 /* VR came from the dictionary (implicit VR or UN resolved) */
#define DC_EL_VR_AMBIG 0x08  /* dictionary VR was ambiguous (US or SS, OB or OW); resolved as pydicom does */
#define DC_EL_SKIPPED 0x10   /* value not loaded (top-level pixel data, or bulk binary >= 256 KiB that
                                was not already in the buffer): dc_value() returns NULL */

/* What the parser's fstat of a file saw before reading any of its bytes
 * (ok: an open regular file).  The folder ledger signs folders with it
 * (dc_folderledger.h), so a fresh crawl needs no stat of its own. */
typedef struct {
    uint64_t size, ino;
    int64_t mtime_ns, ctime_ns;
    uint8_t ok;
} dc_file_stat;
struct stat;
/* what the parse keeps of an fstat (ok set) */
dc_file_stat dc_file_stat_of(const struct stat *st);

typedef struct {
    uint32_t tag;
    uint16_t vr;      /* DC_VR('P','N') ...; for implicit VR from the dictionary, else UN */
    uint8_t depth;    /* 0 at top level, 1 inside a top-level sequence item, ... */
    uint8_t flags;    /* DC_EL_* */
    uint32_t len;     /* value length in bytes; for SQ the number of items */
    uint32_t val;     /* offset of the value in dc_dataset.buf; for SQ: index of the first
                         element after the sequence's subtree (its items' elements are el[i+1 .. val-1]) */
    int32_t parent;   /* index of the enclosing SQ element, -1 at top level */
    int32_t item;     /* 0-based item number within the parent sequence, -1 at top level */
    int32_t creator;  /* private data element: index of its Private Creator element, else -1 */
    int32_t charset;  /* index of the (0008,0005) element in force, -1 for the default repertoire */
} dc_elem;

typedef struct {
    uint64_t off; /* offset of the fragment bytes: file offset, or into buf when in_buf */
    uint32_t len;
} dc_fragment;

typedef struct {
    int present;      /* a pixel data element exists at top level */
    uint32_t tag;     /* DC_TAG_PIXEL_DATA, DC_TAG_FLOAT_PIXEL_DATA or DC_TAG_DOUBLE_PIXEL_DATA */
    uint16_t vr;
    int encapsulated; /* undefined length with fragments */
    int in_buf;       /* offsets refer to dc_dataset.buf (deflated files), else to the file */
    uint64_t off;     /* native: offset of the value; encapsulated: offset of the first item tag */
    uint64_t len;     /* native: value length; encapsulated: 0 until fragments are walked */
    /* encapsulated only, filled when opts.walk_fragments (or dc_pixel_walk_fragments) */
    uint32_t *bot;    /* basic offset table entries */
    size_t n_bot;
    dc_fragment *frags; /* fragments after the basic offset table item */
    size_t n_frags;
    int walked;
    int truncated;    /* native: the declared value runs past the end of the file */
    size_t bot_cap, frags_cap; /* allocations kept across dc_dataset_clear */
} dc_pixel_loc;

typedef struct {
    /* header bytes: file meta + dataset up to (and after) the pixel data value */
    uint8_t *buf;
    size_t buf_len, buf_cap;
    dc_elem *el;
    size_t n_el, cap_el;
    /* indices of the top-level elements in file order; top_sorted when their
     * tags strictly increase (dc_find then uses a binary search) */
    int32_t *top;
    size_t n_top, cap_top;
    int top_sorted;
    /* file meta */
    int has_preamble;       /* "DICM" at 128 */
    char ts_uid[65];        /* (0002,0010), trimmed; "" if absent */
    int ts;                 /* enum dc_ts used to parse the dataset */
    char media_sop_class[65];
    /* pixel data */
    dc_pixel_loc pixel;
    /* source */
    int fd;                 /* open file while opts.keep_open, else -1 */
    uint64_t file_size;
    dc_file_stat stat;      /* dc_parse_fd's fstat, before any byte was read */
    uint64_t bytes_read;    /* bytes read from the file by the parser */
    char *path;             /* copy of the path parsed */
    size_t path_cap;
    const uint8_t *mem;     /* dc_parse_memory: the caller's image (pixel offsets refer to it) */
    uint64_t mem_len;
} dc_dataset;

typedef struct {
    uint64_t max_value_len; /* ceiling for one element's declared length (default 256 MiB) */
    uint64_t max_pixel_bytes; /* ceiling for pixel data size (default 4 GiB) */
    uint32_t max_depth;     /* sequence nesting ceiling (default 12) */
    uint32_t max_elements;  /* element count ceiling (default 200000) */
    uint64_t max_inflated_bytes; /* deflated datasets are inflated in memory up to this (default
                                    max_pixel_bytes + max_value_len, or dc_parse_set_inflate_limit;
                                    0: the same) */
    int walk_fragments;     /* walk encapsulated items to find fragments and parse elements after them */
    int keep_open;          /* leave ds->fd open for pixel reads */
} dc_parse_opts;

enum { DC_PARSE_OK = 0, DC_PARSE_NOT_DICOM = 1, DC_PARSE_ERROR = -1 };

void dc_parse_opts_default(dc_parse_opts *o);
/* The max_inflated_bytes that dc_parse_opts_default gives from now on in this
 * process (a crawl sets run.max_image_bytes + 256 MiB once, before parsing:
 * a small deflated file must not inflate to gigabytes); 0 restores the
 * default. */
void dc_parse_set_inflate_limit(uint64_t bytes);
void dc_dataset_init(dc_dataset *ds);
void dc_dataset_free(dc_dataset *ds); /* closes fd if open */
/* forget the parsed content but keep the allocations, for parsing many files fast */
void dc_dataset_clear(dc_dataset *ds);
void dc_dataset_close_file(dc_dataset *ds);

/* Parse a file.  Returns DC_PARSE_OK; DC_PARSE_NOT_DICOM when the content is
 * not DICOM (no marker and no plausible header: the caller skips it); or
 * DC_PARSE_ERROR with a short specific reason in err ("truncated header at
 * offset 1234", "element (0010,0010) length 4294967290 exceeds file size",
 * "cannot open: Permission denied").  err never contains the path: the caller
 * adds it. */
int dc_parse_file(const char *path, const dc_parse_opts *o, dc_dataset *ds, char *err, size_t errlen);
/* Same with the file already open as fd (dc_open_input's flags; the parse
 * owns it and closes it unless keep_open); fd -1 opens path. */
int dc_parse_fd(int fd, const char *path, const dc_parse_opts *o, dc_dataset *ds, char *err,
                size_t errlen);
/* A file opened ahead of its parse (prefetch.c): the descriptor (-1: none,
 * the parse opens path), its fstat when stat.ok (taken before any byte was
 * read; the parse then takes none), and when head is not NULL the file's
 * first head_len bytes, read ahead from the page cache.  The parse uses head
 * only when it holds exactly the bytes of its first read
 * (DC_PARSE_FIRST_READ or the whole file if smaller); else it reads them. */
#define DC_PARSE_FIRST_READ (16 * 1024)
typedef struct {
    int fd;
    dc_file_stat stat;
    const uint8_t *head;
    size_t head_len;
} dc_input;
/* dc_parse_fd with what was read ahead (in->fd -1: opens path) */
int dc_parse_input(const dc_input *in, const char *path, const dc_parse_opts *o, dc_dataset *ds, char *err,
                   size_t errlen);
/* open(2) of an input file as the parser does: read-only, O_NOATIME where
 * permitted, O_NONBLOCK (a FIFO must not block), O_CLOEXEC */
int dc_open_input(const char *path);
/* Same over an in-memory file image (fuzzing, tests). Pixel offsets are into data. */
int dc_parse_memory(const uint8_t *data, size_t len, const dc_parse_opts *o, dc_dataset *ds, char *err,
                    size_t errlen);

/* Walk encapsulated fragments if not yet done (needs the file open or memory). */
int dc_pixel_walk_fragments(dc_dataset *ds, char *err, size_t errlen);

/* ---- element access (top level unless stated) ---- */
int dc_find(const dc_dataset *ds, uint32_t tag); /* index or -1 */
/* find tag among the direct children of item `item` of sequence element `sq` */
int dc_find_in_item(const dc_dataset *ds, int sq, int item, uint32_t tag);
const uint8_t *dc_value(const dc_dataset *ds, const dc_elem *e);

/* whole trimmed value as text (with backslashes kept); returns 0 if present */
int dc_get_str(const dc_dataset *ds, int idx, char *out, size_t outlen);
/* whole trimmed value as UTF-8: text of SH LO ST LT PN UC UT decoded from the
 * SpecificCharacterSet in force (charset.c, as pydicom does), other text as
 * dc_get_str; cut at a character boundary to fit; returns 0 if present */
int dc_get_utf8(const dc_dataset *ds, int idx, char *out, size_t outlen);
/* value number k (0-based) of an IS/DS/US/SS/UL/SL/FL/FD/... element; returns 0 if present and parsable */
int dc_get_double_at(const dc_dataset *ds, int idx, int k, double *out);
int dc_get_long_at(const dc_dataset *ds, int idx, int k, long *out);
/* convenience: by tag at top level */
int dc_tag_str(const dc_dataset *ds, uint32_t tag, char *out, size_t outlen);
int dc_tag_long(const dc_dataset *ds, uint32_t tag, long *out);
int dc_tag_doubles(const dc_dataset *ds, uint32_t tag, double *out, int n); /* returns count read */

/* VR helpers */
int dc_vr_is_text(uint16_t vr);      /* AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT */
int dc_vr_is_charset_text(uint16_t vr); /* SH LO ST LT PN UC UT: affected by SpecificCharacterSet */
int dc_vr_is_binary_bulk(uint16_t vr);  /* OB OW OD OF OL OV UN */
int dc_vr_has_long_length(uint16_t vr); /* 4-byte length in explicit VR */
const char *dc_ts_name(int ts);

#endif
