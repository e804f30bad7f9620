/*
 * h5create.c - the cost of collective dataset creation per scan (make bench).
 *
 *   mpirun -np P h5create SEGMENT.h5 N [parts|shared]
 *
 * Does what a dcmcrawl batch of N per-file scans does with h5out_seg.c:
 * begin a segment, create N datasets of 16x16 uint16 with every scan
 * attribute (dc_h5seg_add_datasets: parts, the default and what a crawl
 * does, each rank creates its own scans' datasets in its own part file;
 * shared, every rank creates every dataset in one file with parallel
 * HDF5), each rank writes the slices of the scans it owns (round robin),
 * close.  Prints rank 0's times:
 *   mode=.. scans=N ranks=P create_s=.. create_us_per_scan=.. write_s=..
 *   write_us_per_scan=.. close_s=.. total_s=..
 */
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dc_h5out.h"
#include "dc_scan.h"

static void fake_scan(dc_scan *s, size_t i, int32_t *inst, double *pos, double *slope, double *icpt)
{
    memset(s, 0, sizeof *s);
    s->scan_id = dc_asprintf("bench_d%03zu_1.2.826.0.1.3680043.10.1436.77.5.%zu", i / 1000, 100000000 + i);
    s->n_slices = 1;
    s->n_files = 1;
    s->ndim = 2;
    s->dims[0] = 16;
    s->dims[1] = 16;
    s->dtype = DC_DT_U16;
    s->rows = s->cols = 16;
    s->samples = 1;
    s->n_repeats = 1;
    snprintf(s->series_uid, sizeof s->series_uid, "1.2.826.0.1.3680043.10.1436.77.3.%zu", 100000000 + i / 1000);
    snprintf(s->study_uid, sizeof s->study_uid, "1.2.826.0.1.3680043.10.1436.77.2.1");
    snprintf(s->modality, sizeof s->modality, "CT");
    snprintf(s->photometric, sizeof s->photometric, "MONOCHROME2");
    s->bits_stored = 12;
    snprintf(s->slice_order, sizeof s->slice_order, "single");
    s->spacing[0] = 1.0;
    s->spacing[1] = s->spacing[2] = 0.7421875;
    for (int k = 0; k < 4; k++) s->affine[k * 5] = 1.0;
    s->n_positions = 1;
    pos[0] = pos[1] = -190;
    pos[2] = -300;
    s->slice_positions = pos;
    *inst = (int32_t)(i % 1000 + 1);
    s->instance_numbers = inst;
    s->n_rescale = 1;
    *slope = 1;
    *icpt = -1024;
    s->rescale_slope = slope;
    s->rescale_intercept = icpt;
    s->uniform_spacing = 1;
    s->warnings = "";
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, np;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    int parts = argc < 4 || strcmp(argv[3], "shared") != 0;
    if (argc != 3 && argc != 4) {
        if (rank == 0) fprintf(stderr, "usage: h5create SEGMENT.h5 N [parts|shared]\n");
        MPI_Finalize();
        return 2;
    }
    size_t n = (size_t)atol(argv[2]);
    char err[DC_ERRLEN] = "";
    dc_scan *scans = calloc(n, sizeof *scans);
    int32_t *inst = calloc(n, sizeof *inst);
    double *pos = calloc(3 * n, sizeof *pos), *sl = calloc(n, sizeof *sl), *ic = calloc(n, sizeof *ic);
    int *h = calloc(n, sizeof *h);
    int32_t *owner = calloc(n, sizeof *owner);
    char **folder = calloc(n, sizeof *folder);
    for (size_t i = 0; i < n; i++) {
        owner[i] = (int32_t)(i % (size_t)np);
        folder[i] = "bench/d000";
    }
    for (size_t i = 0; i < n; i++) fake_scan(&scans[i], i, &inst[i], &pos[3 * i], &sl[i], &ic[i]);
    uint16_t px[256];
    for (int i = 0; i < 256; i++) px[i] = (uint16_t)i;

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    dc_h5seg *seg = parts ? dc_h5seg_create_parts(MPI_COMM_WORLD, argv[1])
                          : dc_h5seg_create(MPI_COMM_WORLD, argv[1], err, sizeof err);
    dc_h5ds_opts o = {NULL, 0, 0};
    if (!seg || dc_h5seg_add_datasets(seg, scans, n, owner, folder, &o, h, err, sizeof err) != 0) {
        fprintf(stderr, "h5create: %s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t1 = MPI_Wtime();
    /* as process.c does: pwrite at the frame's place, HDF5 when it has none */
    int fd = open(dc_h5seg_path(seg), O_WRONLY);
    for (size_t i = (size_t)rank; i < n; i += (size_t)np) {
        uint64_t off, len;
        if (fd >= 0 && dc_h5seg_frame_extent(seg, h[i], 0, &off, &len) == 0 && len == sizeof px &&
            dc_pwrite_all(fd, px, sizeof px, off) == 0)
            continue;
        if (dc_h5seg_write_slice(seg, h[i], &scans[i], 0, px, err, sizeof err) != 0) {
            fprintf(stderr, "h5create: %s\n", err);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    if (fd >= 0) close(fd);
    MPI_Barrier(MPI_COMM_WORLD);
    double t2 = MPI_Wtime();
    if (dc_h5seg_close(seg, err, sizeof err) != 0) {
        fprintf(stderr, "h5create: %s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double t3 = MPI_Wtime();
    if (rank == 0)
        printf("mode=%s scans=%zu ranks=%d create_s=%.3f create_us_per_scan=%.1f write_s=%.3f "
               "write_us_per_scan=%.1f close_s=%.3f total_s=%.3f\n",
               parts ? "parts" : "shared", n, np, t1 - t0, (t1 - t0) / (double)n * 1e6, t2 - t1, (t2 - t1) / (double)n * 1e6,
               t3 - t2, t3 - t0);
    for (size_t i = 0; i < n; i++) free(scans[i].scan_id);
    free(scans);
    free(inst);
    free(pos);
    free(sl);
    free(ic);
    free(h);
    free(owner);
    free(folder);
    MPI_Finalize();
    return 0;
}
