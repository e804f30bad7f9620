/*
 * test_config.c - config.c: YAML schema (defaults, every key, every error with
 * its exact message and line), --set forms, the command line (config file,
 * -c, positional folders, old crawler flags, --help/--version/--dry-run),
 * dropping of non-directory folders, output folder checks, config_text,
 * output paths and the --help text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dc_config.h"

/* ------------------------------------------------------------------ helpers */

static char tmp_root[256];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* tmp_root/name, caller frees */
static char *tpath(const char *name)
{
    return dc_asprintf("%s/%s", tmp_root, name);
}

static int setup_tree(void **state)
{
    (void)state;
    snprintf(tmp_root, sizeof tmp_root, "/tmp/dc_test_config_XXXXXX");
    assert_non_null(mkdtemp(tmp_root));
    chmod(tmp_root, 0755);
    const char *dirs[] = {"d1", "d2", "out"};
    for (size_t i = 0; i < 3; i++) {
        char *p = tpath(dirs[i]);
        assert_int_equal(mkdir(p, 0755), 0);
        free(p);
    }
    char *f = tpath("plain.txt");
    write_text(f, "not a folder\n");
    free(f);
    return 0;
}

static int teardown_tree(void **state)
{
    (void)state;
    char *cmd = dc_asprintf("rm -rf '%s'", tmp_root);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

/* Parse YAML text expecting success. */
static void parse_ok(dc_config *cfg, const char *yaml)
{
    char err[DC_ERRLEN] = "";
    dc_config_init(cfg);
    int rc = dc_config_parse_yaml(cfg, yaml, strlen(yaml), "t.yaml", err, sizeof err);
    if (rc != 0) fail_msg("unexpected error: %s", err);
}

/* Parse YAML text expecting exactly the error `want`. */
static void parse_err(const char *yaml, const char *want)
{
    dc_config cfg;
    char err[DC_ERRLEN] = "";
    dc_config_init(&cfg);
    int rc = dc_config_parse_yaml(&cfg, yaml, strlen(yaml), "t.yaml", err, sizeof err);
    dc_config_free(&cfg);
    if (rc == 0) fail_msg("no error for:\n%s", yaml);
    assert_string_equal(err, want);
}

static void set_err_is(const char *assignment, const char *want)
{
    dc_config cfg;
    char err[DC_ERRLEN] = "";
    dc_config_init(&cfg);
    assert_int_equal(dc_config_set(&cfg, assignment, err, sizeof err), -1);
    assert_string_equal(err, want);
    dc_config_free(&cfg);
}

/* Run dc_config_from_args on a NULL-terminated list of arguments. */
static int run_args(dc_config *cfg, char *err, const char *first, ...)
{
    char *argv[64];
    int argc = 0;
    argv[argc++] = "dcmcrawl";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *)) argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    err[0] = '\0';
    return dc_config_from_args(argc, argv, cfg, err, DC_ERRLEN);
}

static char *write_config(const char *name, const char *text)
{
    char *p = tpath(name);
    write_text(p, text);
    return p;
}

/* ------------------------------------------------------------------ defaults */

static const char *DEFAULT_YAML = "input:\n"
                                  "  folders: []\n"
                                  "  recursive: false\n"
                                  "  follow_symlinks: false\n"
                                  "output:\n"
                                  "  folder: \".\"\n"
                                  "  id: null\n"
                                  "  write_pixeldata: false\n"
                                  "  volumes: false\n"
                                  "  layout: zyx\n"
                                  "  compression: none\n"
                                  "  rescale: false\n"
                                  "  philips_scaling: display\n"
                                  "  mpi_io_hints: {}\n"
                                  "  csv_style: seed\n"
                                  "  csv_formula_guard: false\n"
                                  "volumes:\n"
                                  "  slice_order: position\n"
                                  "  split_inconsistent: true\n"
                                  "run:\n"
                                  "  commit_every: 10000\n"
                                  "  commit_seconds: 5\n"
                                  "  retry_unreadable: false\n"
                                  "  log_level: info\n"
                                  "  progress: auto\n"
                                  "  claim_lease_seconds: 90\n"
                                  "  max_image_bytes: 4GiB\n";

static void test_defaults(void **state)
{
    (void)state;
    dc_config cfg;
    dc_config_init(&cfg);
    assert_int_equal(cfg.folders.n, 0);
    assert_int_equal(cfg.recursive, 0);
    assert_int_equal(cfg.follow_symlinks, 0);
    assert_string_equal(cfg.out_folder, ".");
    assert_null(cfg.out_id);
    assert_int_equal(cfg.write_pixeldata, 0);
    assert_int_equal(cfg.volumes, 0);
    assert_int_equal(cfg.layout, DC_LAYOUT_ZYX);
    assert_int_equal(cfg.gzip_level, 0);
    assert_int_equal(cfg.rescale, 0);
    assert_int_equal(cfg.philips_scaling, DC_PHILIPS_DISPLAY);
    assert_int_equal(cfg.slice_order, DC_ORDER_POSITION);
    assert_int_equal(cfg.split_inconsistent, 1);
    assert_int_equal(cfg.commit_every, 10000);
    assert_int_equal(cfg.commit_seconds, 5);
    assert_int_equal(cfg.window_files, 0); /* not set: 500 per rank (dc_config_window_files) */
    assert_int_equal(dc_config_window_files(&cfg, 3), 3 * DC_WINDOW_FILES_PER_RANK);
    assert_int_equal(cfg.retry_unreadable, 0);
    assert_int_equal(cfg.log_level, DC_LOG_INFO);
    assert_int_equal(cfg.progress, DC_PROGRESS_AUTO);
    assert_int_equal(cfg.csv_formula_guard, 0);
    assert_int_equal(cfg.csv_style, 0); /* seed */
    assert_int_equal(cfg.csv_style_given, 0);
    assert_true(cfg.max_image_bytes == (4ull << 30));
    assert_int_equal(cfg.claim_lease_seconds, 90);
    assert_int_equal(cfg.dry_run, 0);
    assert_null(cfg.config_path);
    char *y = dc_config_to_yaml(&cfg);
    assert_string_equal(y, DEFAULT_YAML);
    free(y);
    dc_config_free(&cfg);
}

