/*
 * dcdump.c - print what dcmcrawl's parser sees in DICOM files, or time it.
 *
 *   dcdump [--walk] file...          one line per element, then pixel data info
 *   dcdump --bench N [--walk] [--record] file...
 *                                    parse every file N times (and build its
 *                                    dc_record), print us/file
 *
 * Element lines (stable, for tests): depth, tag path, VR, length, value,
 * separated by tabs.  The tag path names the enclosing sequences and item
 * numbers: "0008,1140[0]/0008,1150".  Values: text with trailing padding
 * trimmed (bytes outside printable ASCII as \xNN); binary numbers in decimal
 * joined by '\'; AT as (gggg,eeee); bulk data "<N bytes>"; sequences
 * "<N items>"; values not loaded "<not loaded>".  Lines starting with '#' give
 * the transfer syntax, pixel data location and fragments.  A file that is not
 * DICOM prints "NOT DICOM", a parse error "ERROR: reason".
 * Exit status: 0 all parsed, 1 some not DICOM, 2 some errors, 64 usage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dc_dicom.h"
#include "dc_record.h"
#include "dc_util.h"

static void put_path(const dc_dataset *ds, int idx, dc_buf *out)
{
    const dc_elem *e = &ds->el[idx];
    if (e->parent >= 0) {
        put_path(ds, e->parent, out);
        dc_buf_printf(out, "[%d]/", e->item);
    }
    dc_buf_printf(out, "%04X,%04X", DC_TAG_GROUP(e->tag), DC_TAG_ELEM(e->tag));
}

static void put_text(const dc_dataset *ds, const dc_elem *e, dc_buf *out)
{
    const char *s = (const char *)dc_value(ds, e);
    size_t n = e->len;
    int lead = !(e->vr == DC_VR('L', 'T') || e->vr == DC_VR('S', 'T') || e->vr == DC_VR('U', 'T'));
    dc_trim(&s, &n, lead);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7F)
            dc_buf_printf(out, "\\x%02X", c);
        else
            dc_buf_putc(out, (char)c);
    }
}

static int num_size(uint16_t vr)
{
    switch (vr) {
    case DC_VR('U', 'S'): case DC_VR('S', 'S'): return 2;
    case DC_VR('U', 'L'): case DC_VR('S', 'L'): case DC_VR('F', 'L'): case DC_VR('A', 'T'): return 4;
    case DC_VR('F', 'D'): case DC_VR('S', 'V'): case DC_VR('U', 'V'): return 8;
    default: return 0;
    }
}

static void put_numbers(const dc_dataset *ds, int idx, dc_buf *out)
{
    const dc_elem *e = &ds->el[idx];
    int n = (int)(e->len / (uint32_t)num_size(e->vr));
    for (int k = 0; k < n; k++) {
        long l;
        double d;
        if (k) dc_buf_putc(out, '\\');
        if (e->vr == DC_VR('A', 'T') && dc_get_long_at(ds, idx, k, &l) == 0)
            dc_buf_printf(out, "(%04lX,%04lX)", (l >> 16) & 0xFFFF, l & 0xFFFF);
        else if (e->vr == DC_VR('F', 'L') && dc_get_double_at(ds, idx, k, &d) == 0)
            dc_buf_printf(out, "%.9g", d);
        else if (e->vr == DC_VR('F', 'D') && dc_get_double_at(ds, idx, k, &d) == 0)
            dc_buf_printf(out, "%.17g", d);
        else if (e->vr == DC_VR('U', 'V') && dc_get_double_at(ds, idx, k, &d) == 0 && d >= 9.2e18)
            dc_buf_printf(out, "%.17g", d);
        else if (dc_get_long_at(ds, idx, k, &l) == 0)
            dc_buf_printf(out, "%ld", l);
        else
            dc_buf_puts(out, "?");
    }
}

static void put_value(const dc_dataset *ds, int idx, dc_buf *out)
{
    const dc_elem *e = &ds->el[idx];
    if (e->vr == DC_VR('S', 'Q'))
        dc_buf_printf(out, "<%u items>", e->len);
    else if (!dc_value(ds, e))
        dc_buf_puts(out, "<not loaded>");
    else if (dc_vr_is_text(e->vr))
        put_text(ds, e, out);
    else if (num_size(e->vr))
        put_numbers(ds, idx, out);
    else
        dc_buf_printf(out, "<%u bytes>", e->len);
}

static void dump_pixel(const dc_dataset *ds)
{
    const dc_pixel_loc *px = &ds->pixel;
    if (!px->present) {
        printf("# pixel none\n");
        return;
    }
    printf("# pixel tag=(%04X,%04X) vr=%c%c encapsulated=%d in_buf=%d off=%llu len=%llu truncated=%d\n",
           DC_TAG_GROUP(px->tag), DC_TAG_ELEM(px->tag), px->vr >> 8, px->vr & 0xFF, px->encapsulated, px->in_buf,
           (unsigned long long)px->off, (unsigned long long)px->len, px->truncated);
    if (!px->walked) return;
    printf("# bot n=%zu", px->n_bot);
    for (size_t i = 0; i < px->n_bot; i++) printf(" %u", px->bot[i]);
    printf("\n# fragments n=%zu\n", px->n_frags);
    for (size_t i = 0; i < px->n_frags; i++)
        printf("# fragment %zu off=%llu len=%u\n", i, (unsigned long long)px->frags[i].off, px->frags[i].len);
}

static void dump(const dc_dataset *ds)
{
    dc_buf line;
    dc_buf_init(&line);
    printf("# ts=%s (%s) preamble=%d elements=%zu file_size=%llu bytes_read=%llu\n", ds->ts_uid[0] ? ds->ts_uid : "-",
           dc_ts_name(ds->ts), ds->has_preamble, ds->n_el, (unsigned long long)ds->file_size,
           (unsigned long long)ds->bytes_read);
    for (size_t i = 0; i < ds->n_el; i++) {
        const dc_elem *e = &ds->el[i];
        dc_buf_reset(&line);
        dc_buf_printf(&line, "%u\t", e->depth);
        put_path(ds, (int)i, &line);
        dc_buf_printf(&line, "\t%c%c\t%u\t", e->vr >> 8, e->vr & 0xFF, e->len);
        put_value(ds, (int)i, &line);
        puts(dc_buf_cstr(&line));
    }
    dump_pixel(ds);
    dc_buf_free(&line);
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* reference: open, fstat, read the first 64 KiB, close */
static void bench_io(int n, char **files, int nfiles, double *wall, double *cpu)
{
    static uint8_t buf[65536];
    double t0 = dc_now(), c0 = cpu_now();
    for (int r = 0; r < n; r++)
        for (int f = 0; f < nfiles; f++) {
            int fd = open(files[f], O_RDONLY | O_NOATIME);
            struct stat st;
            if (fd < 0) continue;
            if (fstat(fd, &st) == 0 && read(fd, buf, sizeof buf) < 0) perror(files[f]);
            close(fd);
        }
    *wall = (dc_now() - t0) / ((double)n * nfiles);
    *cpu = (cpu_now() - c0) / ((double)n * nfiles);
}

