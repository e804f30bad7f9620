/*
 * dc_prefetch.h - open a rank's next header-pass files ahead of the parser.
 *
 * The header pass reads its block of files one after the other: with a cold
 * page cache each file costs a wait for its inode and a wait for its first
 * bytes, and the rank's CPU idles meanwhile.  A prefetcher is one thread that
 * opens the files a few places ahead of the parser (the same flags as
 * dc_open_input) and fstats them; when the page cache holds a file's first
 * bytes (warm) it reads them (preadv2 RWF_NOWAIT, never waiting for the
 * disk), else it asks the kernel to read the first 64 KiB (posix_fadvise
 * WILLNEED).  It hands descriptor, fstat and bytes to the parser
 * (dc_parse_input): the disk works while the rank parses, every file is
 * still opened once, and a warm file costs open, fstat, pread and close
 * (the parser neither stats nor reads it again).
 *
 * The thread only opens, advises and closes files: no MPI, no shared state
 * but this object (see claim.c on threads beside MPI_THREAD_SINGLE).  A file
 * the parser reaches before the thread does is opened by the parser itself
 * (the thread skips it), so the parser never waits for the thread.
 *
 * Warm files gain nothing from the thread and lose to it when the ranks
 * fill the cores (warm 20,000 files, 2 ranks on 2 cores, in-process: 0.26 s
 * with the thread, 0.21 s without).  So the thread starts only at the first
 * file whose first bytes are not in the page cache: until then each take
 * does its work inline (open, fstat, preadv2 RWF_NOWAIT: "dormant").  After
 * 64 files in a row that the page cache held, a running thread sleeps
 * (dormant again) until a take finds a cold file, so a cold stretch is
 * prefetched from the next file on.
 */
#ifndef DC_PREFETCH_H
#define DC_PREFETCH_H

#include <stddef.h>

#include "dc_dicom.h"

typedef struct dc_prefetch dc_prefetch;

/* Start opening paths[0..n) up to depth files ahead of the last one taken.
 * paths must stay valid until dc_prefetch_stop.  Returns NULL when depth is 0
 * or the thread cannot start (then the caller opens every file itself). */
dc_prefetch *dc_prefetch_start(char *const *paths, size_t n, size_t depth);

/* The same with the thread running from file 0 (tests: the thread's own
 * paths on files that are all warm). */
dc_prefetch *dc_prefetch_start_eager(char *const *paths, size_t n, size_t depth);

/* OUT in: paths[i] as the thread opened it (dc_parse_input): the open
 * descriptor (the caller owns it), its fstat and, when the page cache held
 * them, its first bytes (valid until the next take or stop).  in->fd -1:
 * open it yourself (not reached yet, or the thread's open failed: the
 * caller's own open reports why).  Returns in->fd.  i increases from call
 * to call. */
int dc_prefetch_take(dc_prefetch *p, size_t i, dc_input *in);

/* 1 while the takes open the files themselves because they were warm
 * (the thread not started yet, or asleep; see above) */
int dc_prefetch_dormant(dc_prefetch *p);

/* Stop the thread, close the descriptors not taken, free p (NULL: no-op). */
void dc_prefetch_stop(dc_prefetch *p);

/* files the header pass opens ahead: DCMCRAWL_PREFETCH (0 turns it off, for
 * measurements), default 128, at most a quarter of RLIMIT_NOFILE */
size_t dc_prefetch_depth(void);

#endif
