/*
 * dc_version.h - what `dcmcrawl --version` prints: dcmcrawl's version and the
 * versions of the libraries this process runs with (what a bug report needs).
 */
#ifndef DC_VERSION_H
#define DC_VERSION_H

#include <stdio.h>

/* Returns the text, one line per component, ending in a newline:
 *   dcmcrawl 0.1.0
 *   Open MPI v4.1.4, package: Debian OpenMPI, ...   (MPI_Get_library_version)
 *   HDF5 1.10.8 (parallel)                          (H5get_libversion, H5_HAVE_PARALLEL)
 *   dcmtk 3.6.7 ...                                 (OFFIS_DCMTK_VERSION_STRING)
 *   OpenJPEG 2.5.0                                  (opj_version)
 *   libyaml 0.2.5                                   (yaml_get_version_string)
 *   zlib 1.2.13                                     (zlibVersion)
 * Allowed before MPI_Init (MPI_Get_library_version is).  Caller frees. */
char *dc_version_text(void);

/* dc_version_text() written to out. */
void dc_version_print(FILE *out);

#endif
