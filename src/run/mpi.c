/*
 * mpi.c - return-code agreement and byte transfers of any size (dc_mpi.h).
 */
#include "dc_mpi.h"

#include <stdlib.h>
#include <string.h>

#include "dc_util.h"

int dc_agree_rank0(MPI_Comm comm, int rc)
{
    MPI_Bcast(&rc, 1, MPI_INT, 0, comm);
    return rc;
}

int dc_agree_all(MPI_Comm comm, int rc)
{
    MPI_Allreduce(MPI_IN_PLACE, &rc, 1, MPI_INT, MPI_MIN, comm);
    return rc;
}

int dc_agree_any(MPI_Comm comm, int flag)
{
    flag = flag != 0;
    MPI_Allreduce(MPI_IN_PLACE, &flag, 1, MPI_INT, MPI_MAX, comm);
    return flag;
}

uint64_t dc_mpi_pieces(uint64_t len, uint64_t piece)
{
    return len / piece + (len % piece != 0);
}

int dc_mpi_piece_len(uint64_t len, uint64_t piece, uint64_t i)
{
    uint64_t off = i * piece;
    if (off >= len) return 0;
    return (int)(len - off < piece ? len - off : piece);
}

void dc_bcast_bytes(MPI_Comm comm, void *buf, uint64_t len)
{
    uint64_t n = dc_mpi_pieces(len, DC_MPI_PIECE);
    for (uint64_t i = 0; i < n; i++)
        MPI_Bcast((char *)buf + i * DC_MPI_PIECE, dc_mpi_piece_len(len, DC_MPI_PIECE, i), MPI_BYTE,
                  0, comm);
}

void dc_bcast_buf(MPI_Comm comm, dc_buf *b)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    uint64_t len = b->len;
    MPI_Bcast(&len, 1, MPI_UINT64_T, 0, comm);
    if (rank != 0) {
        b->len = 0;
        dc_buf_reserve(b, (size_t)len);
        b->len = (size_t)len;
    }
    dc_bcast_bytes(comm, b->data, len);
}

static void send_bytes(MPI_Comm comm, const char *buf, uint64_t len, int to)
{
    uint64_t n = dc_mpi_pieces(len, DC_MPI_PIECE);
    for (uint64_t i = 0; i < n; i++)
        MPI_Send(buf + i * DC_MPI_PIECE, dc_mpi_piece_len(len, DC_MPI_PIECE, i), MPI_BYTE, to, 0,
                 comm);
}

static void recv_bytes(MPI_Comm comm, char *buf, uint64_t len, int from)
{
    uint64_t n = dc_mpi_pieces(len, DC_MPI_PIECE);
    for (uint64_t i = 0; i < n; i++)
        MPI_Recv(buf + i * DC_MPI_PIECE, dc_mpi_piece_len(len, DC_MPI_PIECE, i), MPI_BYTE, from, 0,
                 comm, MPI_STATUS_IGNORE);
}

void dc_gather_bytes(MPI_Comm comm, const void *buf, uint64_t len, char **out, uint64_t *out_len)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    uint64_t *lens = rank == 0 ? dc_malloc(sizeof(uint64_t) * (size_t)nranks) : NULL;
    MPI_Gather(&len, 1, MPI_UINT64_T, lens, 1, MPI_UINT64_T, 0, comm);
    *out = NULL;
    *out_len = 0;
    if (rank != 0) {
        send_bytes(comm, buf, len, 0);
        return;
    }
    uint64_t total = 0;
    for (int r = 0; r < nranks; r++) total += lens[r];
    char *all = dc_malloc((size_t)total + 1);
    uint64_t off = 0;
    for (int r = 0; r < nranks; r++) {
        if (r == 0) {
            if (len) memcpy(all, buf, (size_t)len);
        } else {
            recv_bytes(comm, all + off, lens[r], r);
        }
        off += lens[r];
    }
    free(lens);
    *out = all;
    *out_len = total;
}

void dc_scatter_bytes(MPI_Comm comm, const char *data, const uint64_t *off, const uint64_t *len,
                      char **out, uint64_t *out_len)
{
    int rank, nranks;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    uint64_t mine = 0;
    MPI_Scatter(len, 1, MPI_UINT64_T, &mine, 1, MPI_UINT64_T, 0, comm);
    *out = dc_malloc((size_t)mine + 1);
    *out_len = mine;
    if (rank == 0) {
        if (mine) memcpy(*out, data + off[0], (size_t)mine);
        for (int r = 1; r < nranks; r++) send_bytes(comm, data + off[r], len[r], r);
    } else {
        recv_bytes(comm, *out, mine, 0);
    }
}
