/*
 * dcdecode.c - decode all frames of one DICOM file with dcmcrawl's decoders,
 * for tests and benchmarks.
 *
 *   dcdecode [--rescale] [--per-frame] [--repeat N] FILE OUT.raw
 *
 * Writes the decoded values (frames x rows x cols x samples, C order, host
 * byte order) to OUT.raw and prints one JSON line on stdout:
 *   {"dtype": "uint16", "shape": [rows, cols], "photometric": "MONOCHROME2",
 *    "ts": "1.2.840.10008.1.2.4.70", "frames": 1, "ms_per_frame": 0.42}
 * shape is (rows, cols[, samples]) for one frame and (frames, rows, cols[,
 * samples]) for several, like pydicom's pixel_array.  On failure it prints
 * {"error": "<reason>"} and exits 1 (usage: 64).
 *
 * The file goes the crawler's way: dc_parse_file (keep_open,
 * walk_fragments), dc_record_from_dataset, dc_pixel_desc_from_record,
 * dc_decode_frames; --rescale uses the record's RescaleSlope/Intercept.
 * --per-frame decodes one frame per call, as the crawler does; --repeat N
 * decodes N times and reports the mean time per frame.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_decode.h"
#include "dc_dicom.h"
#include "dc_record.h"
#include "dc_scan.h"
#include "dc_util.h"

typedef struct {
    int rescale, per_frame, repeat;
    const char *in, *out;
} opts;

static int json_error(const char *msg)
{
    printf("{\"error\": \"");
    for (const char *p = msg; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if ((unsigned char)*p < 0x20)
            printf(" ");
        else
            putchar(*p);
    }
    printf("\"}\n");
    return 1;
}

static int decode_all(dc_dataset *ds, const dc_pixel_desc *pd, const opts *o, int dt, double slope,
                      double icpt, uint8_t *dst, size_t frame_bytes, char *err)
{
    if (!o->per_frame)
        return dc_decode_frames(ds, pd, 0, pd->frames, dt, slope, icpt, dst, err, DC_ERRLEN);
    for (uint32_t f = 0; f < pd->frames; f++)
        if (dc_decode_frames(ds, pd, f, 1, dt, slope, icpt, dst + f * frame_bytes, err,
                             DC_ERRLEN) != 0)
            return -1;
    return 0;
}

static void print_result(const dc_pixel_desc *pd, int dt, double ms)
{
    printf("{\"dtype\": \"%s\", \"shape\": [", dc_dtype_name(dt));
    if (pd->frames > 1) printf("%u, ", (unsigned)pd->frames);
    printf("%u, %u", (unsigned)pd->rows, (unsigned)pd->cols);
    if (pd->samples > 1) printf(", %u", (unsigned)pd->samples);
    printf("], \"photometric\": \"%s\", \"ts\": \"%s\", \"frames\": %u, \"ms_per_frame\": %.4f}\n",
           dc_decoded_photometric(pd), pd->ts_uid, (unsigned)pd->frames, ms);
}

static int write_raw(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) != 0 || w != n) ? -1 : 0;
}

static int run(const opts *o)
{
    char err[DC_ERRLEN];
    dc_dataset ds;
    dc_parse_opts po;
    dc_dataset_init(&ds);
    dc_parse_opts_default(&po);
    po.keep_open = 1;
    po.walk_fragments = 1;
    if (dc_parse_file(o->in, &po, &ds, err, sizeof err) != DC_PARSE_OK) {
        dc_dataset_free(&ds);
        return json_error(err[0] ? err : "not DICOM");
    }
    dc_record rec;
    dc_pixel_desc pd;
    dc_record_init(&rec);
    dc_record_from_dataset(&ds, &rec);
    dc_pixel_desc_from_record(&rec, &pd);
    double slope = rec.slope, icpt = rec.intercept;
    dc_record_free(&rec);
    int dt = dc_output_dtype(&pd, o->rescale);
    size_t frame_bytes = (size_t)dc_pixel_frame_values(&pd) * (size_t)dc_dtype_size(dt);
    uint8_t *dst = calloc(pd.frames, frame_bytes ? frame_bytes : 1);
    int rc = dst ? 0 : -1;
    double t0 = dc_now();
    for (int r = 0; rc == 0 && r < o->repeat; r++)
        rc = decode_all(&ds, &pd, o, dt, slope, icpt, dst, frame_bytes, err);
    double ms = (dc_now() - t0) * 1000.0 / o->repeat / pd.frames;
    if (!dst) snprintf(err, sizeof err, "out of memory");
    if (rc == 0 && write_raw(o->out, dst, pd.frames * frame_bytes) != 0) {
        snprintf(err, sizeof err, "cannot write %s", o->out);
        rc = -1;
    }
    if (rc == 0) print_result(&pd, dt, ms);
    free(dst);
    dc_dataset_free(&ds);
    return rc == 0 ? 0 : json_error(err);
}

int main(int argc, char **argv)
{
    opts o = {0, 0, 1, NULL, NULL};
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--rescale") == 0)
            o.rescale = 1;
        else if (strcmp(argv[i], "--per-frame") == 0)
            o.per_frame = 1;
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            o.repeat = atoi(argv[++i]);
        else
            break;
    }
    if (argc - i != 2 || o.repeat < 1) {
        fprintf(stderr, "usage: dcdecode [--rescale] [--per-frame] [--repeat N] FILE OUT.raw\n");
        return 64;
    }
    o.in = argv[i];
    o.out = argv[i + 1];
    return run(&o);
}
