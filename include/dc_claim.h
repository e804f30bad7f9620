/*
 * dc_claim.h - an exclusive claim on one output (output.folder + output.id)
 * for the whole run, so that two runs never work on the same outputs at once
 * (issue 16; README "When the same output is used twice").
 *
 * The claim is a small text file `<folder>/dcmcrawl_claim_<id>.txt` (no id:
 * `dcmcrawl_claim.txt`) created atomically with link(2) (the NFS-safe way of
 * an exclusive create; no flock/fcntl locks, which NFS, Lustre and GPFS do
 * not all honour).  It names its holder: host, pid, the pid's start time
 * (so a reused pid is not taken for the holder), boot id, start of the run,
 * SLURM job, and the lease.  The holder renews the lease by touching the
 * file's mtime every lease/3 seconds from a small thread.
 *
 * A claim is stale, and taken over with a warning naming the old holder, when
 *   - its holder ran on this host in this boot and its pid is gone, or is now
 *     another process (a different start time);
 *   - otherwise (another host, or this host after a reboot): its mtime is
 *     older than its lease (clocks assumed to agree within a third of it).
 *     A claim of another host still within its lease is watched until either
 *     the holder renews it (live: refused) or the lease runs out (taken
 *     over), so a job requeued right after its node died does not fail.
 *
 * Pure part (no I/O, unit tested): format, parse, the stale decision.
 * I/O part: dc_claim_take / dc_claim_release (rank 0 only), dc_claim_note
 * (read-only users: pack, --dry-run).
 *
 * Test hooks (inert unless set): DCMCRAWL_CLAIM_HOST=NAME replaces the host
 * name, to play "another host" on one machine.
 */
#ifndef DC_CLAIM_H
#define DC_CLAIM_H

#include <stddef.h>

#include "dc_config.h"
#include "dc_util.h"

/* What a claim file says about its holder. */
typedef struct {
    char host[256];
    char boot_id[64]; /* /proc/sys/kernel/random/boot_id, "" if unknown */
    long pid;
    unsigned long long pid_start; /* /proc/<pid>/stat field 22 (ticks since boot), 0 unknown */
    long long started;            /* when the run took the claim, seconds since the epoch */
    char job[128];                /* "SLURM job 4711 (array 4700_3)", "" outside SLURM */
    char output[1024];            /* the output the claim is for, for messages */
    long lease;                   /* seconds; the holder touches the file every lease/3 */
} dc_claim_rec;

/* What the reader knows when it judges a claim. */
typedef struct {
    const char *host;             /* this host's name */
    const char *boot_id;          /* this host's boot id ("" unknown) */
    long long now;                /* seconds since the epoch */
    long long mtime;              /* the claim file's mtime (last renewal) */
    int pid_alive;                /* the holder's pid exists here (not a zombie); only
                                     meaningful on the same host in the same boot */
    unsigned long long pid_start; /* that pid's start time now, 0 unknown */
    long default_lease;           /* lease used when the file does not say (unparseable) */
} dc_claim_facts;

enum dc_claim_verdict {
    DC_CLAIM_LIVE = 0,         /* same host and boot, its process runs: respect it */
    DC_CLAIM_LEASED,           /* another host (or boot): its lease has not expired yet */
    DC_CLAIM_STALE_PID_GONE,   /* same host and boot, the pid is gone */
    DC_CLAIM_STALE_PID_REUSED, /* same host and boot, the pid is another process */
    DC_CLAIM_STALE_LEASE       /* another host (or boot, or unreadable): lease expired */
};

/* ---- pure ---- */

/* The claim file's text ("key=value" lines). */
void dc_claim_format(const dc_claim_rec *r, dc_buf *out);
/* IN text, len; OUT r.  0, or -1 when the text is not a claim (missing
 * "dcmcrawl claim" first line, host or pid). */
int dc_claim_parse(const char *text, size_t len, dc_claim_rec *r);
/* IN the text of /proc/<pid>/stat; OUT *start (field 22).  0 or -1. */
int dc_claim_proc_start(const char *stat_text, unsigned long long *start);
/* IN r (NULL: the file could not be parsed), f.  An enum dc_claim_verdict. */
int dc_claim_judge(const dc_claim_rec *r, const dc_claim_facts *f);
/* Why a verdict, in words ("its process 123 is gone", ...). */
const char *dc_claim_verdict_text(int verdict);
/* "host node7, pid 123, started 2026-12-06T01:30:00Z, SLURM job 4711" */
void dc_claim_describe(const dc_claim_rec *r, dc_buf *out);

/* ---- I/O ---- */

/* The claim file of cfg's output (caller frees). */
char *dc_claim_path(const dc_config *cfg);
/* The claim file of the output an index pixel_data[_<id>].h5 belongs to
 * (caller frees). */
char *dc_claim_path_of_index(const char *index_path);

/* Rank 0, after the config, before the start-up repair.  Takes the claim on
 * cfg's output (taking over a stale one, with a warning) and starts renewing
 * it.  A claim of another host within its lease is watched: at most until a
 * renewal (lease/3 s for a live holder) or the end of its lease.
 * Returns the exit status for the run: 0 claimed (or a dry run: then it
 * only notes on stderr that a run holds it, see dc_claim_note), 2 held by a
 * live run (message naming the output and the holder), 1 the claim file
 * cannot be written (message naming it), 3 a SIGTERM/SIGINT came while it
 * watched another host's claim (nothing written).  A full disk (ENOSPC, EDQUOT) is
 * not an error: when no live run holds the claim the run goes on unclaimed
 * with a warning (the run fails later at its first write anyway). */
int dc_claim_take(const dc_config *cfg);

/* Stops the renewal and removes the claim file if this process holds it;
 * does nothing otherwise.  Call at exit (done, failed or stopped). */
void dc_claim_release(void);

/* Read-only users (dcmcrawl pack, --dry-run): a note on stderr when a live
 * run holds the claim at claim_path, ending with `what` (what the reader
 * does about it, e.g. "pack reads them without claiming them"). */
void dc_claim_note(const char *claim_path, const char *what);

#endif
