/*
 * hints.c - output.mpi_io_hints as the MPI_Info of every MPI-IO open.
 * See dc_hints.h.
 */
#include "dc_hints.h"

static MPI_Info g_info = MPI_INFO_NULL;

void dc_hints_set(const dc_strvec *kv)
{
    dc_hints_free();
    if (!kv || kv->n < 2) return;
    MPI_Info_create(&g_info);
    for (size_t i = 0; i + 1 < kv->n; i += 2) {
        MPI_Info_set(g_info, kv->v[i], kv->v[i + 1]);
        dc_debug("MPI-IO hint %s=%s", kv->v[i], kv->v[i + 1]);
    }
}

MPI_Info dc_hints(void)
{
    return g_info;
}

void dc_hints_free(void)
{
    if (g_info != MPI_INFO_NULL) MPI_Info_free(&g_info);
    g_info = MPI_INFO_NULL;
}

void dc_hints_log(MPI_File fh, const char *path)
{
    if (g_info == MPI_INFO_NULL || dc_log_get_level() < DC_LOG_DEBUG) return;
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Info in;
    if (rank != 0 || MPI_File_get_info(fh, &in) != MPI_SUCCESS) return;
    dc_buf b;
    dc_buf_init(&b);
    int n = 0;
    MPI_Info_get_nkeys(in, &n);
    for (int i = 0; i < n; i++) {
        char k[MPI_MAX_INFO_KEY + 1], v[256];
        int found = 0;
        MPI_Info_get_nthkey(in, i, k);
        MPI_Info_get(in, k, (int)sizeof v - 1, v, &found);
        if (found) dc_buf_printf(&b, "%s%s=%s", b.len ? " " : "", k, v);
    }
    dc_debug("MPI-IO hints in effect on %s: %s", path, dc_buf_cstr(&b));
    dc_buf_free(&b);
    MPI_Info_free(&in);
}
