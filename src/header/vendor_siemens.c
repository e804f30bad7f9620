/*
 * vendor_siemens.c - Siemens conventions: the CSA header reader and mosaics.
 * See dc_vendor.h.
 *
 * CSA headers are Siemens' binary blobs in (0029,xx10) (image) and
 * (0029,xx20) (series), private creator "SIEMENS CSA HEADER".  Two layouts
 * (as SPM's spm_dicom_headers and nibabel's csareader read them):
 *   CSA2: "SV10", 4 unused bytes, then as CSA1;
 *   CSA1: u32 tag count, u32 check (77); per tag: name[64], i32 vm, vr[4],
 *         i32 syngodt, i32 item count, i32 check; per item: 4 x i32 (the
 *         length is the second (CSA2), or the first minus the first tag's
 *         item count (CSA1)), the value padded to 4 bytes.
 * Values are NUL-terminated text.  Everything is checked against the bytes
 * left: a CSA header is hostile input (tests/fuzz, test_vendor.c).
 *
 * Mosaics: ImageType holds MOSAIC; NumberOfImagesInMosaic n comes from
 * (0019,xx0A) (creator "SIEMENS MR HEADER"), else from the CSA image header.
 * The n slices are tiles of an m x m grid, m = ceil(sqrt(n)), tile s at grid
 * row s / m, column s % m, each (Rows / m) x (Columns / m).  ImagePosition-
 * Patient is that of the whole mosaic; voxel (0,0) of tile 0 is at
 *   IPP + row cosine * PixelSpacing[1] * (Columns - Columns / m) / 2
 *       + column cosine * PixelSpacing[0] * (Rows - Rows / m) / 2
 * (nibabel dicomwrappers.MosaicWrapper.image_position, dcm2niix).  Tile s+1
 * is one slice spacing (SpacingBetweenSlices, else SliceThickness) further
 * along the normal row cosine x column cosine, with the sign of the CSA
 * SliceNormalVector (nibabel SiemensWrapper.slice_normal).
 * MosaicRefAcqTimes (CSA) gives each tile's acquisition time (ms).
 */
#include "dc_vendor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the CSA reader ---- */

#define CSA_TAG_BYTES (64 + 4 + 4 + 4 + 4 + 4)
#define CSA_ITEM_HEAD 16

typedef struct {
    const uint8_t *p;
    size_t len, pos;
} csa_cursor;

