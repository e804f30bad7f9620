/*
 * dclabel.c - drive the label core (seg.c, rtstruct.c, references.c, grid.c)
 * on files, for tests and for looking at one object by hand.
 *
 *   dclabel seg  SEG.dcm  OUT.npy [IMAGE.dcm ...]
 *   dclabel rtss RTSS.dcm OUT.npy IMAGE.dcm ...
 *   dclabel refs FILE.dcm
 *
 * The IMAGE files are one series, stacked the crawler's way (records,
 * dc_stack_scan in volume mode, slice order by position) to give the grid.
 * seg writes the label volumes as one .npy, uint8 (segments, z, y, x) in
 * SegmentSequence order, on the image grid when every frame lies on it
 * (or no IMAGE given: the SEG's own grid); rtss writes (rois, z, y, x) in
 * StructureSetROISequence order.  Each prints one JSON object on stdout:
 *   seg:  {"grid": "image"|"own", "warning": "...", "shape": [...],
 *          "affine": [16 values], "type": "BINARY", "max_fractional": 1,
 *          "segments": [{"number", "label", "algorithm_type",
 *                        "category": [value, scheme, meaning], "type": [...]}]}
 *   rtss: {"shape": [...], "rois": [{"number", "name", "type", "color",
 *          "drawn", "not_closed", "off_slice", "degenerate"}]}
 *   refs: {"refs": [{"kind", "study", "series", "sop", "for"}],
 *          "by_series": [{"kind", "series", "sop", "instances"}],
 *          "target": series a label object was drawn on, or ""}
 * On failure: {"error": "<reason>"} and exit 1 (usage: 64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_config.h"
#include "dc_decode.h"
#include "dc_dicom.h"
#include "dc_grid.h"
#include "dc_labels.h"
#include "dc_record.h"
#include "dc_references.h"
#include "dc_rtstruct.h"
#include "dc_scan.h"
#include "dc_seg.h"
#include "dc_util.h"

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            putchar(' ');
        else
            putchar(*s);
    }
    putchar('"');
}

static int fail(const char *msg)
{
    printf("{\"error\": ");
    json_str(msg);
    printf("}\n");
    return 1;
}

/* parse path into ds (initialised here; free it whatever the result);
 * keep_open for decoding pixel data later.  Returns 0 or -1 with err. */
static int parse(const char *path, int keep_open, dc_dataset *ds, char *err)
{
    dc_parse_opts po;
    dc_dataset_init(ds);
    dc_parse_opts_default(&po);
    po.keep_open = keep_open;
    po.walk_fragments = keep_open;
    if (dc_parse_file(path, &po, ds, err, DC_ERRLEN) == DC_PARSE_OK) return 0;
    if (!err[0]) snprintf(err, DC_ERRLEN, "not DICOM");
    return -1;
}

/* a .npy file (format 1.0) of uint8 with shape dims[nd] */
static int write_npy(const char *path, const uint8_t *data, const uint64_t *dims, int nd)
{
    char hdr[256];
    int n = snprintf(hdr, sizeof hdr, "{'descr': '|u1', 'fortran_order': False, 'shape': (");
    uint64_t total = 1;
    for (int i = 0; i < nd; i++) {
        n += snprintf(hdr + n, sizeof hdr - n, "%llu, ", (unsigned long long)dims[i]);
        total *= dims[i];
    }
    n += snprintf(hdr + n, sizeof hdr - n, "), }");
    while ((10 + n + 1) % 64) hdr[n++] = ' ';
    hdr[n++] = '\n';
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    unsigned char pre[10] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    int ok = fwrite(pre, 1, 10, f) == 10 && fwrite(hdr, 1, (size_t)n, f) == (size_t)n &&
             fwrite(data, 1, (size_t)total, f) == (size_t)total;
    return (fclose(f) != 0 || !ok) ? -1 : 0;
}

