/*
 * h5variants.c - how a segment's per-file datasets could be created: the
 * candidates of issue 11 measured side by side (make bench runs h5create.c,
 * the library's own path; this one is run by hand, see README "Performance").
 *
 *   mpirun -np P h5variants DIR N VARIANT
 *
 * Each variant makes N datasets of 8x8 uint16 with the 18 scan attributes
 * of SPEC 4 (the same names, types and shapes as h5out.c writes), every rank
 * writes the frames of the scans it owns (round robin), then closes; all
 * in DIR.  VARIANT:
 *   coll         parallel HDF5, collective creation, no collective metadata
 *   coll-md      the same with H5Pset_all_coll_metadata_ops and
 *                H5Pset_coll_metadata_write (what h5out.c did)
 *   coll-latest  coll-md with libver bounds latest (compact attributes kept
 *                in the object header by H5Pset_attr_phase_change)
 *   serial       rank 0 creates every dataset with serial HDF5 (sec2),
 *                contiguous, allocated early; offsets broadcast; every rank
 *                pwrites its frames there
 *   serial-latest  the same with libver bounds latest + phase change
 *   perrank      every rank creates its own scans' datasets in its own file
 *                (serial HDF5), writes them with H5Dwrite
 * Prints rank 0's times: variant= scans= ranks= create_us_per_scan=
 *   write_us_per_scan= close_s= total_us_per_scan= and the CPU time of the
 *   creation loop per scan, of the busiest rank and summed over ranks
 *   (create_cpu_us_per_scan_max_rank= create_cpu_us_per_scan_all_ranks=)
 * Build (HDF5 only): mpicc -O2 -std=c11 -D_GNU_SOURCE -I/usr/include/hdf5/openmpi
 *   -o h5variants tests/bench/h5variants.c -L/usr/lib/x86_64-linux-gnu/hdf5/openmpi -lhdf5
 */
#include <fcntl.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* this process's CPU seconds: creation measured apart from the machine's
 * other load (wall time on a shared machine is mostly waiting) */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum { COLL, COLL_MD, COLL_LATEST, SERIAL, SERIAL_LATEST, PERRANK };
static const char *const names[] = {"coll", "coll-md", "coll-latest", "serial", "serial-latest",
                                    "perrank"};

static void attr(hid_t loc, const char *name, hid_t t, int rank, const hsize_t *dims,
                 const void *v)
{
    hid_t sp = rank ? H5Screate_simple(rank, dims, NULL) : H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t == H5T_IEEE_F64LE   ? H5T_NATIVE_DOUBLE
                : t == H5T_STD_I64LE  ? H5T_NATIVE_INT64
                : t == H5T_STD_I32LE  ? H5T_NATIVE_INT32
                                      : t,
             v);
    H5Aclose(a);
    H5Sclose(sp);
}

/* the attributes of one per-file scan, as h5out.c's scan_attrs writes them */
static void scan_attrs(hid_t did, size_t i, hid_t str)
{
    char id[96], series[80];
    snprintf(id, sizeof id, "bench_d%03zu_1.2.826.0.1.3680043.10.1436.77.5.%zu", i / 1000, i);
    snprintf(series, sizeof series, "1.2.826.0.1.3680043.10.1436.77.3.%zu", i / 1000);
    const char *s[] = {id, "bench/d000", series, "1.2.826.0.1.3680043.10.1436.77.2.1", "CT",
                       "single", "MONOCHROME2", ""};
    const char *sn[] = {"scan_id", "source_folder", "series_instance_uid", "study_instance_uid",
                        "modality", "slice_order", "photometric_interpretation", "warnings"};
    for (int k = 0; k < 8; k++) attr(did, sn[k], str, 0, NULL, &s[k]);
    int64_t one = 1, bits = 12;
    attr(did, "n_files", H5T_STD_I64LE, 0, NULL, &one);
    attr(did, "bits_stored", H5T_STD_I64LE, 0, NULL, &bits);
    double sp[3] = {1, 0.74, 0.74}, aff[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1};
    double pos[3] = {-190, -190, -300}, slope = 1, icpt = -1024;
    hsize_t d3 = 3, d44[2] = {4, 4}, d13[2] = {1, 3}, d1 = 1;
    attr(did, "spacing", H5T_IEEE_F64LE, 1, &d3, sp);
    attr(did, "affine", H5T_IEEE_F64LE, 2, d44, aff);
    attr(did, "slice_positions", H5T_IEEE_F64LE, 2, d13, pos);
    int32_t inst = (int32_t)(i % 1000 + 1);
    attr(did, "instance_numbers", H5T_STD_I32LE, 1, &d1, &inst);
    attr(did, "rescale_slope", H5T_IEEE_F64LE, 0, NULL, &slope);
    attr(did, "rescale_intercept", H5T_IEEE_F64LE, 0, NULL, &icpt);
    uint8_t u = 1;
    attr(did, "uniform_spacing", H5T_NATIVE_HBOOL, 0, NULL, &u);
}