/* ------------------------------------------------------------------ every key */

static const char *FULL_YAML = "# every key, none at its default\n"
                               "input:\n"
                               "  folders: [storage/f1, 'storage/f 2']\n"
                               "  recursive: true\n"
                               "  follow_symlinks: yes\n"
                               "output:\n"
                               "  folder: out/x\n"
                               "  id: example3\n"
                               "  write_pixeldata: True\n"
                               "  volumes: on\n"
                               "  layout: seed\n"
                               "  compression: gzip:6\n"
                               "  rescale: TRUE\n"
                               "  philips_scaling: floating\n"
                               "  mpi_io_hints: {striping_factor: 8, romio_cb_write: enable}\n"
                               "  csv_style: dicom\n"
                               "  csv_formula_guard: true\n"
                               "volumes:\n"
                               "  slice_order: filename\n"
                               "  split_inconsistent: no\n"
                               "run:\n"
                               "  commit_every: 7\n"
                               "  commit_seconds: 30\n"
                               "  window_files: 500\n"
                               "  retry_unreadable: true\n"
                               "  log_level: debug\n"
                               "  progress: never\n"
                               "  claim_lease_seconds: 45\n"
                               "  max_image_bytes: 1536 MiB\n";

static void test_every_key(void **state)
{
    (void)state;
    dc_config cfg;
    parse_ok(&cfg, FULL_YAML);
    assert_int_equal(cfg.folders.n, 2);
    assert_string_equal(cfg.folders.v[0], "storage/f1");
    assert_string_equal(cfg.folders.v[1], "storage/f 2");
    assert_int_equal(cfg.recursive, 1);
    assert_int_equal(cfg.follow_symlinks, 1);
    assert_string_equal(cfg.out_folder, "out/x");
    assert_string_equal(cfg.out_id, "example3");
    assert_int_equal(cfg.write_pixeldata, 1);
    assert_int_equal(cfg.volumes, 1);
    assert_int_equal(cfg.layout, DC_LAYOUT_SEED);
    assert_int_equal(cfg.gzip_level, 6);
    assert_int_equal(cfg.rescale, 1);
    assert_int_equal(cfg.philips_scaling, DC_PHILIPS_FLOATING);
    assert_int_equal(cfg.slice_order, DC_ORDER_FILENAME);
    assert_int_equal(cfg.split_inconsistent, 0);
    assert_int_equal(cfg.commit_every, 7);
    assert_int_equal(cfg.commit_seconds, 30);
    assert_int_equal(cfg.window_files, 500);
    assert_int_equal(cfg.retry_unreadable, 1);
    assert_int_equal(cfg.log_level, DC_LOG_DEBUG);
    assert_int_equal(cfg.progress, DC_PROGRESS_NEVER);
    assert_int_equal(cfg.csv_formula_guard, 1);
    assert_int_equal(cfg.csv_style, 1); /* dicom */
    assert_int_equal(cfg.csv_style_given, 1);
    assert_true(cfg.max_image_bytes == 1536ull << 20);
    assert_int_equal(cfg.claim_lease_seconds, 45);
    assert_int_equal(cfg.mpi_io_hints.n, 4);
    assert_string_equal(cfg.mpi_io_hints.v[0], "striping_factor");
    assert_string_equal(cfg.mpi_io_hints.v[1], "8");
    assert_string_equal(cfg.mpi_io_hints.v[3], "enable");
    assert_int_equal(cfg.input_line, 2);
    char *y = dc_config_to_yaml(&cfg);
    assert_string_equal(y, "input:\n"
                           "  folders:\n"
                           "    - \"storage/f1\"\n"
                           "    - \"storage/f 2\"\n"
                           "  recursive: true\n"
                           "  follow_symlinks: true\n"
                           "output:\n"
                           "  folder: \"out/x\"\n"
                           "  id: \"example3\"\n"
                           "  write_pixeldata: true\n"
                           "  volumes: true\n"
                           "  layout: seed\n"
                           "  compression: gzip:6\n"
                           "  rescale: true\n"
                           "  philips_scaling: floating\n"
                           "  mpi_io_hints: {striping_factor: \"8\", romio_cb_write: \"enable\"}\n"
                           "  csv_style: dicom\n"
                           "  csv_formula_guard: true\n"
                           "volumes:\n"
                           "  slice_order: filename\n"
                           "  split_inconsistent: false\n"
                           "run:\n"
                           "  commit_every: 7\n"
                           "  commit_seconds: 30\n"
                           "  window_files: 500\n"
                           "  retry_unreadable: true\n"
                           "  log_level: debug\n"
                           "  progress: never\n"
                           "  claim_lease_seconds: 45\n"
                           "  max_image_bytes: 1536MiB\n");
    /* the rendered text parses back to the same config */
    dc_config again;
    parse_ok(&again, y);
    char *y2 = dc_config_to_yaml(&again);
    assert_string_equal(y, y2);
    free(y);
    free(y2);
    dc_config_free(&again);
    dc_config_free(&cfg);
}

