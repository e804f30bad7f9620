/*
 * dc_vendor.h - scanner vendors' conventions (SPEC 11), kept out of the
 * generic parsing, grouping and stacking code.
 *
 * What each file's header contributes (dc_vendor_vals, a field of
 * dc_record, filled by dc_vendor_read during the header pass):
 *   - tiling: a frame that holds several slices side by side (Siemens
 *     mosaics, vendor_siemens.c): how many, the grid, where tile 0 is and
 *     the step from one tile to the next; the stacking code (stack.c) cuts
 *     such a frame into its tiles without knowing any vendor;
 *   - the values that tell the repeats of a 4D series apart (EchoTime,
 *     ImageType, b-value, SeriesNumber) (vendor.c);
 *   - Philips private scaling (vendor_philips.c).
 * What a scan gets from them (dc_vendor_scan_attrs, called once by stack.c
 * after the slices are ordered): the extra attributes of its dataset
 * (dc_xattrs: slice_times, repeat_axis and repeat_* values, philips_*).
 *
 * Pure: no MPI, no I/O (the CSA reader reads bytes handed to it).
 */
#ifndef DC_VENDOR_H
#define DC_VENDOR_H

#include <stddef.h>
#include <stdint.h>

#include "dc_dicom.h"
#include "dc_util.h"

#define DC_IMAGE_TYPE_LEN 64
#define DC_VENDOR_NOTE_LEN 160 /* longest note */
/* most tiles in one mosaic frame (Siemens writes at most 64x64 grids of slices) */
#define DC_MAX_TILES 4096

/* A frame that holds several slices as tiles (a Siemens mosaic).  Tile t is
 * at grid row t / grid, column t % grid; each is (rows / grid) x (cols / grid). */
typedef struct {
    uint16_t n_tiles, grid;
    uint8_t has_pos;   /* origin/step known (IPP, IOP, PixelSpacing) */
    uint8_t has_times; /* times[] given */
    double origin[3];  /* LPS mm of voxel (0,0) of tile 0 */
    double step[3];    /* from tile t to tile t+1, LPS mm */
    double times[];    /* n_tiles acquisition times (ms, MosaicRefAcqTimes) when has_times */
} dc_tiling;

/* a new tiling with room for n_tiles times (zeroed) */
dc_tiling *dc_tiling_new(uint16_t n_tiles, uint16_t grid);

/* values of one frame of an enhanced multi-frame file (per-frame functional
 * groups): they replace the file's values for that frame */
#define DC_FV_ECHO 0x01   /* MREchoSequence EffectiveEchoTime (0018,9082) */
#define DC_FV_BVALUE 0x02 /* MRDiffusionSequence DiffusionBValue (0018,9087) */
#define DC_FV_SS 0x04     /* Philips private per-frame sequence (2005,xx0F): Scale Slope */
#define DC_FV_RS 0x08     /* ... private Rescale Slope */
#define DC_FV_RI 0x10     /* ... private Rescale Intercept */
typedef struct {
    uint8_t has; /* DC_FV_* */
    double echo_time, b_value, ss, rs, ri;
} dc_frame_vendor;

typedef struct {
    dc_tiling *tiling; /* NULL: an ordinary frame (records stay small: few files are mosaics) */
    char *note;        /* a warning for the scan, NULL when none */
    uint32_t n_frames;        /* entries of frames */
    dc_frame_vendor *frames;  /* per-frame values, NULL when no frame has any */

    /* values that may tell the repeats of a 4D series apart */
    uint8_t has_echo, has_bvalue, has_series_number;
    double echo_time; /* ms, EchoTime (0018,0081) */
    double b_value;   /* s/mm2: DiffusionBValue, else Siemens private */
    int32_t series_number;
    char image_type[DC_IMAGE_TYPE_LEN]; /* ImageType (0008,0008) as written, "" when absent */

    /* Philips private scaling (vendor_philips.c) */
    uint8_t has_philips_ss, has_philips_rs, has_philips_ri;
    double philips_ss; /* Scale Slope (2005,xx0E) */
    double philips_rs; /* private Rescale Slope (2005,xx0A) */
    double philips_ri; /* private Rescale Intercept (2005,xx09) */
} dc_vendor_vals;

void dc_vendor_vals_free(dc_vendor_vals *v); /* frees tiling, note and frames */

/* slices tiled in each frame of a file with these values; 0 for an ordinary frame */
static inline uint32_t dc_tiles_of(const dc_vendor_vals *v)
{
    return v->tiling ? v->tiling->n_tiles : 0;
}

/* the values of frame f: the file's, replaced by the frame's own where given */
void dc_vendor_frame_values(const dc_vendor_vals *v, uint32_t f, dc_vendor_vals *out);

/* Fill v from a parsed file (v zeroed first).  Never fails: what cannot be
 * read is absent, with a note when it matters (a mosaic left whole). */
void dc_vendor_read(const dc_dataset *ds, dc_vendor_vals *v);

/* serialisation (little endian, bounded), appended to a record's */
void dc_vendor_pack(const dc_vendor_vals *v, dc_buf *out);
/* reads from *p (advanced); 0, or -1 on garbage (v then empty) */
int dc_vendor_unpack(const char **p, const char *end, dc_vendor_vals *v);

/* ---- a private element: (group, xxEE) of the block reserved by creator ---- */
/* index of the element, or -1 (creators looked up from (group,0010) while present) */
int dc_private_find(const dc_dataset *ds, uint16_t group, const char *creator, uint8_t elem);

/* ---- Siemens (vendor_siemens.c) ---- */

/* What dcmcrawl takes from a CSA header (SV10 "CSA2" or the older "CSA1"
 * layout, as SPM's spm_dicom_headers and nibabel's csareader read them). */
#define DC_CSA_MAX_ITEMS 1000
typedef struct {
    int has_n_images, has_normal, has_b_value;
    long n_images;               /* NumberOfImagesInMosaic */
    double normal[3];            /* SliceNormalVector */
    double b_value;              /* B_value */
    uint32_t n_times;            /* MosaicRefAcqTimes */
    double times[DC_CSA_MAX_ITEMS];
} dc_csa_info;

/* Parse a CSA header of len bytes.  Every count and length is checked
 * against the bytes left (at most DC_CSA_MAX_ITEMS tags and items per tag).
 * Returns 0, or -1 with the reason in why ("CSA header: 5000 tags"). */
int dc_csa_parse(const uint8_t *p, size_t len, dc_csa_info *info, char *why, size_t whylen);

/* Siemens values of a file: mosaic tiling and geometry, b-value */
void dc_siemens_read(const dc_dataset *ds, dc_vendor_vals *v);

/* ---- Philips (vendor_philips.c) ---- */
void dc_philips_read(const dc_dataset *ds, dc_vendor_vals *v);
/* a frame's functional group sq of group 2005: the private per-frame
 * sequence (2005,xx0F) gives the frame's Scale Slope and private rescale */
void dc_philips_frame_group(const dc_dataset *ds, int sq, dc_frame_vendor *x);
/* Philips floating-point value of stored value sv (Chenevert et al. 2014;
 * dcm2niix): FP = (SV * RS + RI) / (RS * SS), RS and RI the private rescale
 * (else the standard one), SS the Scale Slope.  Out: slope and intercept such that
 * FP = SV * slope + intercept; returns 0, or -1 when SS is absent or 0. */
int dc_philips_fp_scale(const dc_vendor_vals *v, double rs, double ri, double *slope,
                        double *intercept);

#endif
