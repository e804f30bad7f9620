/*
 * hook.c - test hooks at phase transitions: trace lines and slow phases,
 * driven by DCMCRAWL_TRACE and DCMCRAWL_SLOW (see dc_hook.h).
 */
#include "dc_hook.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum { MAX_PHASES = 32 };

static int g_on = 0;
static int g_rank = 0;
static int g_fd = -1;
static struct {
    char name[16];
    unsigned count;
    unsigned slow_ms;
} g_ph[MAX_PHASES];
static int g_n = 0;

static int phase_slot(const char *phase)
{
    for (int i = 0; i < g_n; i++)
        if (strcmp(g_ph[i].name, phase) == 0) return i;
    if (g_n == MAX_PHASES) return -1;
    snprintf(g_ph[g_n].name, sizeof g_ph[g_n].name, "%s", phase);
    g_ph[g_n].count = 0;
    g_ph[g_n].slow_ms = 0;
    return g_n++;
}

void dc_hook_init(int rank)
{
    g_rank = rank;
    const char *trace = getenv("DCMCRAWL_TRACE");
    const char *slow = getenv("DCMCRAWL_SLOW");
    if (trace && *trace) g_fd = open(trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (slow && *slow) {
        char *s = strdup(slow), *save = NULL;
        for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *colon = strchr(t, ':');
            if (!colon) continue;
            *colon = '\0';
            int i = phase_slot(t);
            if (i >= 0) g_ph[i].slow_ms = (unsigned)strtoul(colon + 1, NULL, 10);
        }
        free(s);
    }
    g_on = g_fd >= 0 || g_n > 0;
}

void dc_hook(const char *phase)
{
    if (!g_on) return;
    int i = phase_slot(phase);
    if (i < 0) return;
    g_ph[i].count++;
    if (g_fd >= 0) {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        char line[128];
        int n = snprintf(line, sizeof line, "%d %ld %s %u %ld.%06ld\n", g_rank, (long)getpid(),
                         phase, g_ph[i].count, (long)tv.tv_sec, (long)tv.tv_usec);
        if (n > 0 && write(g_fd, line, (size_t)n) < 0) { /* tracing is best effort */
        }
    }
    if (g_ph[i].slow_ms) {
        struct timespec ts = {g_ph[i].slow_ms / 1000, (long)(g_ph[i].slow_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL); /* a signal cuts it short, as it would real work that polls */
    }
}
