/*
 * vendor_philips.c - Philips private scaling.  See dc_vendor.h.
 *
 * Philips MR stores, besides the standard RescaleSlope/Intercept (the
 * "display" values), a Scale Slope SS in (2005,xx0E) and private Rescale
 * Slope RS (2005,xx0A) and Intercept RI (2005,xx09), creator "Philips MR
 * Imaging DD 001" / "Philips MR Imaging DD 005" (classic files: at the top
 * level).  Philips defines the floating-point value of a stored value SV as
 *     FP = (SV * RS + RI) / (RS * SS)
 * (Philips DICOM conformance statements; Chenevert et al. 2014, as cited by
 * dcm2niix's notes on Philips scaling; dcm2niix nii_dicom.cpp, "Philips
 * Precise Floating Point").  Without a private RS/RI
 * the standard RescaleSlope/Intercept take their place, as in dcm2niix.
 *
 * Every stored slice's SS, RS, RI go to attributes (philips_scale_slope,
 * philips_rescale_slope, philips_rescale_intercept: a scalar when equal for
 * every slice, else one per slice, NaN where a file has none).  With
 * output.philips_scaling: floating the dataset holds FP as float32.
 */
#include "dc_vendor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dc_config.h"
#include "dc_scan.h"

/* element xxEE of group 2005 under one of Philips' MR creators */
static int philips_find(const dc_dataset *ds, uint8_t elem)
{
    static const char *creators[] = {"Philips MR Imaging DD 001", "Philips MR Imaging DD 005",
                                     "PHILIPS MR IMAGING DD 001"};
    for (size_t k = 0; k < sizeof creators / sizeof creators[0]; k++) {
        int i = dc_private_find(ds, 0x2005, creators[k], elem);
        if (i >= 0) return i;
    }
    return -1;
}

static int is_philips_creator(const dc_dataset *ds, int32_t c)
{
    char name[65];
    return c >= 0 && dc_get_str(ds, c, name, sizeof name) == 0 && strncasecmp(name, "Philips MR Imaging DD", 21) == 0;
}