/* the grid of the image series files[n], stacked as the crawler does */
static int image_grid(char **files, int n, dc_grid *g, char *err)
{
    dc_record *recs = dc_calloc((size_t)n, sizeof *recs);
    dc_dataset ds;
    dc_parse_opts po;
    dc_parse_opts_default(&po);
    dc_dataset_init(&ds);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        dc_record_init(&recs[i]);
        recs[i].file_idx = (uint32_t)i;
        if (dc_parse_file(files[i], &po, &ds, err, DC_ERRLEN) != DC_PARSE_OK)
            rc = -1;
        else
            dc_record_from_dataset(&ds, &recs[i]);
        dc_dataset_clear(&ds);
    }
    dc_dataset_free(&ds);
    dc_scan scan;
    memset(&scan, 0, sizeof scan);
    dc_group_opts go = {.volumes = 1,
                        .split_inconsistent = 1,
                        .slice_order = DC_ORDER_POSITION,
                        .layout = DC_LAYOUT_ZYX,
                        .write_pixeldata = 1};
    if (rc == 0) {
        scan.n_slices = (uint32_t)n;
        scan.slice_rec = dc_malloc((size_t)n * sizeof *scan.slice_rec);
        for (int i = 0; i < n; i++) scan.slice_rec[i] = (uint32_t)i;
        rc = dc_stack_scan(recs, (const char *const *)files, &go, &scan);
        if (rc != 0)
            snprintf(err, DC_ERRLEN, "cannot stack the image series");
        else
            rc = dc_grid_from_scan(&scan, g, err, DC_ERRLEN);
    }
    dc_scan_free(&scan);
    for (int i = 0; i < n; i++) dc_record_free(&recs[i]);
    free(recs);
    return rc;
}

static void print_code(const char *name, const dc_code *c)
{
    printf(", \"%s\": [", name);
    json_str(c->value);
    printf(", ");
    json_str(c->scheme);
    printf(", ");
    json_str(c->meaning);
    printf("]");
}

static void print_seg(const dc_seg_info *s, const dc_grid *g, int own, const char *warning)
{
    printf("{\"grid\": \"%s\", \"warning\": ", own ? "own" : "image");
    json_str(warning);
    printf(", \"shape\": [%u, %u, %u, %u], \"affine\": [", s->n_segments, g->nz, g->ny, g->nx);
    for (int i = 0; i < 16; i++) printf("%s%.17g", i ? ", " : "", g->affine[i]);
    static const char *types[] = {"BINARY", "FRACTIONAL", "LABELMAP"};
    printf("], \"type\": \"%s\", \"max_fractional\": %u, \"segments\": [", types[s->type],
           (unsigned)s->max_fractional);
    for (uint32_t i = 0; i < s->n_segments; i++) {
        const dc_segment *sg = &s->segments[i];
        printf("%s{\"number\": %u, \"label\": ", i ? ", " : "", (unsigned)sg->number);
        json_str(sg->label);
        printf(", \"algorithm_type\": ");
        json_str(sg->algorithm_type);
        print_code("category", &sg->category);
        print_code("type", &sg->type);
        printf("}");
    }
    printf("]}\n");
}

static int run_seg(const char *in, const char *out, char **images, int n_images)
{
    char err[DC_ERRLEN] = "";
    dc_grid g;
    dc_grid_init(&g);
    if (n_images > 0 && image_grid(images, n_images, &g, err) != 0) return fail(err);
    dc_dataset ds;
    dc_label_volume v;
    memset(&v, 0, sizeof v);
    int rc = parse(in, 1, &ds, err);
    if (rc == 0) rc = dc_label_seg(&ds, &g, 0, &v, err, sizeof err);
    uint64_t dims[4] = {v.n_labels, v.grid.nz, v.grid.ny, v.grid.nx};
    if (rc == 0 && write_npy(out, v.data, dims, 4) != 0) {
        snprintf(err, sizeof err, "cannot write %s", out);
        rc = -1;
    }
    if (rc == 0) print_seg(&v.seg, &v.grid, v.own_grid, v.warning);
    dc_label_volume_free(&v);
    dc_grid_free(&g);
    dc_dataset_free(&ds);
    return rc == 0 ? 0 : fail(err);
}

