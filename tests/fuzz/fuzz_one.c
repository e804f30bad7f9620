/*
 * fuzz_one.c - the whole per-file path of dcmcrawl on one in-memory file,
 * with its invariants checked.  Shared by the libFuzzer target
 * (fuzz_dcmfile.c, clang -fsanitize=fuzzer,address,undefined) and the
 * regression replay (tests/unit/test_fuzz_regressions.c, every build).
 *
 * The path is the crawler's, in its order:
 *   1. header pass: dc_parse_memory with the header-pass options (no
 *      fragment walk), dc_record_from_dataset, dc_flatten_columns, the record
 *      packed and unpacked as it travels between ranks;
 *   2. the size gate of the planning step (dc_pixel_check_size) with a small
 *      ceiling, as run.max_image_bytes does in a crawl (deflated datasets
 *      are inflated up to that ceiling + 16 MiB);
 *   3. the worker's parse (fragments walked), dc_flatten into values (in
 *      csv_style seed for even input sizes, dicom for odd), the CSV row
 *      formatted (plain and with the formula guard) and parsed back;
 *   4. decoding: up to FUZZ_MAX_FRAMES frames in the stored type, and frame 0
 *      rescaled to float32, whatever the transfer syntax says (native, RLE,
 *      JPEG, JPEG-LS, JPEG 2000, HTJ2K); a Siemens mosaic's first tiles too;
 *   5. the label core: references, SEG and RTSTRUCT readers, placement and
 *      rasterisation (fuzz_labels.c, its invariants there).
 * Besides, the whole input goes through the Siemens CSA header reader
 * (dc_csa_parse) as if it were a CSA blob; inside a DICOM file the reader
 * sees the blob of (0029,xx10) in step 1 (dc_record_from_dataset).
 *
 * Invariants (a violation aborts, which the fuzzer reports as a crash):
 * every failure comes with a reason; values are valid UTF-8 without NUL;
 * dc_flatten_columns names the same columns as dc_flatten; the CSV row parses
 * back into exactly the values; the guarded row differs only by a leading
 * quote on values that would start a formula; a record survives pack/unpack.
 * Memory errors and undefined behaviour are the sanitizers' job.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_csv.h"
#include "dc_decode.h"
#include "dc_dicom.h"
#include "dc_flatten.h"
#include "dc_record.h"
#include "dc_scan.h"
#include "dc_tiles.h"
#include "dc_vendor.h"

#define FUZZ_MAX_IMAGE (16u << 20) /* the ceiling used here: 16 MiB of decoded frames */
#define FUZZ_MAX_FRAMES 4

#define FUZZ_CHECK(cond, ...)                                                                    \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz invariant failed at %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fputc('\n', stderr);                                                                 \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* 1 when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF) */
static int fuzz_utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            k = 1, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            k = 2, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            k = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += k + 1;
    }
    return 1;
}

static void fuzz_check_record_roundtrip(const dc_record *r)
{
    dc_buf b;
    dc_buf_init(&b);
    dc_record_pack(r, &b);
    dc_record back;
    dc_record_init(&back);
    const char *p = b.data, *end = b.data + b.len;
    FUZZ_CHECK(dc_record_unpack(&p, end, &back) == 0 && p == end, "record unpack failed");
    FUZZ_CHECK(back.rows == r->rows && back.cols == r->cols && back.frames == r->frames &&
                   back.n_frame_geom == r->n_frame_geom && !strcmp(back.sop_uid, r->sop_uid) &&
                   !strcmp(back.ts_uid, r->ts_uid) && back.kind == r->kind &&
                   dc_palette_equal(back.palette, r->palette) &&
                   dc_tiles_of(&back.vendor) == dc_tiles_of(&r->vendor) &&
                   !back.vendor.note == !r->vendor.note && back.vendor.n_frames == r->vendor.n_frames,
               "record changed through pack/unpack");
    const dc_tiling *t = r->vendor.tiling;
    FUZZ_CHECK(!t || (t->grid && r->rows % t->grid == 0 && r->cols % t->grid == 0 &&
                      t->n_tiles <= t->grid * t->grid),
               "mosaic of %u tiles in a %u grid of %ux%u", (unsigned)t->n_tiles, (unsigned)t->grid,
               (unsigned)r->rows, (unsigned)r->cols);
    dc_record_free(&back);
    dc_buf_free(&b);
}

