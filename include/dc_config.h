/*
 * dc_config.h - the run configuration (SPEC 1 and 2).
 *
 * dc_config_from_args() turns argv into a validated dc_config: it reads the
 * YAML file with libyaml, applies `--set KEY=VALUE` overrides, positional
 * folders, and the old crawler's flags, then checks every value.  It does no
 * I/O besides reading the config file and checking input folders, and never
 * exits: the caller maps the return code to an exit status.
 */
#ifndef DC_CONFIG_H
#define DC_CONFIG_H

#include "dc_util.h"

enum dc_layout { DC_LAYOUT_ZYX = 0, DC_LAYOUT_SEED = 1 };
/* output.philips_scaling: display = as stored (or RescaleSlope/Intercept with
 * rescale); floating = Philips' floating-point values (vendor_philips.c) */
enum dc_philips_scaling { DC_PHILIPS_DISPLAY = 0, DC_PHILIPS_FLOATING = 1 };
enum dc_slice_order { DC_ORDER_POSITION = 0, DC_ORDER_INSTANCE = 1, DC_ORDER_FILENAME = 2 };
enum dc_progress_mode { DC_PROGRESS_AUTO = 0, DC_PROGRESS_ALWAYS = 1, DC_PROGRESS_NEVER = 2 };

typedef struct {
    /* input */
    dc_strvec folders;   /* as given (after dropping non-directories) */
    int recursive;       /* 0/1 */
    int follow_symlinks; /* 0/1 */
    dc_strvec select_modality, select_sop_class, select_exclude_image_type; /* input.select */
    int select_exclude_burned_in;
    long select_min_slices; /* 0: any */
    /* output */
    char *out_folder; /* default "." */
    char *out_id;     /* NULL or "" => no id suffix */
    int write_pixeldata;
    int volumes;
    int layout;     /* enum dc_layout */
    int gzip_level; /* 0 = none, 1..9 = gzip with shuffle */
    int rescale;
    int philips_scaling;   /* enum dc_philips_scaling */
    int csv_formula_guard; /* prefix ' to metadata values that would start a spreadsheet formula */
    int csv_style;         /* enum dc_csv_style (dc_flatten.h): 0 seed, 1 dicom */
    int csv_style_given;   /* output.csv_style was set by the config file or --set (an
                              existing metadata CSV in the other style is then an error) */
    dc_strvec columns_include, columns_exclude; /* output.columns rules (dc_columns.h) */
    /* volumes */
    int slice_order; /* enum dc_slice_order */
    int split_inconsistent;
    /* run */
    long commit_every; /* at most this many scans per checkpoint, >= 1 */
    long commit_seconds; /* a checkpoint when this many seconds passed since the last, >= 1 */
    int commit_given;    /* bit 0: commit_every, bit 1: commit_seconds set by the config or
                            --set (else pixel runs use their own defaults, dc_checkpoint.h) */
    long window_files;   /* files planned at a time (SPEC 10), >= 1; 0 when not set
                            (dc_config_window_files: DC_WINDOW_FILES_PER_RANK per rank) */
    long claim_lease_seconds; /* lease of the claim on the outputs (dc_claim.h), >= 1 */
    int retry_unreadable;
    int log_level; /* DC_LOG_* */
    int progress;  /* enum dc_progress_mode */
    uint64_t max_image_bytes; /* decoded bytes of one scan above which it is unreadable */
    dc_strvec mpi_io_hints;   /* output.mpi_io_hints: key, value, key, value, ... given to
                                 every MPI-IO open (CSVs, HDF5 segments) as MPI_Info */
    /* privacy (SPEC 12, dc_privacy.h) */
    int privacy_profile;        /* enum dc_privacy_profile: 0 none, 1 basic */
    char *privacy_key_file;     /* NULL: none */
    char *privacy_map_file;     /* NULL: no map written */
    int privacy_retain_dates;   /* 0 remove, 1 shift */
    int privacy_retain_safe_private;
    int privacy_clean_descriptors;
    /* set by the command line, not the YAML */
    int dry_run;
    char *config_path;     /* NULL when only flags were given */
    char *config_text;     /* the effective config as YAML text, for the HDF5 `config` attribute */
    dc_strvec notes;       /* informational notes for the user (e.g. --n_procs ignored) */
    int out_folder_create; /* 1: output.folder does not exist yet and must be created
                              (its nearest existing parent is writable); set by
                              dc_config_finish(), which itself writes nothing */
    int input_line;        /* line of the `input:` section in config_path, 0 if none
                              (only for error messages) */
} dc_config;

