/*
 * dc_privacy.h - what leaves the crawl (SPEC 12): the DICOM PS3.15 Annex E
 * Basic Application Level Confidentiality Profile and keyed pseudonyms.
 *
 * Three layers, one file each:
 *
 *   privacy.c          pure core: the profile's policy for one element (which
 *                      of the table's action codes dcmcrawl takes), keyed
 *                      pseudonyms (HMAC-SHA256, OpenSSL libcrypto), UIDs
 *                      2.25.<decimal>, per-patient date shift.
 *   privacy_dataset.c  pure: a parsed dataset -> its de-identified copy
 *                      (elements removed, emptied, replaced), which the CSV
 *                      row is flattened from.  Works below column naming, so
 *                      it holds for any csv_style.
 *   privacy_run.c      the run's instance: reads the key file and checks the
 *                      privacy.* keys at start-up (exit 2 when wrong), and
 *                      the hooks other modules call where identifying text
 *                      is formed (Scan IDs, file paths, record UIDs, log
 *                      lines, the HDF5 `config` attribute); each hook is the
 *                      identity when privacy.profile is none.
 *
 * The table itself (privacy_table.c) is generated from tools/data/
 * ps3.15_table_e1-1.tsv by tools/gen_privacy_table.py.
 *
 * Policy (the choices the Annex leaves to the implementer; README "Privacy"):
 *   - X/Z, X/D, X/Z/D -> X (removed): nothing here needs IOD conformance.
 *   - Z/D -> Z (empty).  D on a sequence -> removed; D on a value -> a dummy
 *     ("ANONYMIZED", PN "ANONYMOUS", DA 19000101, TM 000000, numbers empty).
 *   - X/Z/U* (Referenced Image / Source Image Sequence) -> kept, the UIDs in
 *     its items replaced (their own rows say U): references stay usable.
 *   - U -> 2.25.<decimal of the first 128 bits of HMAC(key, "U" 0 uid)>.
 *   - Patient ID and Patient's Name -> one pseudonym "P" + 16 hex digits of
 *     HMAC(key, "patient" 0 PatientID) (the Name when there is no ID), so
 *     scans of one patient stay together.
 *   - Dates: rows the table marks for the modified-dates option are shifted
 *     by a per-patient number of days (1..3652 back, from HMAC(key, "S" 0 PatientID)) with
 *     privacy.retain_dates: shift (times kept); else the row's code applies.
 *   - Safety nets beyond the table: every private tag removed (group odd),
 *     every PN value not in the table removed, every DA/DT value not in the
 *     table removed (or shifted), every UI value that is not a DICOM-defined
 *     UID (1.2.840.10008.*) replaced as U, curves and overlays removed.
 *   - Segment Label, Segment Description, Segment Algorithm Name (not in the
 *     table) are descriptors: removed, or cleaned with clean_descriptors.
 *   - privacy.clean_descriptors: descriptor rows (series/study description,
 *     protocol name, ...) kept, with the patient's identifying values found in
 *     them (name parts, IDs, accession number, birth date) replaced by "X".
 *   - Folder and file names -> "F"/"N" + 16 hex digits of HMAC(key, kind 0
 *     text); the folder part of a Scan ID is one pseudonym of the whole
 *     folder path.
 */
#ifndef DC_PRIVACY_H
#define DC_PRIVACY_H

#include <stddef.h>
#include <stdint.h>

#include "dc_columns.h"
#include "dc_config.h"
#include "dc_dicom.h"
#include "dc_record.h"

enum dc_privacy_profile { DC_PRIVACY_NONE = 0, DC_PRIVACY_BASIC = 1 };

#define DC_PRIVACY_MIN_KEY 32 /* bytes of key material at least */
#define DC_PRIVACY_MAX_KEY 4096
#define DC_PRIVACY_UID_LEN 48     /* "2.25." + up to 39 digits + NUL */
#define DC_PRIVACY_NAME_LEN 18    /* kind letter + 16 hex + NUL */
#define DC_PRIVACY_MAX_SHIFT 3652 /* days */

/* ---- the generated table (privacy_table.c) ---- */

#define DC_PRIV_DATES 1 /* the modified-dates option applies to this row */
#define DC_PRIV_DESC 2  /* the clean-descriptors option applies */