static void test_values_and_forms(void **state)
{
    (void)state;
    dc_config cfg;
    /* a single string is a one-element list; block list; enum case; null id */
    parse_ok(&cfg, "input:\n  folders: storage/only\noutput:\n  id:\n  layout: ZYX\n"
                   "  compression: none\nrun:\n  log_level: Warn\n  progress: always\n"
                   "  commit_every: \"12\"\n");
    assert_int_equal(cfg.folders.n, 1);
    assert_string_equal(cfg.folders.v[0], "storage/only");
    assert_null(cfg.out_id);
    assert_int_equal(cfg.layout, DC_LAYOUT_ZYX);
    assert_int_equal(cfg.log_level, DC_LOG_WARN);
    assert_int_equal(cfg.progress, DC_PROGRESS_ALWAYS);
    assert_int_equal(cfg.commit_every, 12);
    dc_config_free(&cfg);

    parse_ok(&cfg, "input:\n  folders:\n    - a\n    - \"b/c\"\noutput:\n  id: ''\n"
                   "  compression: gzip:1\nvolumes:\n  slice_order: instance\n"
                   "run:\n  log_level: error\n");
    assert_int_equal(cfg.folders.n, 2);
    assert_string_equal(cfg.folders.v[1], "b/c");
    assert_null(cfg.out_id);
    assert_int_equal(cfg.gzip_level, 1);
    assert_int_equal(cfg.slice_order, DC_ORDER_INSTANCE);
    assert_int_equal(cfg.log_level, DC_LOG_ERROR);
    dc_config_free(&cfg);

    /* empty sections, comments only in a section, numbers as ids */
    parse_ok(&cfg, "output:\nvolumes:\n  # nothing\nrun: {commit_every: 1000000000}\n"
                   "input: {folders: [x]}\n");
    assert_int_equal(cfg.commit_every, 1000000000L);
    assert_int_equal(cfg.input_line, 5);
    dc_config_free(&cfg);

    const char *bools[][2] = {{"true", "1"},   {"True", "1"},  {"yes", "1"}, {"Yes", "1"},
                              {"false", "0"},  {"False", "0"}, {"no", "0"},  {"No", "0"},
                              {"'true'", "1"}, {"off", "0"}};
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        char *y = dc_asprintf("input:\n  recursive: %s\n", bools[i][0]);
        parse_ok(&cfg, y);
        assert_int_equal(cfg.recursive, bools[i][1][0] - '0');
        free(y);
        dc_config_free(&cfg);
    }
}

/* ------------------------------------------------------------------ YAML errors */

static void test_errors_keys_and_types(void **state)
{
    (void)state;
    parse_err("input:\n  folders: [a]\noutput:\n  idd: x\n", "t.yaml:4: output.idd: unknown key");
    parse_err("inputs:\n  folders: [a]\n",
              "t.yaml:1: inputs: unknown section (expected input, output, volumes or run)");
    parse_err("output:\n  layout: [zyx]\n",
              "t.yaml:2: output.layout: expected a single value, got a list");
    parse_err("output:\n  id:\n    a: b\n",
              "t.yaml:3: output.id: expected a single value, got a mapping");
    parse_err("input:\n  folders: {a: b}\n",
              "t.yaml:2: input.folders: expected a folder or a list of folders, got a mapping");
    parse_err("input:\n  folders:\n    - a\n    - [b, c]\n",
              "t.yaml:4: input.folders: item 2: expected a folder path, got a list");
    parse_err("input:\n  folders:\n    - a\n    -\n",
              "t.yaml:4: input.folders: item 2: expected a folder path, got nothing");
    parse_err("input:\n  folders: []\n",
              "t.yaml:2: input.folders: empty list; give at least one folder");
    parse_err("input:\n  folders:\n", "t.yaml:2: input.folders: expected a folder or a list of "
                                      "folders, got nothing");
    parse_err("- input\n", "t.yaml:1: expected a mapping of sections (input, output, volumes, "
                           "run), got a list");
    parse_err("output: [a]\n", "t.yaml:1: output: expected a mapping of keys, got a list");
    parse_err("output: yes\n", "t.yaml:1: output: expected a mapping of keys, got a single value");
    parse_err("output:\n  [a]: b\n", "t.yaml:2: output: expected a key name, got a list");
}

