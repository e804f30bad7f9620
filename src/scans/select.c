/*
 * select.c - input.select: the scans to crawl, by header values of each
 * scan's first file (see dc_select.h).  Rank 0 applies it right after
 * grouping; scans left out are counted by reason for the log.
 */
#include "dc_select.h"

#include "dc_xattr.h"

#include "dc_privacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const REASONS[DC_SEL_N] = {"modality", "sop_class", "exclude_image_type",
                                              "exclude_burned_in", "min_slices"};

int dc_select_active(const dc_config *cfg)
{
    return cfg->select_modality.n || cfg->select_sop_class.n || cfg->select_exclude_image_type.n ||
           cfg->select_exclude_burned_in || cfg->select_min_slices > 0;
}

static int listed(const dc_strvec *v, const char *s)
{
    for (size_t i = 0; i < v->n; i++)
        if (!strcmp(v->v[i], s)) return 1;
    return 0;
}

/* one of the backslash-separated values of image_type is a word of v */
static int has_word(const dc_strvec *v, const char *image_type)
{
    const char *p = image_type;
    while (*p) {
        const char *e = strchr(p, '\\');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        while (n && p[n - 1] == ' ') n--;
        while (n && *p == ' ') p++, n--;
        for (size_t i = 0; i < v->n; i++)
            if (strlen(v->v[i]) == n && !strncmp(v->v[i], p, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

static const char *burned_in_why(const dc_record *r);

int dc_select_reason(const dc_config *cfg, const dc_record *first, const dc_scan *s)
{
    if (s->unreadable || !first) return -1;
    if (cfg->select_modality.n && !listed(&cfg->select_modality, first->modality))
        return DC_SEL_MODALITY;
    if (cfg->select_sop_class.n && !listed(&cfg->select_sop_class, first->sop_class))
        return DC_SEL_SOP_CLASS;
    if (cfg->select_exclude_image_type.n &&
        has_word(&cfg->select_exclude_image_type, first->image_type))
        return DC_SEL_IMAGE_TYPE;
    if (cfg->select_exclude_burned_in && burned_in_why(first)) return DC_SEL_BURNED_IN;
    if (cfg->select_min_slices > 0 && s->n_slices < (uint64_t)cfg->select_min_slices)
        return DC_SEL_SLICES;
    return -1;
}

void dc_select_scans(const dc_config *cfg, const dc_record *recs, dc_scan *scans, size_t *n,
                     dc_select_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    if (!dc_select_active(cfg)) return;
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        const dc_record *first = scans[i].first_rec != DC_NO_REC ? &recs[scans[i].first_rec] : NULL;
        int why = dc_select_reason(cfg, first, &scans[i]);
        if (why >= 0) {
            counts->left_out[why]++;
            dc_scan_free(&scans[i]);
            continue;
        }
        scans[k++] = scans[i];
    }
    *n = k;
}

void dc_select_summary(const dc_select_counts *c, char *out, size_t outlen)
{
    uint64_t total = 0;
    for (int i = 0; i < DC_SEL_N; i++) total += c->left_out[i];
    int w = snprintf(out, outlen, "%llu scans left out by input.select", (unsigned long long)total);
    const char *sep = " (";
    for (int i = 0; i < DC_SEL_N && w > 0 && (size_t)w < outlen; i++) {
        if (!c->left_out[i]) continue;
        w += snprintf(out + w, outlen - (size_t)w, "%s%llu %s", sep,
                      (unsigned long long)c->left_out[i], REASONS[i]);
        sep = ", ";
    }
    if (total && w > 0 && (size_t)w < outlen) snprintf(out + w, outlen - (size_t)w, ")");
}

/* may the pixels of a scan whose first file is r show burned-in text? */
static const char *burned_in_why(const dc_record *r)
{
    if (r->burned_in) return "BurnedInAnnotation YES";
    if (dc_privacy_secondary_capture(r->sop_class, strlen(r->sop_class))) return "secondary capture";
    return NULL;
}

void dc_select_flag_burned_in(const dc_record *recs, dc_scan *scans, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        dc_scan *s = &scans[i];
        if (s->unreadable || s->first_rec == DC_NO_REC) continue;
        const char *why = burned_in_why(&recs[s->first_rec]);
        /* the dataset attribute beside the CSV column (0dc1,1001): YES or NO */
        const char *flag = why ? "YES" : "NO";
        dc_xattrs_add_str(&s->xattrs, "may_show_burned_in_text", &flag, 1, 1);
        if (!why) continue;
        char *w =
            dc_asprintf("%s%spixels may show burned-in text (%s)", s->warnings ? s->warnings : "",
                        s->warnings && *s->warnings ? "; " : "", why);
        free(s->warnings);
        s->warnings = w;
    }
}
