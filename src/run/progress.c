/*
 * progress.c - progress lines and the end-of-run summary (rank 0).
 * See dc_progress.h.
 */
#include "dc_progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void dc_progress_start(dc_progress *p, const dc_config *cfg)
{
    memset(p, 0, sizeof *p);
    p->tty = isatty(STDERR_FILENO);
    p->enabled = cfg->progress == DC_PROGRESS_ALWAYS ||
                 (cfg->progress == DC_PROGRESS_AUTO && cfg->log_level >= DC_LOG_INFO);
    if (cfg->progress == DC_PROGRESS_ALWAYS) p->tty = p->tty && 1;
    p->t0 = dc_now();
}

void dc_progress_plan(dc_progress *p, uint64_t total_scans, uint64_t total_bytes,
                      uint64_t skipped_done)
{
    /* called once per window (SPEC 10): the totals grow as the walk goes on */
    p->total_scans += total_scans;
    p->total_bytes += total_bytes;
    p->skipped_done += skipped_done;
    if (p->t_work == 0) {
        p->t_work = dc_now();
        p->last = p->t_work;
    }
}

static void fmt_eta(double s, char *out, size_t n)
{
    if (s < 0 || s > 1e7)
        snprintf(out, n, "?");
    else if (s >= 3600)
        snprintf(out, n, "%dh%02dm", (int)(s / 3600), (int)(s / 60) % 60);
    else
        snprintf(out, n, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

static void print_line(dc_progress *p, int final)
{
    double el = dc_now() - p->t_work;
    double mbs = el > 0 ? (double)p->bytes_in / 1e6 / el : 0;
    double frac = p->total_bytes ? (double)p->bytes_in / (double)p->total_bytes
                                 : (p->total_scans ? (double)p->scans / (double)p->total_scans : 1);
    char eta[32];
    fmt_eta(frac > 0 ? el / frac - el : -1, eta, sizeof eta);
    char line[256];
    snprintf(line, sizeof line, "%llu/%llu scans, %llu files, %.1f MB/s, ETA %s",
             (unsigned long long)p->scans, (unsigned long long)p->total_scans,
             (unsigned long long)p->files, mbs, final ? "0m00s" : eta);
    if (p->tty)
        fprintf(stderr, "\r\033[Kdcmcrawl: %s%s", line, final ? "\n" : "");
    else
        fprintf(stderr, "dcmcrawl: progress: %s\n", line);
    fflush(stderr);
}

void dc_progress_add(dc_progress *p, uint64_t scans, uint64_t files, uint64_t stored,
                     uint64_t unreadable, uint64_t bytes_in, uint64_t bytes_out)
{
    p->scans += scans;
    p->files += files;
    p->stored += stored;
    p->unreadable += unreadable;
    p->bytes_in += bytes_in;
    p->bytes_out += bytes_out;
    if (!p->enabled) return;
    double now = dc_now();
    if (p->tty ? now - p->last >= 0.2 : now - p->last >= 10.0) {
        print_line(p, 0);
        p->last = now;
    }
}

void dc_progress_summary(dc_progress *p, const dc_header_stats *hs, const char *const *outputs,
                         int outcome)
{
    static const char *words[] = {"done", "FAILED (what was committed before the error is intact)",
                                  "done", "stopped at a checkpoint"};
    int stopped = outcome == 3;
    const char *what = outcome >= 0 && outcome <= 3 ? words[outcome] : words[1];
    if (p->enabled && p->tty && p->scans) print_line(p, 1);
    double el = dc_now() - p->t0;
    double mb_in = (double)(p->bytes_in + hs->header_bytes) / 1e6;
    fprintf(stderr,
            "dcmcrawl: %s in %.1f s: %llu scans written, %llu unreadable, %llu already done; "
            "%llu files, %llu non-DICOM and %llu DICOMDIR skipped; read %.1f MB, wrote %.1f MB "
            "(%.1f MB/s)\n",
            what, el, (unsigned long long)p->stored,
            (unsigned long long)p->unreadable, (unsigned long long)p->skipped_done,
            (unsigned long long)hs->files_seen, (unsigned long long)hs->not_dicom,
            (unsigned long long)hs->dicomdir, mb_in, (double)p->bytes_out / 1e6,
            el > 0 ? mb_in / el : 0);
    if (p->left_out[0]) fprintf(stderr, "dcmcrawl: %s\n", p->left_out);
    for (size_t i = 0; outputs && outputs[i]; i++) fprintf(stderr, "dcmcrawl: output: %s\n", outputs[i]);
    if (stopped || outcome == 1)
        fprintf(stderr, "dcmcrawl: run the same command again to continue%s\n",
                outcome == 1 ? " once the error above is fixed" : "");
}