static void test_errors_values(void **state)
{
    (void)state;
    parse_err("# layout\n\noutput:\n  folder: o\n  layout: xyz\n",
              "t.yaml:5: output.layout: expected zyx or seed, got \"xyz\"");
    parse_err("run:\n  commit_every: abc\n",
              "t.yaml:2: run.commit_every: expected a whole number >= 1, got \"abc\"");
    parse_err("run:\n  commit_every: 0\n",
              "t.yaml:2: run.commit_every: expected a whole number >= 1, got \"0\"");
    parse_err("run:\n  commit_every: -4\n",
              "t.yaml:2: run.commit_every: expected a whole number >= 1, got \"-4\"");
    parse_err("run:\n  commit_every: 2.5\n",
              "t.yaml:2: run.commit_every: expected a whole number >= 1, got \"2.5\"");
    parse_err("run:\n  commit_every: 99999999999\n",
              "t.yaml:2: run.commit_every: expected a whole number >= 1, got \"99999999999\"");
    parse_err("run:\n  claim_lease_seconds: 0\n",
              "t.yaml:2: run.claim_lease_seconds: expected a whole number >= 1, got \"0\"");
    parse_err("run:\n  commit_every:\n",
              "t.yaml:2: run.commit_every: expected a whole number >= 1, got nothing");
    parse_err("output:\n  compression: gzip:0\n",
              "t.yaml:2: output.compression: expected none or gzip:1..9, got \"gzip:0\"");
    parse_err("output:\n  compression: gzip:10\n",
              "t.yaml:2: output.compression: expected none or gzip:1..9, got \"gzip:10\"");
    parse_err("output:\n  compression: gzip\n",
              "t.yaml:2: output.compression: expected none or gzip:1..9, got \"gzip\"");
    parse_err("output:\n  compression: lz4\n",
              "t.yaml:2: output.compression: expected none or gzip:1..9, got \"lz4\"");
    parse_err("volumes:\n  slice_order: z\n", "t.yaml:2: volumes.slice_order: expected "
                                              "position, instance or filename, got \"z\"");
    parse_err("run:\n  log_level: loud\n",
              "t.yaml:2: run.log_level: expected error, warn, info or debug, got \"loud\"");
    parse_err("run:\n  progress: sometimes\n",
              "t.yaml:2: run.progress: expected auto, always or never, got \"sometimes\"");
    parse_err("privacy:\n  profile: strict\n",
              "t.yaml:2: privacy.profile: expected none or basic, got \"strict\"");
    parse_err("input:\n  select: {modality: [CT], slices: 3}\n",
              "t.yaml:2: input.select: unknown key slices (modality, sop_class, "
              "exclude_image_type, exclude_burned_in, min_slices)");
    parse_err("input:\n  select: {min_slices: 0}\n",
              "t.yaml:2: input.select: min_slices: expected a whole number >= 1, got \"0\"");
    parse_err("output:\n  columns: {exclude: [PatientNam]}\n",
              "t.yaml:2: output.columns: exclude: unknown keyword \"PatientNam\" (a data "
              "dictionary keyword, e.g. PatientName)");
    parse_err("privacy:\n  retain_dates: keep\n",
              "t.yaml:2: privacy.retain_dates: expected remove or shift, got \"keep\"");
    parse_err("output:\n  volumes: maybe\n",
              "t.yaml:2: output.volumes: expected true or false, got \"maybe\"");
    parse_err("output:\n  rescale: 1\n",
              "t.yaml:2: output.rescale: expected true or false, got \"1\"");
    parse_err("output:\n  rescale: ~\n",
              "t.yaml:2: output.rescale: expected true or false, got nothing");
    parse_err("output:\n  id: a/b\n", "t.yaml:2: output.id: must not contain '/', got \"a/b\"");
    parse_err("output:\n  folder:\n",
              "t.yaml:2: output.folder: expected a folder path, got nothing");
    parse_err("output:\n  folder: ''\n",
              "t.yaml:2: output.folder: expected a folder path, got nothing");
    parse_err("output:\n  mpi_io_hints: [a, b]\n",
              "t.yaml:2: output.mpi_io_hints: expected a mapping of hint: value, got a list");
    parse_err("output:\n  mpi_io_hints:\n    cb nodes: 1\n",
              "t.yaml:3: output.mpi_io_hints: hint names are letters, digits and '_', got cb nodes");
    parse_err("output:\n  mpi_io_hints: {cb_nodes: [1]}\n",
              "t.yaml:2: output.mpi_io_hints: cb_nodes: expected a single value (up to 255 "
              "characters), got a list");
    parse_err("output:\n  csv_style: pydicom\n",
              "t.yaml:2: output.csv_style: expected seed or dicom, got \"pydicom\"");
    parse_err("output:\n  csv_formula_guard: sometimes\n",
              "t.yaml:2: output.csv_formula_guard: expected true or false, got \"sometimes\"");
    const char *bad_sizes[] = {"4 GB/s", "-1", "0", "1023", "4.5GiB", "GiB", "1025TiB",
                               "99999999999999999999", "4 PiB", "[1]"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        char *y = dc_asprintf("run:\n  max_image_bytes: %s\n", bad_sizes[i]);
        char *want = i == 9 ? dc_strdup("t.yaml:2: run.max_image_bytes: expected a single value, "
                                        "got a list")
                            : dc_asprintf("t.yaml:2: run.max_image_bytes: expected a size from "
                                          "1KiB to 1024TiB, e.g. 4GiB, 512MiB or a number of "
                                          "bytes, got \"%s\"",
                                          bad_sizes[i]);
        parse_err(y, want);
        free(y);
        free(want);
    }
    parse_err("run:\n  max_image_bytes:\n",
              "t.yaml:2: run.max_image_bytes: expected a size from 1KiB to 1024TiB, e.g. 4GiB, "
              "512MiB or a number of bytes, got nothing");
}

static void test_sizes(void **state)
{
    (void)state;
    const struct {
        const char *in;
        unsigned long long bytes;
        const char *shown;
    } ok[] = {{"1024", 1024, "1KiB"},          {"1000000", 1000000, "1000000"},
              {"64k", 64ull << 10, "64KiB"},   {"512MiB", 512ull << 20, "512MiB"},
              {"512 mb", 512ull << 20, "512MiB"}, {"2G", 2ull << 30, "2GiB"},
              {"3gib", 3ull << 30, "3GiB"},    {"1024TiB", 1ull << 50, "1024TiB"},
              {"5000B", 5000, "5000"}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        dc_config cfg;
        char *y = dc_asprintf("run:\n  max_image_bytes: %s\n", ok[i].in);
        parse_ok(&cfg, y);
        assert_true(cfg.max_image_bytes == ok[i].bytes);
        char *text = dc_config_to_yaml(&cfg), *line = dc_asprintf("max_image_bytes: %s\n", ok[i].shown);
        if (!strstr(text, line)) fail_msg("%s rendered as:\n%s", ok[i].in, text);
        free(text);
        free(line);
        free(y);
        dc_config_free(&cfg);
    }
    dc_config cfg;
    char err[DC_ERRLEN];
    dc_config_init(&cfg);
    assert_int_equal(dc_config_set(&cfg, "run.max_image_bytes=8MiB", err, sizeof err), 0);
    assert_true(cfg.max_image_bytes == 8ull << 20);
    assert_int_equal(dc_config_set(&cfg, "output.csv_formula_guard=true", err, sizeof err), 0);
    assert_int_equal(cfg.csv_formula_guard, 1);
    dc_config_free(&cfg);
    set_err_is("run.max_image_bytes=lots",
               "--set run.max_image_bytes: expected a size from 1KiB to 1024TiB, e.g. 4GiB, "
               "512MiB or a number of bytes, got \"lots\"");
}