/* value 0 of element i (FL/FD/DS, or 4 bytes of a little endian FL when UN) */
static int value_of(const dc_dataset *ds, int i, double *out)
{
    if (dc_get_double_at(ds, i, 0, out) == 0 && isfinite(*out)) return 1;
    const dc_elem *e = &ds->el[i]; /* UN: a little endian FL */
    const uint8_t *v = dc_value(ds, e);
    if (!v || e->len != 4) return 0;
    uint32_t u = (uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    *out = f;
    return isfinite(*out);
}

static int philips_value(const dc_dataset *ds, uint8_t elem, double *out)
{
    int i = philips_find(ds, elem);
    return i >= 0 && value_of(ds, i, out);
}

void dc_philips_frame_group(const dc_dataset *ds, int sq, dc_frame_vendor *x)
{
    const dc_elem *s = &ds->el[sq];
    if (s->vr != DC_VR('S', 'Q') || (s->tag & 0xFF) != 0x0F || !is_philips_creator(ds, s->creator)) return;
    size_t end = s->val < ds->n_el ? s->val : ds->n_el;
    for (size_t i = (size_t)sq + 1; i < end; i++) {
        const dc_elem *e = &ds->el[i];
        if (e->parent != sq || e->item != 0 || DC_TAG_GROUP(e->tag) != 0x2005) continue;
        if (e->creator >= 0 && !is_philips_creator(ds, e->creator)) continue;
        double d;
        uint8_t low = (uint8_t)(e->tag & 0xFF);
        if ((low != 0x0E && low != 0x09 && low != 0x0A) || !value_of(ds, (int)i, &d)) continue;
        if (low == 0x0E) x->ss = d, x->has |= DC_FV_SS;
        if (low == 0x09) x->ri = d, x->has |= DC_FV_RI;
        if (low == 0x0A) x->rs = d, x->has |= DC_FV_RS;
    }
}

void dc_philips_read(const dc_dataset *ds, dc_vendor_vals *v)
{
    if (dc_find(ds, DC_TAG(0x2005, 0x0010)) < 0) return; /* no Philips private block */
    v->has_philips_ss = (uint8_t)philips_value(ds, 0x0E, &v->philips_ss);
    v->has_philips_ri = (uint8_t)philips_value(ds, 0x09, &v->philips_ri);
    v->has_philips_rs = (uint8_t)philips_value(ds, 0x0A, &v->philips_rs);
}

int dc_philips_fp_scale(const dc_vendor_vals *v, double rs, double ri, double *slope, double *intercept)
{
    if (!v->has_philips_ss || v->philips_ss == 0) return -1;
    if (v->has_philips_rs && v->philips_rs != 0) rs = v->philips_rs;
    if (v->has_philips_ri) ri = v->philips_ri;
    if (rs == 0) return -1;
    *slope = 1.0 / v->philips_ss;
    *intercept = ri / (rs * v->philips_ss);
    return 0;
}

/* the vendor values of stored slice k (its frame's, for an enhanced file) */
static void slice_values(const dc_record *recs, const dc_scan *s, uint32_t k, dc_vendor_vals *out)
{
    const dc_vendor_vals *v = &recs[s->slice_rec[k]].vendor;
    dc_vendor_frame_values(v, v->tiling ? 0 : s->slice_frame[k], out);
}

/* one per-slice attribute: scalar when every slice agrees */
static void add_per_slice(dc_scan *s, const char *name, const double *v)
{
    int same = 1;
    for (uint32_t k = 1; k < s->n_slices; k++)
        if (!(v[k] == v[0]) && !(isnan(v[k]) && isnan(v[0]))) same = 0;
    dc_xattrs_add_f64(&s->xattrs, name, v, same ? 1 : s->n_slices, same);
}

/* the stored values become FP: float32, rescale arrays = FP slope/intercept */
static void to_floating(const dc_record *recs, dc_scan *s)
{
    double *sl = dc_malloc(s->n_slices * sizeof *sl), *ic = dc_malloc(s->n_slices * sizeof *ic);
    for (uint32_t k = 0; k < s->n_slices; k++) {
        uint32_t j = s->n_rescale > 1 ? k : 0;
        sl[k] = s->rescale_slope[j];
        ic[k] = s->rescale_intercept[j];
        dc_vendor_vals fv;
        slice_values(recs, s, k, &fv);
        dc_philips_fp_scale(&fv, sl[k], ic[k], &sl[k], &ic[k]);
    }
    dc_scan_free_rescale(s);
    s->rescale_slope = sl;
    s->rescale_intercept = ic;
    s->n_rescale = s->n_slices;
    s->dtype = DC_DT_F32;
}

void dc_philips_scan_attrs(const dc_record *recs, dc_scan *s, const dc_group_opts *o)
{
    int any = 0;
    dc_vendor_vals fv;
    for (uint32_t k = 0; k < s->n_slices && !any; k++) {
        slice_values(recs, s, k, &fv);
        any = fv.has_philips_ss;
    }
    if (!any) return;
    double *v[3];
    for (int a = 0; a < 3; a++) v[a] = dc_malloc(s->n_slices * sizeof(double));
    for (uint32_t k = 0; k < s->n_slices; k++) {
        slice_values(recs, s, k, &fv);
        const dc_vendor_vals *x = &fv;
        v[0][k] = x->has_philips_ss ? x->philips_ss : NAN;
        v[1][k] = x->has_philips_rs ? x->philips_rs : NAN;
        v[2][k] = x->has_philips_ri ? x->philips_ri : NAN;
    }
    add_per_slice(s, "philips_scale_slope", v[0]);
    add_per_slice(s, "philips_rescale_slope", v[1]);
    add_per_slice(s, "philips_rescale_intercept", v[2]);
    for (int a = 0; a < 3; a++) free(v[a]);
    if (o->philips_scaling == DC_PHILIPS_FLOATING && s->dtype != DC_DT_F64 && s->rescale_slope)
        to_floating(recs, s);
}
