/*
 * dc_mpi.h - the MPI idioms every phase of a run uses, in one place:
 * "all ranks agree on this return code", and moving byte buffers of any
 * size (MPI counts and displacements are int: at most 2^31-1; every
 * transfer whose size comes from data goes through here, in pieces).
 *
 * The piece arithmetic is pure (dc_mpi_pieces) so unit tests cover sizes
 * past 2^31 without allocating them.
 */
#ifndef DC_MPI_H
#define DC_MPI_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "dc_util.h"

/* largest piece of one MPI call: 1 GiB (below INT_MAX with room to spare) */
#define DC_MPI_PIECE ((uint64_t)1 << 30)

/* Collective: rank 0 decided rc; every rank returns it. */
int dc_agree_rank0(MPI_Comm comm, int rc);

/* Collective: 0 when every rank passed 0, else the lowest rc (-1 before 1). */
int dc_agree_all(MPI_Comm comm, int rc);

/* Collective: 1 when any rank passed a nonzero flag, else 0. */
int dc_agree_any(MPI_Comm comm, int flag);

/* Pure: a transfer of len bytes cut into pieces of at most `piece` bytes:
 * dc_mpi_pieces is how many, dc_mpi_piece_len the length of piece i (0 for
 * i past the last). */
uint64_t dc_mpi_pieces(uint64_t len, uint64_t piece);
int dc_mpi_piece_len(uint64_t len, uint64_t piece, uint64_t i);

/* Collective: broadcast len bytes at buf from rank 0 (len the same on all
 * ranks), in pieces. */
void dc_bcast_bytes(MPI_Comm comm, void *buf, uint64_t len);

/* Collective: rank 0's buffer b, its length included, to every rank; the
 * others' b (initialised, empty) receives it (data always allocated). */
void dc_bcast_buf(MPI_Comm comm, dc_buf *b);

/* Collective: every rank sends its len bytes to rank 0, which receives them
 * in rank order, concatenated, into a new buffer (*out, *out_len; others
 * NULL, 0).  Any total size: counts and offsets are 64-bit, the bytes move
 * point to point in pieces. */
void dc_gather_bytes(MPI_Comm comm, const void *buf, uint64_t len, char **out, uint64_t *out_len);

/* Collective: rank 0 sends part[r] (bytes at data + off[r], len[r]) to each
 * rank r; each rank receives its part into a new buffer (*out, *out_len). */
void dc_scatter_bytes(MPI_Comm comm, const char *data, const uint64_t *off, const uint64_t *len,
                      char **out, uint64_t *out_len);

#endif