static void test_errors_duplicates_syntax_empty(void **state)
{
    (void)state;
    parse_err("output:\n  id: a\n  layout: zyx\n  id: b\n",
              "t.yaml:4: output.id: duplicate key (first at line 2)");
    parse_err("output:\n  id: a\ninput:\n  folders: [x]\noutput:\n  layout: zyx\n",
              "t.yaml:5: output: duplicate section (first at line 1)");
    parse_err("", "t.yaml:1: the config is empty (expected sections input, output, volumes, run)");
    parse_err("# only a comment\n\n",
              "t.yaml:1: the config is empty (expected sections input, output, volumes, run)");
    parse_err("input:\n  folders: [a\noutput:\n  id: x\n",
              "t.yaml:3: YAML syntax error: did not find expected ',' or ']' (while parsing a "
              "flow sequence at line 2)");
    parse_err("input:\n  recursive: true\n   follow_symlinks: false\n",
              "t.yaml:3: YAML syntax error: mapping values are not allowed in this context");
    parse_err("input:\n\tfolders: [a]\n",
              "t.yaml:2: YAML syntax error: found character that cannot start any token (while "
              "scanning for the next token at line 2)");
    parse_err("input:\n  folders: [a]\n---\noutput: {}\n",
              "t.yaml:4: only one YAML document is allowed");
    parse_err("input:\n  folders: [a]\noutput:\n  id: \xff\xfe\n",
              "t.yaml:4: YAML syntax error: invalid leading UTF-8 octet");
}

/* ------------------------------------------------------------------ --set */

static void test_set(void **state)
{
    (void)state;
    dc_config cfg;
    char err[DC_ERRLEN];
    dc_config_init(&cfg);
    assert_int_equal(dc_config_set(&cfg, "output.id=run2", err, sizeof err), 0);
    assert_string_equal(cfg.out_id, "run2");
    assert_int_equal(dc_config_set(&cfg, "input.folders=[a, 'b c']", err, sizeof err), 0);
    assert_int_equal(cfg.folders.n, 2);
    assert_string_equal(cfg.folders.v[0], "a");
    assert_string_equal(cfg.folders.v[1], "b c");
    assert_int_equal(dc_config_set(&cfg, "input.folders=one/path", err, sizeof err), 0);
    assert_int_equal(cfg.folders.n, 1);
    assert_string_equal(cfg.folders.v[0], "one/path");
    assert_int_equal(dc_config_set(&cfg, "input.recursive=true", err, sizeof err), 0);
    assert_int_equal(cfg.recursive, 1);
    assert_int_equal(dc_config_set(&cfg, "output.compression=gzip:9", err, sizeof err), 0);
    assert_int_equal(cfg.gzip_level, 9);
    assert_int_equal(dc_config_set(&cfg, "run.commit_every=5", err, sizeof err), 0);
    assert_int_equal(cfg.commit_every, 5);
    assert_int_equal(dc_config_set(&cfg, "output.folder=a=b", err, sizeof err), 0);
    assert_string_equal(cfg.out_folder, "a=b");
    assert_int_equal(dc_config_set(&cfg, "output.id=", err, sizeof err), 0);
    assert_null(cfg.out_id);
    dc_config_free(&cfg);

    set_err_is("output.idd=x", "--set output.idd: unknown key");
    set_err_is("output=x", "--set output: unknown key");
    set_err_is("nosuchsection.id=x", "--set nosuchsection.id: unknown key");
    set_err_is("output.id", "--set output.id: expected KEY=VALUE (e.g. --set output.id=run2)");
    set_err_is("output.layout=xyz", "--set output.layout: expected zyx or seed, got \"xyz\"");
    set_err_is("output.layout=[a]", "--set output.layout: expected a single value, got a list");
    set_err_is("run.commit_every=abc",
               "--set run.commit_every: expected a whole number >= 1, got \"abc\"");
    set_err_is("input.folders=[]", "--set input.folders: empty list; give at least one folder");
    set_err_is("input.folders=[a", "--set input.folders: YAML syntax error in the value: did not "
                                   "find expected ',' or ']' (while parsing a flow sequence at "
                                   "line 1)");
    set_err_is("output.folder=", "--set output.folder: expected a folder path, got nothing");
}

/* ------------------------------------------------------------------ command line */

static void test_cli_config_and_positional(void **state)
{
    (void)state;
    char *d1 = tpath("d1"), *d2 = tpath("d2"), *out = tpath("out");
    char *yaml = dc_asprintf("input:\n  folders: [%s]\noutput:\n  folder: %s\n  id: e1\n", d1, out);
    char *conf = write_config("c1.yaml", yaml);
    dc_config cfg;
    char err[DC_ERRLEN];

    assert_int_equal(run_args(&cfg, err, conf, NULL), DC_CLI_RUN);
    assert_int_equal(cfg.folders.n, 1);
    assert_string_equal(cfg.folders.v[0], d1);
    assert_string_equal(cfg.config_path, conf);
    assert_string_equal(cfg.out_id, "e1");
    assert_int_equal(cfg.out_folder_create, 0);
    assert_int_equal(cfg.notes.n, 0);
    assert_non_null(strstr(cfg.config_text, "  id: \"e1\"\n"));
    dc_config_free(&cfg);

    /* positional folders replace input.folders; -c and --config= forms */
    assert_int_equal(run_args(&cfg, err, conf, d2, d1, "--dry-run", NULL), DC_CLI_RUN);
    assert_int_equal(cfg.folders.n, 2);
    assert_string_equal(cfg.folders.v[0], d2);
    assert_string_equal(cfg.folders.v[1], d1);
    assert_int_equal(cfg.dry_run, 1);
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, d2, "-c", conf, NULL), DC_CLI_RUN);
    assert_int_equal(cfg.folders.n, 1);
    assert_string_equal(cfg.folders.v[0], d2);
    dc_config_free(&cfg);
    char *opt = dc_asprintf("--config=%s", conf);
    assert_int_equal(run_args(&cfg, err, opt, "--set", "output.id=z", NULL), DC_CLI_RUN);
    assert_string_equal(cfg.out_id, "z");
    assert_string_equal(cfg.folders.v[0], d1);
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, conf, "--set=output.layout=seed", "--", d2, NULL),
                     DC_CLI_RUN);
    assert_int_equal(cfg.layout, DC_LAYOUT_SEED);
    assert_string_equal(cfg.folders.v[0], d2);
    dc_config_free(&cfg);

    /* without a config: a folder as first positional means folders only */
    assert_int_equal(run_args(&cfg, err, d1, d2, "--output_id", "x", NULL), DC_CLI_RUN);
    assert_null(cfg.config_path);
    assert_int_equal(cfg.folders.n, 2);
    dc_config_free(&cfg);

    free(opt);
    free(conf);
    free(yaml);
    free(d1);
    free(d2);
    free(out);
}