typedef struct {
    uint32_t tag, mask; /* row matches when (t & mask) == tag */
    const char *basic;  /* Basic Profile code as printed: "X", "X/Z", "X/Z/U*", ... */
    unsigned flags;     /* DC_PRIV_* */
} dc_privacy_row;

extern const dc_privacy_row dc_privacy_rows[]; /* exact tags, sorted */
extern const size_t dc_privacy_n_rows;
extern const dc_privacy_row dc_privacy_masked_rows[]; /* 50xx,xxxx and 60xx,eeee */
extern const size_t dc_privacy_n_masked_rows;

/* the table's row for tag, NULL when the table does not list it */
const dc_privacy_row *dc_privacy_lookup(uint32_t tag);

/* ---- pure core (privacy.c) ---- */

enum dc_privacy_action {
    DC_PA_KEEP = 0,
    DC_PA_REMOVE,  /* X: the element (and a sequence's items) goes */
    DC_PA_EMPTY,   /* Z: kept with an empty value */
    DC_PA_DUMMY,   /* D: a dummy value of its VR */
    DC_PA_UID,     /* U: each UID replaced by its pseudonymous UID */
    DC_PA_PATIENT, /* Patient ID / Patient's Name: the patient pseudonym */
    DC_PA_SHIFT,   /* date moved by the patient's offset */
    DC_PA_CLEAN    /* descriptor kept, identifying values scrubbed */
};

/* Told of every pseudonym made (privacy.map_file): kind 'U' UID, 'F' folder,
 * 'N' file name, 'P' patient; original[n] as hashed (trimmed). */
typedef void (*dc_privacy_note_fn)(const char *pseudonym, char kind, const char *original,
                                   size_t n);

typedef struct {
    int shift_dates;         /* privacy.retain_dates: shift */
    int clean_descriptors;   /* privacy.clean_descriptors */
    dc_privacy_note_fn note; /* NULL: nobody is told */
} dc_privacy_opts;

typedef struct dc_privacy dc_privacy;

/* IN key[n] (n >= DC_PRIVACY_MIN_KEY, copied), o.  NULL when the key is too short. */
dc_privacy *dc_privacy_new(const uint8_t *key, size_t n, const dc_privacy_opts *o);
void dc_privacy_free(dc_privacy *p);
int dc_privacy_cleans_descriptors(const dc_privacy *p);

/* What the profile does to an element: tag, VR, value (for the UI safety
 * net; may be NULL).  Pure policy over the table (see the top of this file). */
int dc_privacy_action(const dc_privacy *p, uint32_t tag, uint16_t vr, const char *val, size_t n);

/* OUT out: "2.25.<decimal>" for uid[n] (trimmed of spaces and NULs first). */
void dc_privacy_uid(const dc_privacy *p, const char *uid, size_t n, char out[DC_PRIVACY_UID_LEN]);
/* OUT out: kind + 16 lowercase hex digits of HMAC(key, kind 0 text[n]).
 * kinds used: 'F' folder path, 'N' file name, 'P' patient. */
void dc_privacy_name(const dc_privacy *p, char kind, const char *text, size_t n,
                     char out[DC_PRIVACY_NAME_LEN]);
/* days (negative, -1 .. -DC_PRIVACY_MAX_SHIFT) the dates of this patient move */
int dc_privacy_date_shift(const dc_privacy *p, const char *patient, size_t n);
/* "YYYYMMDD" moved by days -> out (8 chars + NUL).  Returns 0, or -1 when
 * in[n] is not a valid date of 8 digits (the caller removes it). */
int dc_privacy_shift_da(const char *in, size_t n, int days, char out[9]);

/* Sealed text (the input paths of the labels ledger, README "Privacy"):
 * AES-256-GCM under a key derived from the privacy key, nonce synthetic
 * (derived from the text: equal texts seal equally).  OUT out: hex
 * appended.  Unseal: the text (malloc'd), NULL when sealed is not hex of a
 * sealed text or was sealed under another key. */
void dc_privacy_seal(const dc_privacy *p, const char *text, dc_buf *out);
char *dc_privacy_unseal(const dc_privacy *p, const char *sealed);

/* ---- the dataset filter (privacy_dataset.c) ---- */

