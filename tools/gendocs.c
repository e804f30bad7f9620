/*
 * gendocs - the documentation generated from the code, so that `dcmcrawl
 * --help`, the man page and README's config table never disagree.  One
 * source: dc_config_usage() (the --help text, which prints the key table of
 * src/core/config.c) and dc_config_key_doc() (the same key table, row by row).
 *
 *   gendocs man              the man page dcmcrawl(1) on stdout (roff)
 *   gendocs readme FILE      FILE with the text between the config-keys
 *                            markers replaced by the generated table, on stdout
 *   gendocs keys             every config key, "section.key", one per line
 *
 * The man page is the --help text turned into roff: its first paragraph is
 * NAME, "Usage:" SYNOPSIS, "Options:" OPTIONS, "Exit status:" EXIT STATUS,
 * other "Heading:" lines subsections, "  -x, --flag ARG   text" items; the
 * "Config keys" block becomes CONFIGURATION, rendered from the key table with
 * each key's type, allowed values and default.  Built by `make` (the Makefile
 * writes BUILD/dcmcrawl.1) and run by `make docs` (README.md).
 * Exit status: 0, 1 on a missing marker or unreadable FILE, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dc_config.h"
#include "dc_util.h"

#define README_BEGIN "<!-- config-keys:begin"
#define README_END "<!-- config-keys:end -->"
#define CONFIG_HEADING "Config keys"

/* ------------------------------------------------------------------ roff */

/* s[0..n) as roff text: '\' -> \e, '-' -> \- (options stay copyable), a
 * leading '.' or '\'' protected with \& so it is not read as a request */
static void roff_text(FILE *out, const char *s, size_t n)
{
    if (n > 0 && (s[0] == '.' || s[0] == '\'')) fputs("\\&", out);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

static void roff_line(FILE *out, const char *s)
{
    roff_text(out, s, strlen(s));
    fputc('\n', out);
}

static size_t indent_of(const char *line)
{
    return strspn(line, " ");
}

/* A --help item line "  -c, --config FILE       text": the term ends at the
 * first run of two spaces after the indent; *text_col = where the text starts
 * (0 if the line has no text part). */
static size_t item_term_len(const char *line, size_t *text_col)
{
    size_t ind = indent_of(line);
    const char *gap = strstr(line + ind, "  ");
    if (!gap) {
        *text_col = 0;
        return strlen(line + ind);
    }
    *text_col = (size_t)(gap - line) + strspn(gap, " ");
    return (size_t)(gap - line) - ind;
}

/* ------------------------------------------------------------------ the key table */

static void man_config_keys(FILE *out)
{
    dc_config_keydoc d;
    const char *section = "";
    for (size_t i = 0; dc_config_key_doc(i, &d) == 0; i++) {
        if (strcmp(section, d.section)) {
            section = d.section;
            fprintf(out, ".SS %s\n", section);
        }
        fprintf(out, ".TP\n\\fB%s.%s\\fR: ", d.section, d.name);
        roff_text(out, d.type, strlen(d.type));
        for (size_t c = 0; d.choices && d.choices[c]; c++) {
            fputs(c == 0 ? " " : " | ", out);
            roff_text(out, d.choices[c], strlen(d.choices[c]));
        }
        fputs(" (default \\fB", out);
        roff_text(out, d.dflt, strlen(d.dflt));
        fputs("\\fR)\n", out);
        roff_line(out, d.help);
    }
}

/* s as a Markdown table cell: '|' and '<' escaped (GitHub would take
 * "<id>" for an HTML tag and hide it) */
static void md_cell(dc_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '|' || *s == '<') dc_buf_putc(b, '\\');
        dc_buf_putc(b, *s);
    }
}

static void readme_table(dc_buf *b)
{
    dc_config_keydoc d;
    dc_buf_puts(b, "| key | type | default | meaning |\n|---|---|---|---|\n");
    for (size_t i = 0; dc_config_key_doc(i, &d) == 0; i++) {
        dc_buf_printf(b, "| `%s.%s` | ", d.section, d.name);
        md_cell(b, d.type);
        for (size_t c = 0; d.choices && d.choices[c]; c++) {
            dc_buf_puts(b, c == 0 ? " `" : "`, `");
            md_cell(b, d.choices[c]);
        }
        dc_buf_puts(b, d.choices ? "` | `" : " | `");
        md_cell(b, d.dflt);
        dc_buf_puts(b, "` | ");
        md_cell(b, d.help);
        dc_buf_puts(b, " |\n");
    }
}

/* ------------------------------------------------------------------ --help to roff */

typedef struct {
    FILE *out;
    int in_config; /* inside the "Config keys" block: its key lines are skipped */
    int in_usage;  /* inside "Usage:": every line is a line of the synopsis */
    int in_item;   /* an item's text is open: deeper lines continue it */
    size_t item_col;
} man_state;

/* "Usage:" -> SYNOPSIS, "Options:" -> OPTIONS, others a subsection */
static void man_heading(man_state *st, const char *line)
{
    size_t n = strlen(line) - 1; /* without the ':' */
    st->in_config = 0;
    st->in_usage = !strcmp(line, "Usage:");
    if (st->in_usage)
        fputs(".SH SYNOPSIS\n.nf\n", st->out);
    else if (!strcmp(line, "Options:"))
        fputs(".SH OPTIONS\n", st->out);
    else if (!strncmp(line, CONFIG_HEADING, strlen(CONFIG_HEADING))) {
        fputs(".SH CONFIGURATION\nThe keys of the YAML config file, by section; on the "
              "command line each is \\fIsection.key\\fR (\\-\\-set).\n",
              st->out);
        man_config_keys(st->out);
        st->in_config = 1;
    } else {
        fputs(".SS \"", st->out);
        roff_text(st->out, line, n);
        fputs("\"\n", st->out);
    }
}