static void test_cli_errors(void **state)
{
    (void)state;
    dc_config cfg;
    char err[DC_ERRLEN];
    char *conf = write_config("nofolders.yaml", "# no input\noutput:\n  id: x\n");
    char *conf2 =
        write_config("noinputfolders.yaml", "output:\n  id: x\ninput:\n  recursive: true\n");
    char *want;

    assert_int_equal(run_args(&cfg, err, conf, NULL), DC_CLI_ERROR);
    want = dc_asprintf("%s:1: input.folders: missing (required: list the folders to crawl in "
                       "the config, or give them after the config file)",
                       conf);
    assert_string_equal(err, want);
    free(want);
    dc_config_free(&cfg);

    assert_int_equal(run_args(&cfg, err, conf2, NULL), DC_CLI_ERROR);
    want = dc_asprintf("%s:3: input.folders: missing (required: list the folders to crawl in "
                       "the config, or give them after the config file)",
                       conf2);
    assert_string_equal(err, want);
    free(want);
    dc_config_free(&cfg);

    assert_int_equal(run_args(&cfg, err, "/nonexistent/c.yaml", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "/nonexistent/c.yaml: cannot read the config file: No such file or "
                             "directory");
    dc_config_free(&cfg);

    char *bad = write_config("bad.yaml", "input:\n  folders: [a]\noutput:\n  layout: xyz\n");
    assert_int_equal(run_args(&cfg, err, bad, NULL), DC_CLI_ERROR);
    want = dc_asprintf("%s:4: output.layout: expected zyx or seed, got \"xyz\"", bad);
    assert_string_equal(err, want);
    free(want);
    dc_config_free(&cfg);

    assert_int_equal(run_args(&cfg, err, NULL), DC_CLI_ERROR);
    assert_string_equal(err, "no config file given (usage: dcmcrawl CONFIG [FOLDER...]; see "
                             "dcmcrawl --help)");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--output_id", "x", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "input.folders: missing (give a config file, folders, "
                             "--dicom_folders or --set input.folders=[...])");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, conf, "--frobnicate", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "unknown option \"--frobnicate\" (see dcmcrawl --help)");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, conf, "--bogus=3", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "unknown option \"--bogus\" (see dcmcrawl --help)");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, conf, "--set", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "--set: missing value");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, conf, "--set", "output.idd=3", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "--set output.idd: unknown key");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--dry-run=yes", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "--dry-run: takes no value");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "-c", conf, "-c", conf, NULL), DC_CLI_ERROR);
    assert_string_equal(err, "-c: the config file is given twice");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, bad, "-c", conf, NULL), DC_CLI_ERROR);
    want = dc_asprintf("%s: a second config file (%s is given with -c)", bad, conf);
    assert_string_equal(err, want);
    free(want);
    dc_config_free(&cfg);
    assert_int_equal(
        run_args(&cfg, err, "--dicom_folders", "/tmp", "--write_pixeldata", "maybe", NULL),
        DC_CLI_ERROR);
    assert_string_equal(err, "--write_pixeldata (output.write_pixeldata): expected true or "
                             "false, got \"maybe\"");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", "['a',", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "--dicom_folders (input.folders): cannot read the list \"['a',\"");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", "[]", NULL), DC_CLI_ERROR);
    assert_string_equal(err, "--dicom_folders (input.folders): empty list; give at least one "
                             "folder");
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders=/tmp", "--log-level", "chatty", NULL),
                     DC_CLI_ERROR);
    assert_string_equal(err, "--log-level (run.log_level): expected error, warn, info or debug, "
                             "got \"chatty\"");
    dc_config_free(&cfg);
    free(bad);
    free(conf);
    free(conf2);
}