static int32_t csa_i32(csa_cursor *c)
{
    const uint8_t *q = c->p + c->pos;
    c->pos += 4;
    return (int32_t)((uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24);
}

static size_t csa_left(const csa_cursor *c)
{
    return c->len - c->pos;
}

/* a NUL-terminated text value of at most n bytes, as a number; 0 when it is one */
static int csa_number(const uint8_t *v, size_t n, double *out)
{
    char txt[64];
    size_t k = 0;
    while (k < n && k + 1 < sizeof txt && v[k]) {
        txt[k] = (char)v[k];
        k++;
    }
    txt[k] = '\0';
    char *end;
    double d = strtod(txt, &end);
    while (*end == ' ') end++;
    if (end == txt || *end || !isfinite(d)) return -1;
    *out = d;
    return 0;
}

enum { CSA_OTHER, CSA_N_IMAGES, CSA_NORMAL, CSA_TIMES, CSA_B_VALUE };

static int csa_which(const uint8_t *name)
{
    static const char *names[] = {"NumberOfImagesInMosaic", "SliceNormalVector", "MosaicRefAcqTimes",
                                  "B_value"};
    char nm[65];
    memcpy(nm, name, 64);
    nm[64] = '\0';
    for (int k = 0; k < 4; k++)
        if (strcmp(nm, names[k]) == 0) return CSA_N_IMAGES + k;
    return CSA_OTHER;
}

/* item k (value v[n]) of a tag we keep; the first empty item ends a list */
static void csa_keep(dc_csa_info *info, int which, uint32_t k, const uint8_t *v, size_t n, int *ended)
{
    double d;
    if (*ended || n == 0 || csa_number(v, n, &d) != 0) {
        *ended = 1;
        return;
    }
    if (which == CSA_N_IMAGES && k == 0 && d >= 0 && d <= 1e9 && d == floor(d)) {
        info->n_images = (long)d;
        info->has_n_images = 1;
    } else if (which == CSA_NORMAL && k < 3) {
        info->normal[k] = d;
        if (k == 2) info->has_normal = 1;
    } else if (which == CSA_TIMES && k < DC_CSA_MAX_ITEMS) {
        info->times[k] = d;
        info->n_times = k + 1;
    } else if (which == CSA_B_VALUE && k == 0) {
        info->b_value = d;
        info->has_b_value = 1;
    }
}

static int csa_fail(char *why, size_t whylen, const char *fmt, long a)
{
    char msg[96];
    snprintf(msg, sizeof msg, fmt, a);
    snprintf(why, whylen, "CSA header: %s", msg);
    return -1;
}

/* the items of one tag; -1 with why on garbage (CSA1: a bad length ends the tag) */
static int csa_items(csa_cursor *c, int csa2, int32_t n_items, int32_t first_n_items, int which,
                     dc_csa_info *info, char *why, size_t whylen)
{
    int ended = 0;
    for (int32_t k = 0; k < n_items; k++) {
        if (csa_left(c) < CSA_ITEM_HEAD) return csa_fail(why, whylen, "item header %ld cut short", k);
        int32_t x0 = csa_i32(c), x1 = csa_i32(c);
        c->pos += 8;
        int64_t n = csa2 ? (int64_t)x1 : (int64_t)x0 - first_n_items;
        if (n < 0 || (uint64_t)n > csa_left(c)) {
            if (!csa2) return 0; /* SPM and nibabel: the tag ends here */
            return csa_fail(why, whylen, "item length %ld beyond the header", (long)n);
        }
        if (which != CSA_OTHER) csa_keep(info, which, (uint32_t)k, c->p + c->pos, (size_t)n, &ended);
        size_t padded = (size_t)n + (size_t)((4 - n % 4) % 4);
        c->pos += padded <= csa_left(c) ? padded : csa_left(c);
    }
    return 0;
}

int dc_csa_parse(const uint8_t *p, size_t len, dc_csa_info *info, char *why, size_t whylen)
{
    memset(info, 0, sizeof *info);
    csa_cursor c = {p, p ? len : 0, 0};
    int csa2 = c.len >= 4 && memcmp(p, "SV10", 4) == 0;
    if (c.len < (csa2 ? 16u : 8u)) return csa_fail(why, whylen, "%ld bytes, too short", (long)c.len);
    if (csa2) c.pos = 8;
    int32_t n_tags = csa_i32(&c);
    c.pos += 4; /* check value */
    if (n_tags <= 0 || n_tags > DC_CSA_MAX_ITEMS) return csa_fail(why, whylen, "%ld tags", n_tags);
    int32_t first_n_items = 0;
    for (int32_t t = 0; t < n_tags; t++) {
        if (csa_left(&c) < CSA_TAG_BYTES) return csa_fail(why, whylen, "tag %ld cut short", t);
        const uint8_t *name = c.p + c.pos;
        c.pos += 64 + 4 + 4 + 4; /* name, vm, vr, syngodt */
        int32_t n_items = csa_i32(&c);
        c.pos += 4;
        if (n_items < 0 || n_items > DC_CSA_MAX_ITEMS)
            return csa_fail(why, whylen, "%ld items in a tag", n_items);
        if (t == 0) first_n_items = n_items;
        if (csa_items(&c, csa2, n_items, first_n_items, csa_which(name), info, why, whylen) != 0)
            return -1;
    }
    return 0;
}

/* ---- mosaics ---- */

/* 1 when the backslash-separated value list s holds the value v */
static int has_value(const char *s, const char *v)
{
    size_t n = strlen(v);
    for (const char *q = s; *q;) {
        const char *e = strchr(q, '\\');
        size_t k = e ? (size_t)(e - q) : strlen(q);
        while (k && q[k - 1] == ' ') k--;
        while (k && *q == ' ') q++, k--;
        if (k == n && strncmp(q, v, n) == 0) return 1;
        if (!e) break;
        q = e + 1;
    }
    return 0;
}

/* the CSA image header of a file, parsed; 0, 1 when absent, -1 with why when unreadable */
static int read_csa_image(const dc_dataset *ds, dc_csa_info *info, char *why, size_t whylen)
{
    int i = dc_private_find(ds, 0x0029, "SIEMENS CSA HEADER", 0x10);
    if (i < 0) return 1;
    const dc_elem *e = &ds->el[i];
    const uint8_t *v = dc_value(ds, e);
    if (!v) {
        snprintf(why, whylen, "CSA header not loaded (%u bytes)", (unsigned)e->len);
        return -1;
    }
    return dc_csa_parse(v, e->len, info, why, whylen);
}

/* NumberOfImagesInMosaic from (0019,xx0A); -1 when absent */
static long n_images_private(const dc_dataset *ds)
{
    int i = dc_private_find(ds, 0x0019, "SIEMENS MR HEADER", 0x0A);
    long n;
    if (i < 0) return -1;
    if (dc_get_long_at(ds, i, 0, &n) == 0) return n;
    const dc_elem *e = &ds->el[i]; /* UN: a little endian US */
    const uint8_t *v = dc_value(ds, e);
    if (v && e->len == 2) return (long)(v[0] | v[1] << 8);
    return -1;
}

static void cross3(const double *a, const double *b, double *out)
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

/* position of tile 0 and the step between tiles into t (grid set); note
 * says when the CSA normal could not give the sign.  0, or -1 when the
 * geometry is missing. */
static int tile_geometry(const dc_dataset *ds, const dc_csa_info *csa, dc_tiling *t, long rows,
                         long cols, char *note, size_t notelen)
{
    double ipp[3], iop[6], ps[2], dz = 0;
    if (dc_tag_doubles(ds, DC_TAG_IPP, ipp, 3) != 3 || dc_tag_doubles(ds, DC_TAG_IOP, iop, 6) != 6 ||
        dc_tag_doubles(ds, DC_TAG_PIXEL_SPACING, ps, 2) != 2)
        return -1;
    if (dc_tag_doubles(ds, DC_TAG_SPACING_BETWEEN, &dz, 1) != 1 || !(dz > 0))
        if (dc_tag_doubles(ds, DC_TAG_SLICE_THICKNESS, &dz, 1) != 1 || !(dz > 0)) dz = 1.0;
    double m = t->grid, nrm[3];
    double shift_c = (cols - cols / m) / 2, shift_r = (rows - rows / m) / 2;
    cross3(iop, iop + 3, nrm);
    double len = sqrt(nrm[0] * nrm[0] + nrm[1] * nrm[1] + nrm[2] * nrm[2]);
    if (!(len > 1e-6)) return -1;
    double dot = 0;
    for (int k = 0; k < 3; k++) dot += (nrm[k] /= len) * (csa->has_normal ? csa->normal[k] : 0);
    double sign = dot < 0 ? -1.0 : 1.0;
    if (csa->has_normal && fabs(fabs(dot) - 1.0) > 1e-3)
        snprintf(note, notelen, "CSA SliceNormalVector not along the image normal: ignored");
    else if (!csa->has_normal)
        snprintf(note, notelen, "mosaic without CSA SliceNormalVector: slices along row x column cosines");
    for (int k = 0; k < 3; k++) {
        t->origin[k] = ipp[k] + iop[k] * ps[1] * shift_c + iop[3 + k] * ps[0] * shift_r;
        t->step[k] = sign * nrm[k] * dz;
    }
    t->has_pos = 1;
    return 0;
}

/* the tiling of a mosaic with n tiles in a grid of m (csa zeroed when unreadable) */
static dc_tiling *make_tiling(const dc_dataset *ds, const dc_csa_info *csa, long n, long m, long rows,
                              long cols, char *note, size_t notelen)
{
    dc_tiling *t = dc_tiling_new((uint16_t)n, (uint16_t)m);
    if (tile_geometry(ds, csa, t, rows, cols, note, notelen) != 0) note[0] = '\0';
    if (csa->n_times >= (uint32_t)n) {
        t->has_times = 1;
        memcpy(t->times, csa->times, (size_t)n * sizeof t->times[0]);
    }
    return t;
}

/* tiling of a mosaic file: n tiles, or a note saying why it is kept whole */
static void read_mosaic(const dc_dataset *ds, dc_vendor_vals *v)
{
    dc_csa_info *csa = dc_calloc(1, sizeof *csa);
    char why[DC_VENDOR_NOTE_LEN / 2] = "", note[DC_VENDOR_NOTE_LEN] = "";
    int csa_rc = read_csa_image(ds, csa, why, sizeof why);
    if (csa_rc != 0) memset(csa, 0, sizeof *csa);
    long n = n_images_private(ds);
    if (n < 0 && csa->has_n_images) n = csa->n_images;
    long rows = 0, cols = 0, frames = 1;
    dc_tag_long(ds, DC_TAG_ROWS, &rows);
    dc_tag_long(ds, DC_TAG_COLUMNS, &cols);
    dc_tag_long(ds, DC_TAG_NUM_FRAMES, &frames);
    long m = n > 0 ? (long)ceil(sqrt((double)n)) : 0;
    if (n <= 0 || n > DC_MAX_TILES) {
        snprintf(note, sizeof note, "mosaic without a usable NumberOfImagesInMosaic%s%s: stored whole",
                 why[0] ? ": " : "", why);
    } else if (rows <= 0 || cols <= 0 || rows > 0xFFFF || cols > 0xFFFF || rows % m || cols % m ||
               frames > 1) {
        snprintf(note, sizeof note, "mosaic of %ld images does not tile %ldx%ld%s: stored whole", n, rows,
                 cols, frames > 1 ? " in several frames" : "");
    } else {
        v->tiling = make_tiling(ds, csa, n, m, rows, cols, note, sizeof note);
        if (csa_rc < 0)
            snprintf(note, sizeof note, "%s: slices along row x column cosines, no slice times", why);
    }
    if (note[0]) v->note = dc_strdup(note);
    free(csa);
}

void dc_siemens_read(const dc_dataset *ds, dc_vendor_vals *v)
{
    char image_type[512];
    if (dc_tag_str(ds, DC_TAG(0x0008, 0x0008), image_type, sizeof image_type) == 0 &&
        has_value(image_type, "MOSAIC"))
        read_mosaic(ds, v);
    if (!v->has_bvalue) {
        int i = dc_private_find(ds, 0x0019, "SIEMENS MR HEADER", 0x0C);
        if (i >= 0 && dc_get_double_at(ds, i, 0, &v->b_value) == 0) v->has_bvalue = 1;
    }
}
