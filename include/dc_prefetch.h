/*
 * dc_prefetch.h - open a rank's next header-pass files ahead of the parser.
 *
 * The header pass reads its block of files one after the other: with a cold
 * page cache each file costs a wait for its inode and a wait for its first
 * bytes, and the rank's CPU idles meanwhile.  A prefetcher is one thread that
 * opens the files a few places ahead of the parser (the same flags as
 * dc_open_input), asks the kernel to read their first 64 KiB
 * (posix_fadvise WILLNEED) and hands the open descriptors to the parser: the
 * disk works while the rank parses, and every file is still opened once.
 *
 * The thread only opens, advises and closes files: no MPI, no shared state
 * but this object (see claim.c on threads beside MPI_THREAD_SINGLE).  A file
 * the parser reaches before the thread does is opened by the parser itself
 * (the thread skips it), so the parser never waits for the thread.
 */
#ifndef DC_PREFETCH_H
#define DC_PREFETCH_H

#include <stddef.h>

typedef struct dc_prefetch dc_prefetch;

/* Start opening paths[0..n) up to depth files ahead of the last one taken.
 * paths must stay valid until dc_prefetch_stop.  Returns NULL when depth is 0
 * or the thread cannot start (then the caller opens every file itself). */
dc_prefetch *dc_prefetch_start(char *const *paths, size_t n, size_t depth);

/* The open descriptor of paths[i] (the caller owns it), or -1: open it
 * yourself (not reached yet, or the thread's open failed: the caller's own
 * open reports why).  i increases from call to call. */
int dc_prefetch_take(dc_prefetch *p, size_t i);

/* Stop the thread, close the descriptors not taken, free p (NULL: no-op). */
void dc_prefetch_stop(dc_prefetch *p);

/* files the header pass opens ahead: DCMCRAWL_PREFETCH (0 turns it off, for
 * measurements), default 128, at most a quarter of RLIMIT_NOFILE */
size_t dc_prefetch_depth(void);

#endif