static void test_cli_old_flags(void **state)
{
    (void)state;
    dc_config cfg;
    char err[DC_ERRLEN];
    char *d1 = tpath("d1"), *d2 = tpath("d2"), *out = tpath("out");
    char *list = dc_asprintf("['%s', \"%s\"]", d1, d2);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", list, "--storage_folder", out,
                              "--output_id", "example3", "--write_pixeldata", "True",
                              "--eval_3d_scans", "True", "--n_procs", "8", "--par_over_folder",
                              "False", NULL),
                     DC_CLI_RUN);
    assert_null(cfg.config_path);
    assert_int_equal(cfg.folders.n, 2);
    assert_string_equal(cfg.folders.v[0], d1);
    assert_string_equal(cfg.folders.v[1], d2);
    assert_string_equal(cfg.out_folder, out);
    assert_string_equal(cfg.out_id, "example3");
    assert_int_equal(cfg.write_pixeldata, 1);
    assert_int_equal(cfg.volumes, 1);
    assert_int_equal(cfg.layout, DC_LAYOUT_SEED); /* the old crawler's (1, rows, cols, slices) */
    assert_int_equal(cfg.csv_style, 0);           /* seed */
    assert_int_equal(cfg.notes.n, 2);
    assert_string_equal(cfg.notes.v[0], "--n_procs 8 ignored: the number of ranks comes from "
                                        "mpirun (e.g. mpirun -np 8 dcmcrawl ...)");
    assert_string_equal(cfg.notes.v[1], "--par_over_folder False ignored: work is shared out by "
                                        "series over all ranks, and the number of ranks comes "
                                        "from mpirun");
    dc_config_free(&cfg);

    /* --flag=value forms, a plain path, False, '_' and '-' alike, progress/log flags */
    char *f1 = dc_asprintf("--dicom_folders=%s", d1);
    assert_int_equal(run_args(&cfg, err, f1, "--write_pixeldata=False", "--eval-3d-scans=False",
                              "--output_id=", "--log-level=debug", "--progress", "--dry_run", NULL),
                     DC_CLI_RUN);
    assert_int_equal(cfg.folders.n, 1);
    assert_string_equal(cfg.folders.v[0], d1);
    assert_int_equal(cfg.write_pixeldata, 0);
    assert_int_equal(cfg.volumes, 0);
    assert_null(cfg.out_id);
    assert_int_equal(cfg.log_level, DC_LOG_DEBUG);
    assert_int_equal(cfg.progress, DC_PROGRESS_ALWAYS);
    assert_int_equal(cfg.dry_run, 1);
    char *p = dc_config_out_path(&cfg, "metadata", "csv");
    assert_string_equal(p, "./metadata.csv");
    free(p);
    dc_config_free(&cfg);

    char *tuple = dc_asprintf("('%s',)", d2);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", tuple, "--no-progress", NULL),
                     DC_CLI_RUN);
    assert_int_equal(cfg.folders.n, 1);
    assert_string_equal(cfg.folders.v[0], d2);
    assert_int_equal(cfg.progress, DC_PROGRESS_NEVER);
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", d2, "--progress=auto", NULL),
                     DC_CLI_RUN);
    assert_int_equal(cfg.progress, DC_PROGRESS_AUTO);
    assert_int_equal(cfg.layout, DC_LAYOUT_SEED);
    dc_config_free(&cfg);
    /* --set wins over the old flags' layout, before or after them */
    assert_int_equal(run_args(&cfg, err, "--set", "output.layout=zyx", "--dicom_folders", d2, NULL),
                     DC_CLI_RUN);
    assert_int_equal(cfg.layout, DC_LAYOUT_ZYX);
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", d2, "--set", "output.layout=zyx", NULL),
                     DC_CLI_RUN);
    assert_int_equal(cfg.layout, DC_LAYOUT_ZYX);
    dc_config_free(&cfg);
    /* without old flags: zyx */
    assert_int_equal(run_args(&cfg, err, "--set", "input.folders=[/tmp]", NULL), DC_CLI_RUN);
    assert_int_equal(cfg.layout, DC_LAYOUT_ZYX);
    dc_config_free(&cfg);

    free(tuple);
    free(f1);
    free(list);
    free(d1);
    free(d2);
    free(out);
}

static void test_cli_help_version(void **state)
{
    (void)state;
    dc_config cfg;
    char err[DC_ERRLEN];
    assert_int_equal(run_args(&cfg, err, "--help", NULL), DC_CLI_HELP);
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "conf.yaml", "-h", NULL), DC_CLI_HELP);
    dc_config_free(&cfg);
    assert_int_equal(run_args(&cfg, err, "--version", NULL), DC_CLI_VERSION);
    dc_config_free(&cfg);
    /* help wins over other problems on the line */
    assert_int_equal(run_args(&cfg, err, "--bogus", "--help", NULL), DC_CLI_HELP);
    dc_config_free(&cfg);
    /* after "--" it is a folder name */
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", "/tmp", "--", "--help", NULL),
                     DC_CLI_ERROR);
    assert_string_equal(err, "--help: cannot read the config file: No such file or directory");
    dc_config_free(&cfg);

    const char *u = dc_config_usage();
    const char *must[] = {"folders: (required)",
                          "recursive: false",
                          "follow_symlinks: false",
                          "folder: .",
                          "id: (none)",
                          "write_pixeldata: false",
                          "volumes: false",
                          "layout: zyx",
                          "compression: none",
                          "rescale: false",
                          "slice_order: position",
                          "split_inconsistent: true",
                          "commit_every: 10000",
                          "commit_seconds: 5",
                          "window_files: (500 per rank)",
                          "retry_unreadable: false",
                          "log_level: info",
                          "progress: auto",
                          "csv_formula_guard: false",
                          "csv_style: seed",
                          "max_image_bytes: 4GiB",
                          "deeper than 12 sequences",
                          "get a leading ' so",
                          "--dicom_folders",
                          "--storage_folder",
                          "--output_id",
                          "--write_pixeldata",
                          "--eval_3d_scans",
                          "--n_procs",
                          "--par_over_folder",
                          "--set KEY=VALUE",
                          "--dry-run",
                          "--version",
                          "-c, --config",
                          "input:\n",
                          "output:\n",
                          "volumes:\n",
                          "run:\n"};
    for (size_t i = 0; i < sizeof must / sizeof must[0]; i++)
        if (!strstr(u, must[i])) fail_msg("--help text lacks \"%s\"", must[i]);
    assert_ptr_equal(u, dc_config_usage());
}

/* ------------------------------------------------------------------ folders and output */

