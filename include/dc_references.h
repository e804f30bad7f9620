/*
 * dc_references.h - the references from one DICOM object to other series and
 * instances (SPEC 13: references_<id>.csv).  Pure: a parsed dataset in, rows
 * out.
 *
 * Which sequences carry a reference, and the kind of each (the outermost
 * sequence of this table around a referencing element decides the kind):
 *
 *   kind                  sequence (outermost match)               typical source
 *   referenced_series     ReferencedSeriesSequence (0008,1115),    SEG, PR, RTSTRUCT
 *                         StudiesContainingOtherReferenced-
 *                         InstancesSequence (0008,1200)
 *   source_image          SourceImageSequence (0008,2112)          SEG (per-frame
 *                         (also inside DerivationImageSequence     DerivationImageSequence),
 *                         of the functional groups)                derived images
 *   rt_referenced_series  ReferencedFrameOfReferenceSequence       RTSTRUCT
 *                         (3006,0010) > RTReferencedStudy >
 *                         RTReferencedSeries > ContourImage
 *   contour_image         ROIContourSequence (3006,0039) >         RTSTRUCT
 *                         ContourSequence > ContourImageSequence
 *   registration          RegistrationSequence (0070,0308),        REG (rigid, deformable)
 *                         DeformableRegistrationSequence (0064,0002)
 *   evidence              CurrentRequestedProcedureEvidence-       KOS, SR
 *                         Sequence (0040,A375), PertinentOther-
 *                         EvidenceSequence (0040,A385)
 *   content               ContentSequence (0040,A730)              SR, KOS (ReferencedSOPSequence)
 *   predecessor           PredecessorDocumentsSequence (0040,A360) SR, KOS (earlier versions)
 *   identical_document    IdenticalDocumentsSequence (0040,A525)   SR, KOS (copies)
 *   annotation            GraphicAnnotationSequence (0070,0001),   PR
 *                         DisplayedAreaSelectionSequence (0070,005A)
 *   referenced_image      ReferencedImageSequence (0008,1140)      localizers, PR
 *   referenced_instance   ReferencedInstanceSequence (0008,114A)
 *
 * Rows.  Every ReferencedSOPInstanceUID (0008,1155) inside such a sequence
 * is one row (an instance reference), with the nearest enclosing
 * SeriesInstanceUID, StudyInstanceUID and FrameOfReferenceUID (0020,0052; in
 * RTSTRUCT's ReferencedFrameOfReferenceSequence) found walking out through
 * the enclosing items ("" when none says).  Every SeriesInstanceUID inside
 * such a sequence whose series has no instance row of the same kind is a row
 * of its own (a series reference, sop_uid "").  Rows are unique by (kind,
 * study, series, sop); a reference to the object itself is dropped.  Order:
 * first appearance in the file.
 *
 * references_<id>.csv (written by the run, next step of issue 14; the rows
 * come from dc_references_csv): one row per reference from a scan to another
 * series, instance rows of one target series collapsed into one:
 *   Scan ID                         the referencing scan
 *   Reference                       kind (table above)
 *   Referenced Scan ID              the target scan when it is in the crawl, else ""
 *   Referenced Series Instance UID  "" when the object names instances only and
 *                                   none of them is in the crawl
 *   Referenced SOP Instance UID     only then: the instance named (one row each)
 *   Referenced Study Instance UID, Referenced Frame of Reference UID  as given, or ""
 *   No. referenced instances        instance rows collapsed; 0 for a series reference
 * RFC 4180 like every output (SPEC 4).
 */
#ifndef DC_REFERENCES_H
#define DC_REFERENCES_H

#include <stddef.h>
#include <stdint.h>

#include "dc_dicom.h"

#define DC_REF_UID_LEN 65

