/*
 * dc_hints.h - MPI-IO hints from the config (output.mpi_io_hints), as one
 * process-wide MPI_Info given to every MPI-IO open: the CSVs (csvout.c) and
 * the HDF5 segment files (h5out.c, via H5Pset_fapl_mpio).  Typical keys:
 * striping_factor, striping_unit (Lustre), cb_nodes, romio_cb_write,
 * cb_buffer_size; which ones an MPI-IO layer honours is its business (see
 * jobs/README.md).
 */
#ifndef DC_HINTS_H
#define DC_HINTS_H

#include <mpi.h>

#include "dc_util.h"

/* After MPI_Init: kv holds key, value, key, value, ... (may be empty). */
void dc_hints_set(const dc_strvec *kv);
/* The hints (MPI_INFO_NULL when none were given). */
MPI_Info dc_hints(void);
/* Debug log (rank 0) of the hints the MPI-IO layer reports in effect on fh. */
void dc_hints_log(MPI_File fh, const char *path);
/* Before MPI_Finalize. */
void dc_hints_free(void);

#endif