static void test_folder_dropping(void **state)
{
    (void)state;
    dc_config cfg;
    char err[DC_ERRLEN];
    char *d1 = tpath("d1"), *plain = tpath("plain.txt"), *gone = tpath("gone");
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", plain, "--set", "output.id=a", d1, gone,
                              d1, plain, NULL),
                     DC_CLI_RUN);
    assert_int_equal(cfg.folders.n, 1);
    assert_string_equal(cfg.folders.v[0], d1);
    assert_int_equal(cfg.notes.n, 3);
    char *w0 = dc_asprintf("input.folders: \"%s\" skipped: No such file or directory", gone);
    char *w1 = dc_asprintf("input.folders: \"%s\" is listed twice; crawled once", d1);
    char *w2 = dc_asprintf("input.folders: \"%s\" skipped: not a directory", plain);
    assert_string_equal(cfg.notes.v[0], w0);
    assert_string_equal(cfg.notes.v[1], w1);
    assert_string_equal(cfg.notes.v[2], w2);
    /* config_text lists the folders actually crawled */
    char *line = dc_asprintf("  folders:\n    - \"%s\"\n  recursive", d1);
    assert_non_null(strstr(cfg.config_text, line));
    dc_config_free(&cfg);

    char *list = dc_asprintf("['%s', '%s']", plain, gone);
    assert_int_equal(run_args(&cfg, err, "--dicom_folders", list, NULL), DC_CLI_ERROR);
    char *want = dc_asprintf("input.folders: none of the listed folders is a directory (\"%s\": "
                             "not a directory; \"%s\": No such file or directory)",
                             plain, gone);
    assert_string_equal(err, want);
    assert_int_equal(cfg.notes.n, 2);
    dc_config_free(&cfg);
    free(want);
    free(list);
    free(line);
    free(w0);
    free(w1);
    free(w2);
    free(d1);
    free(plain);
    free(gone);
}

static void test_output_folder(void **state)
{
    (void)state;
    dc_config cfg;
    char err[DC_ERRLEN];
    char *d1 = tpath("d1"), *plain = tpath("plain.txt");
    char *newdir = tpath("out/new/deeper/");
    char *under_file = tpath("plain.txt/sub/x");

    assert_int_equal(run_args(&cfg, err, d1, "--storage_folder", newdir, NULL), DC_CLI_RUN);
    assert_int_equal(cfg.out_folder_create, 1);
    struct stat st;
    char *parent = tpath("out/new");
    assert_int_equal(stat(parent, &st), -1); /* nothing created */
    char *p = dc_config_out_path(&cfg, "pixel_data", ".h5");
    char *want = dc_asprintf("%spixel_data.h5", newdir);
    assert_string_equal(p, want);
    free(p);
    free(want);
    dc_config_free(&cfg);

    assert_int_equal(run_args(&cfg, err, d1, "--storage_folder", plain, NULL), DC_CLI_ERROR);
    want = dc_asprintf("output.folder: \"%s\" exists and is not a directory", plain);
    assert_string_equal(err, want);
    free(want);
    dc_config_free(&cfg);

    assert_int_equal(run_args(&cfg, err, d1, "--storage_folder", under_file, NULL), DC_CLI_ERROR);
    want = dc_asprintf("output.folder: cannot use \"%s\": Not a directory", under_file);
    assert_string_equal(err, want);
    free(want);
    dc_config_free(&cfg);

    /* out paths */
    dc_config_init(&cfg);
    free(cfg.out_folder);
    cfg.out_folder = dc_strdup("res");
    cfg.out_id = dc_strdup("run2");
    p = dc_config_out_path(&cfg, "unreadable_files", "csv");
    assert_string_equal(p, "res/unreadable_files_run2.csv");
    free(p);
    dc_config_free(&cfg);

    free(parent);
    free(d1);
    free(plain);
    free(newdir);
    free(under_file);
}

/* As root, permissions are bypassed: check a read-only output folder as nobody. */
static void test_output_folder_not_writable(void **state)
{
    (void)state;
    char *ro = tpath("ro");
    assert_int_equal(mkdir(ro, 0555), 0);
    chmod(ro, 0555);
    if (geteuid() == 0) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
            dc_config cfg;
            char err[DC_ERRLEN];
            int rc = run_args(&cfg, err, "/tmp", "--storage_folder", ro, NULL);
            char *want =
                dc_asprintf("output.folder: \"%s\" is not writable (Permission denied)", ro);
            int ok = rc == DC_CLI_ERROR && strcmp(err, want) == 0;
            if (!ok) fprintf(stderr, "got rc %d: %s\n", rc, err);
            dc_config_free(&cfg);
            free(want);
            char *sub = dc_asprintf("%s/new/x", ro);
            rc = run_args(&cfg, err, "/tmp", "--storage_folder", sub, NULL);
            want = dc_asprintf("output.folder: cannot create \"%s\": \"%s\" is not writable "
                               "(Permission denied)",
                               sub, ro);
            int ok2 = rc == DC_CLI_ERROR && strcmp(err, want) == 0;
            if (!ok2) fprintf(stderr, "got rc %d: %s\n", rc, err);
            dc_config_free(&cfg);
            free(want);
            free(sub);
            _exit(ok && ok2 ? 0 : 1);
        }
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    } else {
        dc_config cfg;
        char err[DC_ERRLEN];
        assert_int_equal(run_args(&cfg, err, "/tmp", "--storage_folder", ro, NULL), DC_CLI_ERROR);
        dc_config_free(&cfg);
    }
    rmdir(ro);
    free(ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_values_and_forms),
        cmocka_unit_test(test_errors_keys_and_types),
        cmocka_unit_test(test_errors_values),
        cmocka_unit_test(test_errors_duplicates_syntax_empty),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_cli_config_and_positional),
        cmocka_unit_test(test_cli_errors),
        cmocka_unit_test(test_cli_old_flags),
        cmocka_unit_test(test_cli_help_version),
        cmocka_unit_test(test_folder_dropping),
        cmocka_unit_test(test_output_folder),
        cmocka_unit_test(test_output_folder_not_writable),
    };
    return cmocka_run_group_tests(tests, setup_tree, teardown_tree);
}