/* the metadata row as the crawler writes it, parsed back */
static void fuzz_check_csv(const dc_row *row, int guard)
{
    dc_colset cs;
    dc_colset_init(&cs);
    for (size_t i = 0; i < row->n; i++) dc_colset_add(&cs, &row->cols[i]);
    dc_colset_sort(&cs);
    dc_buf line;
    dc_buf_init(&line);
    dc_csv_set_formula_guard(guard);
    size_t missing = dc_csv_format_row(&cs, "scan_1.2.3", 1, row, &line);
    dc_csv_set_formula_guard(0);
    FUZZ_CHECK(missing == 0, "%zu columns missing from the column set", missing);
    dc_strvec f;
    dc_strvec_init(&f);
    long used = dc_csv_parse_record(line.data, line.len, &f);
    FUZZ_CHECK(used == (long)line.len, "row of %zu bytes parsed as %ld", line.len, used);
    FUZZ_CHECK(f.n == cs.n + 2, "%zu fields for %zu columns", f.n, cs.n);
    FUZZ_CHECK(!strcmp(f.v[0], "scan_1.2.3") && !strcmp(f.v[1], "1"), "first fields changed");
    for (size_t i = 0; i < row->n; i++) {
        long j = dc_colset_find(&cs, row->cols[i].name);
        const char *want = row->vals[i], *got = f.v[2 + j];
        if (guard && dc_csv_is_formula(want)) {
            FUZZ_CHECK(got[0] == '\'' && !strcmp(got + 1, want), "guarded value %s -> %s", want, got);
        } else {
            FUZZ_CHECK(!strcmp(got, want), "value %s came back as %s", want, got);
        }
        if (guard) FUZZ_CHECK(!dc_csv_is_formula(got), "value %s still starts a formula", got);
    }
    dc_strvec_free(&f);
    dc_buf_free(&line);
    dc_colset_free(&cs);
}

static void fuzz_check_row(const dc_dataset *ds, dc_row *row, dc_row *names)
{
    dc_row_clear(row);
    dc_row_clear(names);
    dc_flatten(ds, row);
    dc_flatten_columns(ds, names);
    FUZZ_CHECK(row->n == names->n, "dc_flatten gave %zu columns, dc_flatten_columns %zu", row->n,
               names->n);
    for (size_t i = 0; i < row->n; i++) {
        const char *v = row->vals[i], *nm = row->cols[i].name;
        FUZZ_CHECK(nm && *nm && !strcmp(nm, names->cols[i].name), "column %zu: %s vs %s", i, nm,
                   names->cols[i].name);
        FUZZ_CHECK(v != NULL, "column %s has no value", nm);
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)v, strlen(v)), "value of %s is not UTF-8",
                   nm);
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)nm, strlen(nm)), "name %s is not UTF-8", nm);
    }
    fuzz_check_csv(row, 0);
    fuzz_check_csv(row, 1);
}

