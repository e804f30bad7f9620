/*
 * dc_hook.h - test hooks at phase transitions (inert by default).
 *
 * The kill and stop tests (tests/kill/) need to know where a run is and to
 * make short phases long enough to be hit.  dc_hook(phase) is called at the
 * start of every phase of a run and before every step of a checkpoint.  It
 * does nothing unless one of these environment variables is set:
 *
 *   DCMCRAWL_TRACE=FILE        every rank appends one line per call to FILE:
 *                              "<rank> <pid> <phase> <n> <seconds>\n" (n counts
 *                              the calls of that phase on that rank, from 1;
 *                              seconds since the epoch).  One write(2) per line
 *                              with O_APPEND, so lines of ranks do not mix.
 *   DCMCRAWL_SLOW=P:MS[,P:MS]  sleep MS milliseconds in every call of phase P
 *                              (after the trace line), e.g. "pixels:5,index:200".
 *   DCMCRAWL_INDEX_SPARE_BYTES=N  (read by h5out_index.c, not here) the
 *                              index is updated through its spare once it
 *                              holds N bytes per link to add (0: always), so
 *                              that tests run that path on small indexes.
 *   DCMCRAWL_HELD_BYTES=N      (read by checkpoint.c) a checkpoint is due once
 *                              a rank holds N bytes of rows and links instead
 *                              of DC_HELD_BYTES_MAX (0: no bound), so that
 *                              tests cut checkpoints by memory on small crawls.
 *
 * Phases: start, repair, walk, header, group, batch, create (one dataset
 * created), pixels (one slice written), collective (one compressed dataset
 * written collectively), close (segment closing), index (new index written,
 * before its rename), rewrite (a CSV rewritten to its temp file, before the
 * rename), rows (before each collective CSV append), stop (the ranks agreed
 * to stop), labelphase (the end-of-run label phase starts), labels (before each
 * label dataset is written, labels_run.c), doneset (before a checkpoint's
 * done-set write), ledger (after it, before the folder ledger's), done.
 */
#ifndef DC_HOOK_H
#define DC_HOOK_H

/* Read the environment once (call after MPI_Init with this rank's number). */
void dc_hook_init(int rank);

/* A phase starts (see above); free when no variable is set. */
void dc_hook(const char *phase);

#endif
