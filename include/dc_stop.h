/*
 * dc_stop.h - stop requests (SIGTERM/SIGINT) and how every rank learns of
 * them within seconds (SPEC 1, 7).
 *
 * A signal reaches one rank, some ranks or all of them (mpirun forwards
 * TERM to its local ranks only; SLURM signals the processes of one node; a
 * user may kill one pid).  The handler only sets a flag.  The rank that sees
 * its own flag first (at its next dc_stop_poll) sends a one-int notice to
 * every other rank on a private communicator; every rank polls for notices
 * between slices and while it waits for the others at the end of a batch.
 * So a stop requested anywhere is known everywhere after one poll interval
 * (a slice decode, or DC_STOP_PROBE_SECONDS while waiting).  Ranks then
 * abandon the scans in progress, commit the complete ones and agree
 * (dc_stop_agree) to exit with status 3.
 *
 * Messages: a rank sends notices at most once (n-1 messages); notices are
 * counted and drained by dc_stop_finalize, so no message is left unmatched
 * when MPI is finalized.
 */
#ifndef DC_STOP_H
#define DC_STOP_H

#include <mpi.h>

/* seconds between probes for notices from other ranks */
#define DC_STOP_PROBE_SECONDS 0.01

/* SIGTERM and SIGINT set the stop flag (handlers only store the signal). */
void dc_stop_install(void);

/* Collective: start listening for notices on a duplicate of comm. */
void dc_stop_init(MPI_Comm comm);

/* Cheap, local, callable anywhere between MPI calls: 1 when this rank knows
 * a stop was requested (its own signal or a notice from another rank).  The
 * first time it sees its own signal it logs it and notifies every rank. */
int dc_stop_poll(void);

/* Collective: 1 when any rank knows of a stop or passes local != 0 (every
 * rank gets the same answer).  While waiting for the others it keeps
 * polling, so a rank that is signalled while it waits still notifies the
 * ranks that are working. */
int dc_stop_agree(MPI_Comm comm, int local);

/* Wait for a non-blocking request while polling for stops. */
void dc_stop_wait(MPI_Request *req);

/* Collective: receive every notice still in flight and free the
 * communicator.  Call once before MPI_Finalize. */
void dc_stop_finalize(void);

/* The signal this rank received (0: none; it may know of a stop from a
 * notice only). */
int dc_stop_signal(void);

/* For tests: behave as if this rank had received sig. */
void dc_stop_raise(int sig);

#endif