static int bench(int n, const dc_parse_opts *o, int with_record, char **files, int nfiles)
{
    dc_record rec;
    dc_record_init(&rec);
    dc_dataset ds;
    dc_dataset_init(&ds);
    char err[DC_ERRLEN];
    size_t ok = 0, elements = 0;
    uint64_t bytes = 0;
    for (int f = 0; f < nfiles; f++) dc_parse_file(files[f], o, &ds, err, sizeof err); /* warm the cache */
    double t0 = dc_now(), c0 = cpu_now();
    for (int r = 0; r < n; r++)
        for (int f = 0; f < nfiles; f++)
            if (dc_parse_file(files[f], o, &ds, err, sizeof err) == DC_PARSE_OK) {
                ok++;
                elements += ds.n_el;
                bytes += ds.bytes_read;
                if (with_record) {
                    dc_record_from_dataset(&ds, &rec);
                    dc_record_free(&rec);
                }
            }
    double runs = (double)n * nfiles;
    double wall = (dc_now() - t0) / runs, cpu = (cpu_now() - c0) / runs, io_wall, io_cpu;
    bench_io(n, files, nfiles, &io_wall, &io_cpu);
    printf("%s %zu of %d x %d files: %.2f us/file wall, %.2f us/file cpu (%.0f files/s/core), "
           "%.1f elements/file, %.0f bytes read/file\n",
           with_record ? "parsed+record" : "parsed", ok, n, nfiles, wall * 1e6, cpu * 1e6, 1.0 / cpu, ok ? (double)elements / (double)ok : 0.0,
           ok ? (double)bytes / (double)ok : 0.0);
    printf("reference open+fstat+read(64 KiB)+close: %.2f us/file wall, %.2f us/file cpu; parse/reference cpu "
           "%.2f\n",
           io_wall * 1e6, io_cpu * 1e6, cpu / io_cpu);
    dc_dataset_free(&ds);
    return 0;
}

int main(int argc, char **argv)
{
    dc_parse_opts o;
    dc_parse_opts_default(&o);
    int nbench = 0, with_record = 0, i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--walk"))
            o.walk_fragments = 1;
        else if (!strcmp(argv[i], "--record"))
            with_record = 1;
        else if (!strcmp(argv[i], "--bench") && i + 1 < argc)
            nbench = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: dcdump [--walk] [--bench N [--record]] file...\n");
            return 64;
        }
    }
    if (i >= argc) {
        fprintf(stderr, "usage: dcdump [--walk] [--bench N] file...\n");
        return 64;
    }
    if (nbench > 0) return bench(nbench, &o, with_record, argv + i, argc - i);
    int status = 0;
    dc_dataset ds;
    dc_dataset_init(&ds);
    char err[DC_ERRLEN];
    int several = argc - i > 1;
    for (; i < argc; i++) {
        if (several) printf("## %s\n", argv[i]);
        int rc = dc_parse_file(argv[i], &o, &ds, err, sizeof err);
        if (rc == DC_PARSE_OK) {
            dump(&ds);
        } else if (rc == DC_PARSE_NOT_DICOM) {
            printf("NOT DICOM\n");
            if (status < 1) status = 1;
        } else {
            printf("ERROR: %s\n", err);
            status = 2;
        }
    }
    dc_dataset_free(&ds);
    return status;
}
