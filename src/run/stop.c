/*
 * stop.c - stop requests: signal flag, notices between ranks, agreement.
 * See dc_stop.h for the protocol.
 */
#include "dc_stop.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dc_util.h"

enum { TAG_STOP = 7301 };

static volatile sig_atomic_t g_signal = 0; /* set by the handler */
static int g_known = 0;                    /* this rank knows of a stop */
static int g_sent = 0;                     /* notices sent (to every other rank) */
static int g_received = 0;                 /* notices received */
static MPI_Comm g_comm = MPI_COMM_NULL;
static int g_rank = 0, g_nranks = 1;
static MPI_Request *g_sreq = NULL;
static int g_payload = 1;
static double g_last_probe = 0;

static void on_signal(int sig)
{
    if (!g_signal) g_signal = sig;
}

void dc_stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
}

void dc_stop_raise(int sig)
{
    on_signal(sig);
}

int dc_stop_signal(void)
{
    return (int)g_signal;
}

void dc_stop_init(MPI_Comm comm)
{
    MPI_Comm_dup(comm, &g_comm);
    MPI_Comm_rank(g_comm, &g_rank);
    MPI_Comm_size(g_comm, &g_nranks);
}

static const char *sig_name(int sig)
{
    return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "a signal";
}

/* first sight of our own signal: tell everyone (unless a notice told us first:
 * then its sender has told everyone already) */
static void notify_all(void)
{
    if (g_comm == MPI_COMM_NULL || g_nranks < 2) return;
    g_sreq = dc_malloc(sizeof(MPI_Request) * (size_t)g_nranks);
    for (int r = 0; r < g_nranks; r++)
        g_sreq[r] = MPI_REQUEST_NULL;
    for (int r = 0; r < g_nranks; r++)
        if (r != g_rank) MPI_Isend(&g_payload, 1, MPI_INT, r, TAG_STOP, g_comm, &g_sreq[r]);
    g_sent = 1;
}

static void receive_notices(void)
{
    for (;;) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_STOP, g_comm, &flag, &st);
        if (!flag) break;
        int v;
        MPI_Recv(&v, 1, MPI_INT, st.MPI_SOURCE, TAG_STOP, g_comm, MPI_STATUS_IGNORE);
        g_received++;
        if (!g_known && g_rank == 0)
            dc_info("stop requested on rank %d: stopping at the next checkpoint", st.MPI_SOURCE);
        g_known = 1;
    }
}

int dc_stop_poll(void)
{
    if (g_signal && !g_sent && !g_known) {
        g_known = 1;
        dc_warn("%s received: stopping at the next checkpoint (scans in progress are left for "
                "the next run)",
                sig_name(g_signal));
        notify_all();
    }
    if (g_known || g_comm == MPI_COMM_NULL) return g_known;
    double now = dc_now();
    if (now - g_last_probe >= DC_STOP_PROBE_SECONDS) {
        g_last_probe = now;
        receive_notices();
    }
    return g_known;
}

/* Short waits (a collective among ranks that are all there) spin on
 * MPI_Test; long ones (ranks still working) sleep 0.5 ms between tests so a
 * waiting rank leaves the core to the others. */
void dc_stop_wait(MPI_Request *req)
{
    int done = 0;
    double t0 = dc_now();
    while (!done) {
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done) break;
        dc_stop_poll();
        if (dc_now() - t0 > 0.002) {
            struct timespec ms = {0, 500000};
            nanosleep(&ms, NULL);
        }
    }
}

int dc_stop_agree(MPI_Comm comm, int local)
{
    int mine = dc_stop_poll() || g_signal || local ? 1 : 0, any = 0;
    MPI_Request req;
    MPI_Iallreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm, &req);
    dc_stop_wait(&req);
    return any;
}

void dc_stop_finalize(void)
{
    if (g_comm == MPI_COMM_NULL) return;
    int senders = 0;
    MPI_Allreduce(&g_sent, &senders, 1, MPI_INT, MPI_SUM, g_comm);
    int expect = senders - g_sent;
    while (g_received < expect) {
        int v;
        MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, TAG_STOP, g_comm, MPI_STATUS_IGNORE);
        g_received++;
    }
    if (g_sreq) {
        MPI_Waitall(g_nranks, g_sreq, MPI_STATUSES_IGNORE);
        free(g_sreq);
        g_sreq = NULL;
    }
    MPI_Comm_free(&g_comm);
    g_comm = MPI_COMM_NULL;
}
