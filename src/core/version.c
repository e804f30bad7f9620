/*
 * version.c - `dcmcrawl --version`: dcmcrawl's version and the versions of
 * the libraries it runs with, asked of the libraries themselves at run time
 * where they can say (MPI, HDF5, OpenJPEG, libyaml, zlib), so a report shows
 * what was really loaded, not what the build saw.  dcmtk has no run-time
 * version call: its version comes from the C++ wrapper (the only file that
 * includes dcmtk headers).  HDF5's parallel flag is the build's
 * (H5_HAVE_PARALLEL): dcmcrawl needs parallel HDF5 and links its MPI flavour.
 */
#include "dc_version.h"

#include <hdf5.h>
#include <mpi.h>
#include <openjpeg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include <zlib.h>

#include "dc_dcmtk.h"
#include "dc_util.h"

/* The first line of MPI_Get_library_version's text (Open MPI's is one line
 * ending in a newline; others print several). */
static void put_mpi_version(dc_buf *b)
{
    char text[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    if (MPI_Get_library_version(text, &len) != MPI_SUCCESS || len <= 0) {
        dc_buf_puts(b, "MPI: unknown (MPI_Get_library_version failed)\n");
        return;
    }
    text[strcspn(text, "\n")] = '\0';
    dc_buf_printf(b, "%s\n", text);
}

static void put_hdf5_version(dc_buf *b)
{
    unsigned major = 0, minor = 0, release = 0;
#ifdef H5_HAVE_PARALLEL
    const char *flavour = "parallel";
#else
    const char *flavour = "serial";
#endif
    if (H5get_libversion(&major, &minor, &release) < 0)
        dc_buf_printf(b, "HDF5 unknown (%s)\n", flavour);
    else
        dc_buf_printf(b, "HDF5 %u.%u.%u (%s)\n", major, minor, release, flavour);
}

char *dc_version_text(void)
{
    dc_buf b;
    dc_buf_init(&b);
    dc_buf_printf(&b, "dcmcrawl %s\n", DC_VERSION);
    put_mpi_version(&b);
    put_hdf5_version(&b);
    dc_buf_printf(&b, "dcmtk %s\n", dc_dcmtk_version());
    dc_buf_printf(&b, "OpenJPEG %s\n", opj_version());
    dc_buf_printf(&b, "libyaml %s\n", yaml_get_version_string());
    dc_buf_printf(&b, "zlib %s\n", zlibVersion());
    return dc_buf_steal(&b);
}

void dc_version_print(FILE *out)
{
    char *text = dc_version_text();
    fputs(text, out);
    free(text);
}