/* IN p (NULL: no profile), cols (NULL: every column; dc_columns.h), ds;
 * OUT out (initialised with dc_dataset_init, reused across calls): a copy of
 * ds's elements with the profile and the column rules applied; only buf, el
 * and top are filled (for flattening, not decoding).  Returns out. */
const dc_dataset *dc_privacy_filter(const dc_privacy *p, const dc_columns *cols,
                                    const dc_dataset *ds, dc_dataset *out);

/* A free-text value of ds (a segment label, an ROI name, ...) treated as a
 * descriptor: with privacy.clean_descriptors the text with ds's identifying
 * values (name parts, IDs, accession, birth date, ...) replaced by "X", else
 * "" (removed).  OUT out (appended).  p NULL: the text unchanged. */
void dc_privacy_descriptor(const dc_privacy *p, const dc_dataset *ds, const char *text, dc_buf *out);

/* The burned-in flag (README "Privacy"): with a profile, the filtered copy
 * gets a private block of dcmcrawl's own at top level, creator
 * (0dc1,0010) "DCMCRAWL" and (0dc1,1001) CS "YES" when the pixels may show
 * burned-in text (BurnedInAnnotation YES, or a secondary capture SOP class
 * 1.2.840.10008.5.1.4.1.1.7*), else "NO".  Every private tag of the file is
 * removed by the profile, so the block never meets one of the file's. */
#define DC_PRIVACY_FLAG_CREATOR "DCMCRAWL"
#define DC_PRIVACY_FLAG_CREATOR_TAG DC_TAG(0x0DC1, 0x0010)
#define DC_PRIVACY_FLAG_TAG DC_TAG(0x0DC1, 0x1001)
#define DC_PRIVACY_SC_FAMILY "1.2.840.10008.5.1.4.1.1.7"
/* 1 when ds's top level says BurnedInAnnotation YES or a secondary capture SOP class */
int dc_privacy_burned_in_risk(const dc_dataset *ds);
/* 1 when uid[n] (padding trimmed) is a secondary capture SOP class: DC_PRIVACY_SC_FAMILY
 * itself or one of its children (".1" ... ".4"), not 1.2.840.10008.5.1.4.1.1.77.1 */
int dc_privacy_secondary_capture(const char *uid, size_t n);

/* ---- the run (privacy_run.c) ---- */

/* Check the privacy.* keys and read the key file (every rank, at start-up);
 * set up output.columns (active with or without a profile).
 * With profile none and no column rules: 0, nothing else.  Errors (-1, err names the key):
 * no key_file, unreadable or shorter than DC_PRIVACY_MIN_KEY bytes,
 * map_file inside output.folder, retain_safe_private true (no machine-readable
 * safe-private list yet).  On success the instance is active: it rewrites
 * cfg's notes and config_text (folder names pseudonymised) and filters log
 * lines that name input paths. */
int dc_privacy_start(dc_config *cfg, char *err, size_t errlen);
void dc_privacy_stop(void);
const dc_privacy *dc_privacy_active(void); /* NULL with profile none */

/* Hooks.  Each returns its input unchanged (or its usual value) when no
 * profile is active.  "view" results live in a per-thread ring of buffers
 * and stay valid for the next 3 view calls of the thread. */
const dc_dataset *dc_privacy_view(const dc_dataset *ds);    /* the dataset to flatten
                                                               (profile and output.columns) */
char *dc_privacy_scope_id(const char *scope_path);          /* malloc'd: dc_scope_id or F... */
char *dc_privacy_file_stem(const char *path);               /* malloc'd: dc_file_stem or N... */
const char *dc_privacy_base_name(const char *base);         /* a file name in a warning */
const char *dc_privacy_path_view(const char *path);         /* F.../N... for a file path */
const char *dc_privacy_folder_view(const char *scope_path); /* F... (source_folder) */
/* rank 0, once, before grouping: the records' SOP, series and study UIDs
 * replaced by their pseudonymous UIDs (grouping only compares them) */
void dc_privacy_records(dc_record *recs, size_t n);

/* Pseudonymise every occurrence of a path under prefix[] in msg (cap bytes);
 * the log filter.  Pure, exposed for tests. */
void dc_privacy_scrub_paths(const dc_privacy *p, const char *const *prefix, size_t n_prefix,
                            char *msg, size_t cap);

#endif