static void fuzz_decode(dc_dataset *ds, const dc_record *rec, size_t size)
{
    dc_pixel_desc pd;
    char why[DC_ERRLEN] = "", err[DC_ERRLEN];
    dc_pixel_desc_from_record(rec, &pd);
    if (rec->pixel_kind == DC_PIX_NONE) return;
    if (dc_pixel_check_size(&pd, size, FUZZ_MAX_IMAGE, why, sizeof why) != 0) {
        FUZZ_CHECK(why[0], "size gate refused without a reason");
        return;
    }
    uint64_t nval = dc_pixel_frame_values(&pd);
    if (dc_pixel_value_size(&pd) == 0 || nval == 0) {
        /* the gate leaves these to the decoder, which must refuse them
         * before it writes anything (dummy is far smaller than a frame) */
        uint8_t dummy[16];
        err[0] = '\0';
        FUZZ_CHECK(dc_decode_frames(ds, &pd, 0, 1, dc_output_dtype(&pd, 0), 1.0, 0.0, dummy, err,
                                    sizeof err) != 0 && err[0],
                   "decoded with BitsAllocated %u, %llu values", (unsigned)pd.bits_alloc,
                   (unsigned long long)nval);
        return;
    }
    int dt = dc_output_dtype(&pd, 0);
    size_t bytes = (size_t)nval * (size_t)(dc_dtype_size(dt) > 4 ? dc_dtype_size(dt) : 4);
    void *out = malloc(bytes ? bytes : 1);
    if (!out) return;
    uint32_t n = pd.frames < FUZZ_MAX_FRAMES ? pd.frames : FUZZ_MAX_FRAMES;
    for (uint32_t f = 0; f < n; f++) {
        err[0] = '\0';
        if (dc_decode_frames(ds, &pd, f, 1, dt, 1.0, 0.0, out, err, sizeof err) != 0) {
            FUZZ_CHECK(err[0], "decode of frame %u failed without a reason", (unsigned)f);
            break;
        }
    }
    err[0] = '\0';
    if (dc_decode_frames(ds, &pd, 0, 1, DC_DT_F32, rec->slope, rec->intercept, out, err,
                         sizeof err) != 0)
        FUZZ_CHECK(err[0], "rescaled decode failed without a reason");
    for (uint32_t t = 0; t < dc_tiles_of(&rec->vendor) && t < FUZZ_MAX_FRAMES; t++) {
        err[0] = '\0';
        if (dc_decode_tile(ds, &pd, rec->vendor.tiling->grid, 0, t, dt, 1.0, 0.0, out, err, sizeof err) != 0) {
            FUZZ_CHECK(err[0], "tile %u failed without a reason", (unsigned)t);
            break;
        }
    }
    dc_tiles_forget();
    free(out);
}

/* the input as a CSA header blob: bounded, a reason for every refusal */
static void fuzz_csa(const uint8_t *data, size_t size)
{
    static dc_csa_info info;
    char why[DC_ERRLEN] = "";
    if (dc_csa_parse(data, size, &info, why, sizeof why) != 0)
        FUZZ_CHECK(why[0], "CSA header refused without a reason");
    else
        FUZZ_CHECK(info.n_times <= DC_CSA_MAX_ITEMS, "%u times", (unsigned)info.n_times);
}

#include "fuzz_labels.c" /* 5. the label core (SEG, RTSTRUCT, references) */

/* The whole per-file path on data[0..size).  Returns 0 (the fuzzer's convention). */
int dc_fuzz_one(const uint8_t *data, size_t size)
{
    static int ready;
    static dc_dataset ds;
    static dc_row row, names;
    if (!ready) {
        /* as a crawl does from run.max_image_bytes (+ 16 MiB here, not 256:
         * the fuzzer refuses single allocations above 512 MiB) */
        dc_parse_set_inflate_limit(FUZZ_MAX_IMAGE + (16u << 20));
        dc_dataset_init(&ds);
        dc_row_init(&row);
        dc_row_init(&names);
        ready = 1;
    }
    char err[DC_ERRLEN];
    dc_parse_opts po;
    dc_record rec;

    fuzz_csa(data, size);

    /* 1. the header pass */
    dc_parse_opts_default(&po);
    int rc = dc_parse_memory(data, size, &po, &ds, err, sizeof err);
    FUZZ_CHECK(rc != DC_PARSE_ERROR || err[0], "parse error without a reason");
    if (rc != DC_PARSE_OK) return 0;
    dc_record_init(&rec);
    dc_record_from_dataset(&ds, &rec);
    fuzz_check_record_roundtrip(&rec);
    dc_row_clear(&names);
    dc_flatten_columns(&ds, &names);
    dc_record_free(&rec);

    /* 3. the worker's parse, row and CSV; 4. decoding */
    po.walk_fragments = 1;
    rc = dc_parse_memory(data, size, &po, &ds, err, sizeof err);
    FUZZ_CHECK(rc != DC_PARSE_ERROR || err[0], "parse error without a reason");
    if (rc != DC_PARSE_OK) return 0;
    /* both csv_styles (by the input's size), restored for the callers */
    int style = dc_flatten_style();
    dc_flatten_set_style(size & 1 ? DC_CSV_STYLE_DICOM : DC_CSV_STYLE_SEED);
    fuzz_check_row(&ds, &row, &names);
    dc_flatten_set_style(style);
    dc_record_init(&rec);
    dc_record_from_dataset(&ds, &rec);
    fuzz_decode(&ds, &rec, size);
    dc_record_free(&rec);
    fuzz_labels(&ds, size);
    dc_dataset_clear(&ds);
    return 0;
}