/* run.claim_lease_seconds when not given */
#define DC_CLAIM_DEFAULT_LEASE 90

/* What dc_config_from_args() asks the caller to do. */
enum dc_cli_action {
    DC_CLI_RUN = 0,     /* cfg is valid: run */
    DC_CLI_HELP = 1,    /* print dc_config_usage() to stdout, exit 0 */
    DC_CLI_VERSION = 2, /* print version, exit 0 */
    DC_CLI_ERROR = 3    /* err holds a message naming the key/flag and line; exit 2 */
};

void dc_config_init(dc_config *cfg); /* defaults of SPEC 2 */
void dc_config_free(dc_config *cfg);

/* IN argc/argv; OUT cfg (initialised inside, free it whatever the result),
 * err (DC_ERRLEN) on DC_CLI_ERROR.  Sources in order, later ones win:
 * defaults, the config file (-c FILE, or the first positional unless it is a
 * directory), --set and the old crawler's flags in command-line order, then
 * positional folders (they replace input.folders).  -h/--help and --version
 * anywhere before "--" win over everything else.  Then dc_config_finish():
 * folders that are not directories are dropped with a warning appended to
 * cfg->notes; if none is left that is an error. */
int dc_config_from_args(int argc, char **argv, dc_config *cfg, char *err, size_t errlen);

/* Parse YAML text (no file access) into cfg; `source` names it in messages.
 * Keys given replace the values in cfg; input.folders is not required here
 * (dc_config_finish checks it, once folders from the command line are in).
 * Returns 0 or -1 with err set ("config.yaml:12: output.layout: ..."). */
int dc_config_parse_yaml(dc_config *cfg, const char *text, size_t len, const char *source,
                         char *err, size_t errlen);
/* Apply one KEY=VALUE override ("output.id=run2"); value parsed as YAML scalar/flow. */
int dc_config_set(dc_config *cfg, const char *assignment, char *err, size_t errlen);

/* Final checks once every source is applied (dc_config_from_args calls it):
 * input.folders present (else "...: input.folders: missing"), duplicates and
 * non-directories dropped with a note, output.folder a writable directory or
 * creatable (sets out_folder_create; nothing is written), config_text built.
 * Returns 0 or -1 with err. */
int dc_config_finish(dc_config *cfg, char *err, size_t errlen);

/* The effective config as YAML text (all keys); caller frees. */
char *dc_config_to_yaml(const dc_config *cfg);

const char *dc_config_usage(void);

/* One config key as documented: the table --help prints, given to
 * tools/gendocs.c, which writes the man page's CONFIGURATION section and
 * README's config table from it (so the three never disagree). */
typedef struct {
    const char *section, *name; /* "run", "commit_every" */
    const char *type;           /* "boolean", "path", "integer >= 1", "one of", ... */
    const char *const *choices; /* type "one of": the names, NULL-terminated; else NULL */
    const char *dflt;           /* the default as --help shows it */
    const char *help;           /* one line */
} dc_config_keydoc;

/* IN i (0, 1, ...); OUT *doc of the i-th key in --help's order.  Returns 0, or
 * -1 when i is past the last key. */
int dc_config_key_doc(size_t i, dc_config_keydoc *doc);

/* Output file paths: dc_config_out_path(cfg, "metadata", "csv") ->
 * "<folder>/metadata_<id>.csv", or "<folder>/metadata.csv" without an id
 * (ext with or without its dot).  Caller frees. */
char *dc_config_out_path(const dc_config *cfg, const char *stem, const char *ext);

/* Files a window plans when run.window_files is not set, per rank: the window's
 * records, rows and scans of a few hundred files per rank stay in the caches and
 * reuse their memory from window to window (a warm 20,000-file crawl at 2 ranks:
 * 235 ms in one window of 20,000, 165 ms in windows of 1,000; 1 rank: 312 vs
 * 227 ms at 500), and the serial work between header passes stays a small part of
 * a window.  README "Performance". */
#define DC_WINDOW_FILES_PER_RANK 500

/* run.window_files as set, or DC_WINDOW_FILES_PER_RANK x nranks when not set. */
long dc_config_window_files(const dc_config *cfg, int nranks);

#endif