typedef struct {
    const char *kind; /* static string, one of the kinds above */
    char study_uid[DC_REF_UID_LEN];
    char series_uid[DC_REF_UID_LEN];
    char sop_uid[DC_REF_UID_LEN]; /* "" for a series reference */
    char for_uid[DC_REF_UID_LEN]; /* frame of reference, "" when not given */
} dc_reference;

typedef struct {
    dc_reference *v;
    size_t n, cap;
} dc_reference_list;

void dc_reference_list_init(dc_reference_list *l);
void dc_reference_list_free(dc_reference_list *l);

/* Append every reference of ds to out (rules above).  Returns the number of
 * rows added. */
size_t dc_references_read(const dc_dataset *ds, dc_reference_list *out);

/* Series-level view: one row per (kind, series), in first-appearance order,
 * with the instance count in n_instances[i] (0 for series-only rows).  OUT
 * series (fresh list), n_instances (malloc'd, series->n entries). */
void dc_references_by_series(const dc_reference_list *in, dc_reference_list *series,
                             uint32_t **n_instances);

/* a uid -> uid/Scan ID lookup supplied by the run (NULL: unknown) */
typedef const char *(*dc_ref_lookup)(void *ctx, const char *uid);

/* Fill the series UID of instance rows that lack it (SEG SourceImageSequence
 * names instances only) from the crawl: series_of_sop(ctx, sop_uid). */
void dc_references_fill_series(dc_reference_list *l, dc_ref_lookup series_of_sop, void *ctx);

/* The series a label object (SEG, RTSTRUCT) was drawn on: among the rows of
 * the first kind present in the order rt_referenced_series,
 * referenced_series, source_image, contour_image (rows with a series UID),
 * the series with the most instance rows (ties: first seen).  NULL when no
 * row names a series. */
const char *dc_references_target(const dc_reference_list *l);

#define DC_REFERENCES_CSV_HEADER                                                                   \
    "Scan ID,Reference,Referenced Scan ID,Referenced Series Instance UID,Referenced SOP "          \
    "Instance UID,Referenced Study Instance UID,Referenced Frame of Reference UID,No. "            \
    "referenced instances\n"

/* Append the references_<id>.csv rows of scan scan_id (columns above, in
 * DC_REFERENCES_CSV_HEADER order) for its references refs, series-level
 * (dc_references_by_series); scan_of_series(ctx, series_uid) gives the
 * target's Scan ID or NULL when it is not in the crawl. */
void dc_references_csv(const char *scan_id, const dc_reference_list *refs,
                       dc_ref_lookup scan_of_series, void *ctx, dc_buf *out);

/* the same rows for a series-level list (dc_references_by_series) and its counts */
void dc_references_csv_rows(const char *scan_id, const dc_reference_list *series,
                            const uint32_t *counts, dc_ref_lookup scan_of_series, void *ctx,
                            dc_buf *out);

#define DC_SOP_CLASS_SEG "1.2.840.10008.5.1.4.1.1.66.4"
#define DC_SOP_CLASS_RTSTRUCT "1.2.840.10008.5.1.4.1.1.481.3"

/* 1 for the objects whose references the crawl lists (modality SEG,
 * RTSTRUCT, RTPLAN, RTDOSE, REG, KO, SR, PR, or SOP class SEG/RTSTRUCT) */
int dc_references_is_referencing(const char *modality, const char *sop_class);

/* What a record carries through the header pass (record.c, dc_record.refs):
 * the target (dc_references_target, "" when none) on the first line, then
 * one line per series-level row "kind TAB study TAB series TAB sop TAB for
 * TAB count".  Instance rows without a series first take the series the
 * same object names them under.  Malloc'd. */
char *dc_references_summary(const dc_dataset *ds);

/* Parse a summary back: OUT series (fresh list), counts (malloc'd),
 * target[target_len].  Returns 0, or -1 on garbage. */
int dc_references_parse_summary(const char *text, dc_reference_list *series, uint32_t **counts,
                                char *target, size_t target_len);

#endif