static void man_item(man_state *st, const char *line)
{
    size_t col, term = item_term_len(line, &col);
    fputs(".TP\n.B ", st->out);
    roff_text(st->out, line + indent_of(line), term);
    fputc('\n', st->out);
    if (col) roff_line(st->out, line + col);
    st->in_item = 1;
    st->item_col = col;
}

/* one line of the --help text (no newline) */
static void man_help_line(man_state *st, const char *line)
{
    size_t ind = indent_of(line);
    size_t len = strlen(line);
    if (len == 0) {
        if (st->in_usage) fputs(".fi\n", st->out);
        st->in_item = 0;
        st->in_usage = 0;
        fputs(".PP\n", st->out);
    } else if (ind == 0 && line[len - 1] == ':') {
        man_heading(st, line);
    } else if (ind > 0 && st->in_config) {
        /* a key line of --help: the CONFIGURATION section has them all */
    } else if (ind > 0 && st->in_item && ind >= st->item_col && st->item_col) {
        roff_line(st->out, line + ind);
    } else if (ind > 0 && !st->in_usage && strstr(line + ind, "  ")) {
        man_item(st, line);
    } else if (ind > 0) {
        if (!st->in_usage) fputs(".br\n", st->out);
        roff_line(st->out, line + ind);
    } else if (!strncmp(line, "Exit status: ", 13)) {
        fputs(".SH \"EXIT STATUS\"\n", st->out);
        roff_line(st->out, line + 13);
    } else {
        if (st->in_item || st->in_config) fputs(".PP\n", st->out);
        st->in_item = 0;
        st->in_config = 0;
        roff_line(st->out, line);
    }
}

static void man_page(FILE *out)
{
    const char *help = dc_config_usage();
    const char *para = strstr(help, "\n\n");
    const char *dash = strstr(help, " - ");
    if (!para || !dash || dash > para) {
        fputs("gendocs: --help text does not start with \"dcmcrawl VERSION - what\"\n", stderr);
        exit(1);
    }
    fprintf(out, ".TH DCMCRAWL 1 \"\" \"dcmcrawl %s\" \"User Commands\"\n.nh\n", DC_VERSION);
    fputs(".SH NAME\ndcmcrawl \\- ", out);
    char what[512];
    snprintf(what, sizeof what, "%.*s", (int)(para - dash - 3), dash + 3);
    for (char *p = what; *p; p++)
        if (*p == '\n') *p = ' ';
    roff_line(out, what);
    man_state st = {out, 0, 0, 0, 0};
    char line[512];
    for (const char *p = para + 2; *p;) {
        size_t n = strcspn(p, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        man_help_line(&st, line);
        p += n + (p[n] == '\n');
    }
    fputs(".SH FILES\n.TP\n.I PREFIX/share/dcmcrawl/jobs/\n"
          "SLURM batch scripts: crawl.sbatch (one crawl), crawl_array.sbatch (a job array\n"
          "over a list of configs), lib_crawl.sh (what both do); see README.md there.\n"
          ".TP\n.I PREFIX/share/dcmcrawl/configs/\nexample configs (metadata only, 2D images, "
          "volumes).\n"
          ".TP\n.I PREFIX/share/dcmcrawl/modulefiles/\nan Lmod modulefile: "
          "\\fBmodule use PREFIX/share/dcmcrawl/modulefiles; module load dcmcrawl\\fR.\n"
          ".TP\n.I PREFIX/share/doc/dcmcrawl/README.md\noutputs, appending, interruptions, "
          "limits.\n"
          ".SH \"SEE ALSO\"\n.BR mpirun (1),\n.BR sbatch (1),\n.BR h5dump (1)\n",
          out);
}

/* ------------------------------------------------------------------ README */

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    dc_buf b;
    dc_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) dc_buf_append(&b, chunk, n);
    fclose(f);
    dc_buf_putc(&b, '\0');
    return dc_buf_steal(&b);
}

/* FILE with the lines after the begin marker's line, up to the end marker,
 * replaced by the table */
static int readme(const char *path)
{
    char *text = read_file(path);
    if (!text) {
        fprintf(stderr, "gendocs: cannot read %s\n", path);
        return 1;
    }
    char *begin = strstr(text, README_BEGIN);
    char *end = begin ? strstr(begin, README_END) : NULL;
    char *body = begin ? strchr(begin, '\n') : NULL;
    if (!begin || !end || !body || body > end) {
        fprintf(stderr, "gendocs: %s has no \"%s ...\" line followed by \"%s\"\n", path,
                README_BEGIN, README_END);
        free(text);
        return 1;
    }
    dc_buf table;
    dc_buf_init(&table);
    readme_table(&table);
    fwrite(text, 1, (size_t)(body + 1 - text), stdout);
    fwrite(table.data, 1, table.len, stdout);
    fputs(end, stdout);
    dc_buf_free(&table);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "man")) {
        man_page(stdout);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "readme")) return readme(argv[2]);
    if (argc == 2 && !strcmp(argv[1], "keys")) {
        dc_config_keydoc d;
        for (size_t i = 0; dc_config_key_doc(i, &d) == 0; i++) printf("%s.%s\n", d.section, d.name);
        return 0;
    }
    fputs("usage: gendocs man | gendocs readme README.md | gendocs keys\n", stderr);
    return 2;
}