static hid_t create_file(const char *path, int v, MPI_Comm comm)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (v <= COLL_LATEST) H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
    if (v == COLL_MD || v == COLL_LATEST) {
        H5Pset_all_coll_metadata_ops(fapl, 1);
        H5Pset_coll_metadata_write(fapl, 1);
    }
    if (v == COLL_LATEST || v == SERIAL_LATEST) H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
    hid_t fid = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    return fid;
}

static hid_t create_ds(hid_t fid, size_t i, int v, hid_t str)
{
    char id[96];
    snprintf(id, sizeof id, "bench_d%03zu_1.2.826.0.1.3680043.10.1436.77.5.%zu", i / 1000, i);
    hsize_t dims[2] = {8, 8};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    if (v == COLL_LATEST || v == SERIAL_LATEST) H5Pset_attr_phase_change(dcpl, 64, 0);
    if (getenv("NOTIMES")) H5Pset_obj_track_times(dcpl, 0);
    hid_t did = H5Dcreate2(fid, id, H5T_STD_U16LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    scan_attrs(did, i, str);
    return did;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, np, v = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    for (int k = 0; argc == 4 && k < 6; k++)
        if (strcmp(argv[3], names[k]) == 0) v = k;
    if (v < 0) {
        if (rank == 0) fprintf(stderr, "usage: h5variants DIR N coll|coll-md|coll-latest|serial|serial-latest|perrank\n");
        MPI_Finalize();
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    size_t n = (size_t)atol(argv[2]);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%d.h5", argv[1], names[v], v == PERRANK ? rank : 0);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, H5T_VARIABLE);
    H5Tset_cset(str, H5T_CSET_UTF8);
    uint16_t px[64];
    for (int i = 0; i < 64; i++) px[i] = (uint16_t)i;
    hid_t *did = calloc(n, sizeof *did);
    uint64_t *off = calloc(n, sizeof *off);

    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime(), t1, t2, c0 = cpu_now(), c1 = 0;
    hid_t fid = -1;
    if (v <= COLL_LATEST) {
        fid = create_file(path, v, MPI_COMM_WORLD);
        for (size_t i = 0; i < n; i++) did[i] = create_ds(fid, i, v, str);
        c1 = cpu_now();
        t1 = MPI_Wtime();
        hid_t ms = H5Screate_simple(1, (hsize_t[]){64}, NULL);
        for (size_t i = (size_t)rank; i < n; i += (size_t)np)
            H5Dwrite(did[i], H5T_NATIVE_UINT16, ms, H5S_ALL, H5P_DEFAULT, px);
        H5Sclose(ms);
    } else if (v == PERRANK) {
        fid = create_file(path, v, MPI_COMM_SELF);
        for (size_t i = (size_t)rank; i < n; i += (size_t)np) did[i] = create_ds(fid, i, v, str);
        c1 = cpu_now();
        t1 = MPI_Wtime();
        for (size_t i = (size_t)rank; i < n; i += (size_t)np)
            H5Dwrite(did[i], H5T_NATIVE_UINT16, H5S_ALL, H5S_ALL, H5P_DEFAULT, px);
    } else {
        if (rank == 0) {
            fid = create_file(path, v, MPI_COMM_SELF);
            for (size_t i = 0; i < n; i++) {
                did[i] = create_ds(fid, i, v, str);
                off[i] = (uint64_t)H5Dget_offset(did[i]);
                if (getenv("CLOSEDS")) {
                    H5Dclose(did[i]);
                    did[i] = 0;
                }
            }
        }
        c1 = cpu_now();
        MPI_Bcast(off, (int)n, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        t1 = MPI_Wtime();
        int fd = open(path, O_WRONLY);
        for (size_t i = (size_t)rank; i < n; i += (size_t)np)
            if (pwrite(fd, px, sizeof px, (off_t)off[i]) != sizeof px) MPI_Abort(MPI_COMM_WORLD, 1);
        close(fd);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    t2 = MPI_Wtime();
    if (fid >= 0) {
        for (size_t i = 0; i < n; i++)
            if (did[i] > 0) H5Dclose(did[i]);
        H5Fclose(fid);
    }
    if (v == PERRANK || rank == 0) {
        int fd = open(path, O_RDONLY);
        fsync(fd);
        close(fd);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double t3 = MPI_Wtime();
    /* CPU of the creation loop: the busiest rank (what limits the rate) and all ranks */
    double cpu = c1 > 0 ? c1 - c0 : 0, cmax, csum;
    MPI_Reduce(&cpu, &cmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&cpu, &csum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("variant=%s scans=%zu ranks=%d create_us_per_scan=%.1f write_us_per_scan=%.1f "
               "close_s=%.3f total_us_per_scan=%.1f create_cpu_us_per_scan_max_rank=%.1f "
               "create_cpu_us_per_scan_all_ranks=%.1f\n",
               names[v], n, np, (t1 - t0) / (double)n * 1e6, (t2 - t1) / (double)n * 1e6, t3 - t2,
               (t3 - t0) / (double)n * 1e6, cmax / (double)n * 1e6, csum / (double)n * 1e6);
    H5Tclose(str);
    free(did);
    free(off);
    MPI_Finalize();
    return 0;
}
