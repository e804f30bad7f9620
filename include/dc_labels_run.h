/*
 * dc_labels_run.h - labels and references in the crawl (issue 14, SPEC 13).
 *
 * Not with privacy.profile (the ledger would hold paths and UIDs).
 *
 * Two steps, both outside the per-scan batches:
 *
 * 1. While planning each window (rank 0, dc_labels_note): the scans to do
 *    are noted in a durable ledger, <output>/labels_<id>.d/ledger.tsv,
 *    appended and fsynced before the window's batches run:
 *      S  series UID, Scan ID and grid (dims, affine, slice positions) of
 *         every image scan (volume mode), so a label object can find its
 *         image volume in any later window or run without any rank holding
 *         the archive;
 *      L  Scan ID, modality, number of files, the (absolute) path of the
 *         example file and its references (dc_record.refs, read in the
 *         header pass: dc_references_summary) of every referencing scan
 *         (dc_references_is_referencing).
 *    A kill before the window's rows are committed makes the rerun note the
 *    scans again; readers keep one entry per Scan ID (the last).  A torn
 *    last line is cut before the next append.
 *
 * 2. At the end of every run that finished its windows (dc_labels_finish,
 *    collective; label datasets shared out over the ranks, the rest rank 0's):
 *    - references_<id>.csv is rewritten whole from the ledger (no input file
 *      is read again: metadata-only runs still read each file once; all runs of
 *      this output): one row per reference of each referencing scan, in
 *      Scan ID order, the target's Scan ID from the S lines (.tmp, fsync,
 *      rename: a kill leaves the old file or the new one);
 *    - with output.write_pixeldata and output.volumes: every SEG/RTSTRUCT
 *      whose referenced series has a 3D grid gets its label dataset in
 *      labels_<id>.d/<hash of Scan ID>.h5 (skipped when that file exists
 *      from an earlier run or an interrupted one), and the index
 *      labels_<id>.h5 links them all; a label scan whose referenced series
 *      is in no S line is listed in unreadable_files as "referenced series
 *      <uid> not crawled" (the row goes away in the run that crawls it), a
 *      label that fails as "labels: <reason>".
 *    Memory: the referencing scans' references and the grids of their
 *    targets, never the archive's scans.  Only rank 0 reads the ledger (a
 *    line per image scan); the other ranks get the part they need (the
 *    SEG/RTSTRUCT scans and their targets' grids, dc_wire) by broadcast.
 */
#ifndef DC_LABELS_RUN_H
#define DC_LABELS_RUN_H

#include <mpi.h>
#include <stddef.h>

#include "dc_config.h"
#include "dc_record.h"
#include "dc_resume.h"
#include "dc_scan.h"
#include "dc_util.h"
#include "dc_walk.h"

/* Rank 0, before a window's batches: note its scans (scans[n]) in the
 * ledger.  Returns 0, or -1 with an error logged. */
int dc_labels_note(const dc_config *cfg, const dc_record *recs, const dc_filelist *files,
                   const dc_scan *scans, size_t n);

/* Collective, after the last checkpoint of a run: references CSV, label
 * datasets, their unreadable rows.  Returns 0, or -1 (same on all ranks). */
int dc_labels_finish(MPI_Comm comm, const dc_config *cfg, dc_outputs *out);

/* The ledger's part rank 0 sends the other ranks (for the unit round trip):
 * dc_labels_ledger_part reads cfg's ledger and appends the packed part to
 * out (returns the number of referencing scans, 0: nothing packed);
 * dc_labels_ledger_repack unpacks data[len] and packs it again into out
 * (0, or -1 when the bytes are malformed). */
int dc_labels_ledger_part(const dc_config *cfg, dc_buf *out);
int dc_labels_ledger_repack(const dc_config *cfg, const char *data, size_t len, dc_buf *out);

#endif
