/*
 * dc_walk.h - enumerate the files in scope (SPEC 3).
 *
 * Rank 0 walks the input folders once.  Every directory that contributes
 * files is a "scope": the folder part of Scan IDs.  Without `recursive` the
 * scopes are exactly the input folders; with it, every subdirectory is its own
 * scope (folder as given + "/" + subpath).  Files are listed in a fixed order
 * (scopes in the order found, sorted by name within a folder) so that every
 * later step is deterministic.  Only regular files are listed; FIFOs, devices
 * and sockets are counted and never opened.
 */
#ifndef DC_WALK_H
#define DC_WALK_H

#include <stdint.h>
#include "dc_config.h"

/* dc_filelist.scope_is_input values */
enum {
    DC_SCOPE_SUB = 0,    /* a subfolder holding files (recursive mode) */
    DC_SCOPE_INPUT = 1,  /* a folder listed in input.folders */
    DC_SCOPE_DENIED = 2, /* a folder that could not be opened: permission denied */
    DC_SCOPE_FAILED = 3  /* a folder that could not be opened: another error */
};

typedef struct {
    char *path;     /* path to open: scope path + "/" + name */
    uint32_t scope; /* index into dc_filelist.scopes */
} dc_file;

/* What a folder's regular files look like: for the folder ledger
 * (dc_folderledger.h).  Accumulated in walk order, pure. */
typedef struct {
    uint64_t a, b;    /* two 64-bit hashes of (name, size, mtime, ctime, inode) per file */
    uint32_t n_files;
    uint8_t ok;       /* every file was stat'ed: usable for the ledger */
    uint8_t from_records; /* not taken by the walk (nothing to look up: a fresh
                             run): dc_fledger_window computes it from the
                             header pass's fstat of each file (dc_record.stat) */
} dc_folder_sig;

void dc_folder_sig_init(dc_folder_sig *s);
void dc_folder_sig_add(dc_folder_sig *s, const char *name, uint64_t size, int64_t mtime_ns,
                       int64_t ctime_ns, uint64_t ino);

typedef struct {
    dc_file *files;
    size_t n, cap;
    dc_strvec scopes;        /* scope paths as given, e.g. "storage/f1" or "storage/f1/sub" */
    uint8_t *scope_is_input; /* [scopes.n] DC_SCOPE_* (nonzero: a row in unreadable_files when
                                the scope has no DICOM file) */
    dc_folder_sig *scope_sig; /* [scopes.n] with a ledger (dc_walk_set_ledger), else NULL */
    uint8_t *scope_done;     /* [scopes.n] 1: a folder the ledger says is done, handed on
                                without its files (it had DICOM files), else NULL */
    size_t n_sig;            /* entries of scope_sig and scope_done (the walk's scopes) */
    size_t n_special;        /* FIFOs, devices, sockets: skipped, never opened */
    size_t n_dir_errors;     /* directories that could not be read (each logged with its path) */
    size_t n_symlinks;       /* symlinks not followed (follow_symlinks false) or dangling */
    size_t n_dirs;           /* directories walked */
    int (*stop)(void);       /* IN, optional: polled per directory; non-zero ends the walk */
    int stopped;             /* OUT: the walk ended early because stop() said so */
} dc_filelist;

void dc_filelist_init(dc_filelist *fl);
void dc_filelist_free(dc_filelist *fl);

/* IN cfg (folders, recursive, follow_symlinks); OUT fl (dc_filelist_init'ed).
 * Each directory is walked at most once (by st_dev/st_ino), which stops
 * symlink loops and folders listed twice.  Input folders are always scopes
 * (scope_is_input 1) once opened, even when empty; subdirectories become
 * scopes only when they hold regular files.  Unreadable directories are
 * logged and counted, not fatal: each (listed or found in recursive mode)
 * becomes a scope without files marked DC_SCOPE_DENIED/FAILED, after all
 * other scopes, so that it gets its row in unreadable_files ("cannot read
 * folder: Permission denied"); a file that vanishes before its stat is
 * skipped (debug message).  Names are kept byte-exact.  Returns 0, or -1 with
 * err when there are no folders or more files than a uint32 index holds. */
int dc_walk(const dc_config *cfg, dc_filelist *fl, char *err, size_t errlen);

/* The streaming walk (SPEC 10): the same walk, in the same order, handed out
 * a window at a time.  dc_walk_next fills fl (dc_filelist_init'ed, empty)
 * with whole folders until it holds at least max_files files; a folder that
 * would take a non-empty window past max_files starts the next window, so a
 * window is larger than max_files only when one folder is.  Scope indices
 * are the window's own.  Memory: the window plus one sorted entry list per
 * directory level being walked.  stop() is polled per directory; when it
 * says stop, fl->stopped is set and 0 returned.  Returns 0 when more may
 * follow, 1 when the walk is complete (the folders that could not be read
 * are the last window's last scopes), -1 with err. */
typedef struct dc_walk_cursor dc_walk_cursor;
dc_walk_cursor *dc_walk_open(const dc_config *cfg, int (*stop)(void));
int dc_walk_next(dc_walk_cursor *c, dc_filelist *fl, size_t max_files, char *err, size_t errlen);
void dc_walk_close(dc_walk_cursor *c);

/* With a folder ledger (dc_folderledger.h): every scope gets a scope_sig.
 * For each folder the walk asks known(ctx, folder) first, before any stat.
 * 0 (an empty ledger, a folder never recorded): no stat at all, the
 * scope_sig is from_records (ok 0 when a directory entry could not be
 * typed).  1 (a resume): sign the folder (one fstatat per regular file,
 * before any is read) and ask done(ctx, folder, sig); a done folder
 * becomes a scope without files, scope_done 1, and counts as one file
 * towards the window (so a window of done folders stays bounded).  Before
 * the first dc_walk_next. */
void dc_walk_set_ledger(dc_walk_cursor *c, int (*known)(void *ctx, const char *dir),
                        int (*done)(void *ctx, const char *dir, const dc_folder_sig *sig),
                        void *ctx);

/* Non-UTF-8 file names (issue 6).  Paths are kept byte-exact for opening
 * files.  Where a path becomes text (Scan IDs, which name rows in the UTF-8
 * CSVs and datasets in the HDF5 file, and the "Example file" column), every
 * byte that is not part of well-formed UTF-8 is written as \xNN (two
 * lowercase hex digits, Python's "backslashreplace"): a folder "caf\xe9"
 * (Latin-1) gives Scan IDs "...caf\xe9_<uid>" in the CSV and the HDF5 file
 * alike.  Valid UTF-8 names are unchanged.  In the folder part a literal
 * '\\' is already '_', so \xNN there always stands for a byte. */

/* Folder part of a Scan ID: every '/' and '\\' replaced by '_', then bytes
 * that are not UTF-8 as \xNN. Caller frees. */
char *dc_scope_id(const char *scope_path);

/* File name without directory and without its last extension ("a/b/img1.dcm" -> "img1";
 * like Python's os.path.splitext: ".hidden" stays ".hidden"), bytes that are
 * not UTF-8 as \xNN. Caller frees. */
char *dc_file_stem(const char *path);

#endif