static void print_roi(const dc_roi *r, const dc_raster_stats *st, int first)
{
    printf("%s{\"number\": %d, \"name\": ", first ? "" : ", ", (int)r->number);
    json_str(r->name);
    printf(", \"type\": ");
    json_str(r->interpreted_type);
    if (r->has_color)
        printf(", \"color\": [%u, %u, %u]", r->color[0], r->color[1], r->color[2]);
    else
        printf(", \"color\": null");
    printf(", \"drawn\": %u, \"not_closed\": %u, \"off_slice\": %u, \"degenerate\": %u}", st->drawn,
           st->not_closed, st->off_slice, st->degenerate);
}

static int run_rtss(const char *in, const char *out, char **images, int n_images)
{
    char err[DC_ERRLEN] = "";
    dc_grid g;
    if (image_grid(images, n_images, &g, err) != 0) return fail(err);
    dc_dataset ds;
    dc_label_volume v;
    memset(&v, 0, sizeof v);
    int rc = parse(in, 0, &ds, err);
    if (rc == 0) rc = dc_label_rtss(&ds, &g, 0, &v, err, sizeof err);
    uint64_t dims[4] = {v.n_labels, v.grid.nz, v.grid.ny, v.grid.nx};
    if (rc == 0 && write_npy(out, v.data, dims, 4) != 0) {
        snprintf(err, sizeof err, "cannot write %s", out);
        rc = -1;
    }
    if (rc == 0) {
        printf("{\"shape\": [%u, %u, %u, %u], \"rois\": [", v.n_labels, v.grid.nz, v.grid.ny,
               v.grid.nx);
        for (uint32_t i = 0; i < v.n_labels; i++) print_roi(&v.rtss.rois[i], &v.stats[i], i == 0);
        printf("]}\n");
    }
    dc_label_volume_free(&v);
    dc_grid_free(&g);
    dc_dataset_free(&ds);
    return rc == 0 ? 0 : fail(err);
}

static void print_ref(const dc_reference *r, int first, long instances)
{
    printf("%s{\"kind\": \"%s\", \"study\": ", first ? "" : ", ", r->kind);
    json_str(r->study_uid);
    printf(", \"series\": ");
    json_str(r->series_uid);
    printf(", \"sop\": ");
    json_str(r->sop_uid);
    printf(", \"for\": ");
    json_str(r->for_uid);
    if (instances >= 0) printf(", \"instances\": %ld", instances);
    printf("}");
}

static int run_refs(const char *in)
{
    char err[DC_ERRLEN] = "";
    dc_dataset ds;
    if (parse(in, 0, &ds, err) != 0) {
        dc_dataset_free(&ds);
        return fail(err);
    }
    dc_reference_list refs, series;
    uint32_t *counts;
    dc_reference_list_init(&refs);
    dc_references_read(&ds, &refs);
    dc_references_by_series(&refs, &series, &counts);
    printf("{\"refs\": [");
    for (size_t i = 0; i < refs.n; i++) print_ref(&refs.v[i], i == 0, -1);
    printf("], \"by_series\": [");
    for (size_t i = 0; i < series.n; i++) print_ref(&series.v[i], i == 0, counts[i]);
    const char *target = dc_references_target(&refs);
    printf("], \"target\": ");
    json_str(target ? target : "");
    printf("}\n");
    free(counts);
    dc_reference_list_free(&series);
    dc_reference_list_free(&refs);
    dc_dataset_free(&ds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "refs") == 0) return run_refs(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "seg") == 0)
        return run_seg(argv[2], argv[3], argv + 4, argc - 4);
    if (argc >= 5 && strcmp(argv[1], "rtss") == 0)
        return run_rtss(argv[2], argv[3], argv + 4, argc - 4);
    fprintf(stderr, "usage: dclabel seg SEG.dcm OUT.npy [IMAGE.dcm ...]\n"
                    "       dclabel rtss RTSS.dcm OUT.npy IMAGE.dcm ...\n"
                    "       dclabel refs FILE.dcm\n");
    return 64;
}
