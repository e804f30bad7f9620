# shellcheck shell=bash
# lib_crawl.sh - what a SLURM job running dcmcrawl does, shared by
# crawl.sbatch and crawl_array.sbatch (sourced, never run on its own).
#
# One attempt of a job:
#   dc_job_find_binary     which dcmcrawl to run ($DCMCRAWL)
#   dc_job_run CONFIG ...  launch it under $DCMCRAWL_LAUNCHER, turn a TERM
#                          the batch shell receives (sbatch --signal=B:TERM@T,
#                          scancel --batch --signal=TERM, preemption) into a
#                          TERM for the dcmcrawl ranks, wait for them, then:
#                          exit 0 -> done; exit 3 (stopped at a checkpoint)
#                          -> scontrol requeue, the next attempt continues.
#
# Why the ranks and not mpirun: Open MPI 4.1's mpirun, when it gets SIGTERM,
# sends the ranks SIGCONT, sleeps odls_base_sigkill_timeout (1 s), sends
# SIGTERM, sleeps again and sends SIGKILL; it then exits 1, whatever the ranks
# returned. That is too little time for a checkpoint and loses exit status 3.
# When the ranks themselves get TERM, they stop at their next commit and exit
# 3 after MPI_Finalize, and mpirun passes 3 on. dcmcrawl's ranks agree on
# stopping at every commit (an allreduce of the stop flag), so the ranks on
# the batch node (mpirun's children) are enough: ranks on other nodes stop at
# the same commit. srun, given TERM, kills its step; so with
# DCMCRAWL_LAUNCHER=srun the TERM goes to the step's tasks through
# scancel --signal=TERM (job steps only, not the batch shell).
#
# Settings (environment; defaults in brackets):
#   DCMCRAWL            binary [<jobs>/../build/dcmcrawl in a checkout, else the
#                       install's PREFIX/bin/dcmcrawl, else dcmcrawl on PATH]
#   DCMCRAWL_LAUNCHER   launcher command [mpirun]; "srun ..." for a PMI-enabled
#                       MPI; "none" runs one process without a launcher
#   DCMCRAWL_NP         ranks for mpirun -np [$SLURM_NTASKS; neither: no -np,
#                       mpirun starts one rank per slot of the allocation]
#   DCMCRAWL_MPIRUN_ARGS extra mpirun arguments (word-split) []
#   DCMCRAWL_REQUEUE    1: requeue after exit 3; 0: exit 3 instead [1]
#   DCMCRAWL_MAX_ATTEMPTS stop requeueing after this many attempts [20]
#   DCMCRAWL_START_TIMEOUT longest wait for the ranks' TERM handler before a
#                       stop request is passed on anyway [120]
#   DCMCRAWL_START_GRACE with srun (whose tasks this shell cannot see):
#                       seconds a launch gets before TERM is passed on [10]

dc_job_log() {
    printf '[dcmcrawl-job %s] %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$*"
}

# The folder this file is in. A batch script runs from a copy in slurmd's
# spool folder, so the scripts set DC_JOBS_DIR to the jobs/ folder they
# found; this is the fallback for other callers.
DC_JOBS_DIR=${DC_JOBS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}

# Sets DCMCRAWL to an executable dcmcrawl or returns 2 with a log line.
# Unless DCMCRAWL is set, the first of: the checkout's build (jobs/ of a
# source tree: <jobs>/../build/dcmcrawl), the install these scripts belong to
# (PREFIX/share/dcmcrawl/jobs -> PREFIX/bin/dcmcrawl, `make install` or the
# Debian package), dcmcrawl on PATH (`module load dcmcrawl`).
dc_job_find_binary() {
    if [ -z "${DCMCRAWL:-}" ]; then
        local -a candidates=("$DC_JOBS_DIR/../build/dcmcrawl")
        case "$DC_JOBS_DIR" in
            */share/dcmcrawl/jobs) candidates+=("${DC_JOBS_DIR%/share/dcmcrawl/jobs}/bin/dcmcrawl") ;;
        esac
        candidates+=("$(command -v dcmcrawl 2> /dev/null)")
        local c
        for c in "${candidates[@]}"; do
            if [ -n "$c" ] && [ -x "$c" ] && [ ! -d "$c" ]; then
                DCMCRAWL=$c
                break
            fi
        done
        DCMCRAWL=${DCMCRAWL:-$DC_JOBS_DIR/../build/dcmcrawl}
    fi
    if [ ! -x "$DCMCRAWL" ]; then
        dc_job_log "ERROR: dcmcrawl binary not found or not executable: $DCMCRAWL" \
            "(set DCMCRAWL=/path/to/dcmcrawl, put it on PATH or build it with make)"
        return 2
    fi
    return 0
}

# The processes to send TERM to for a launcher with process id $1: the
# launcher's children that are not helpers of the launcher (mpirun also
# starts srun/ssh to reach orted on other nodes: signalling those would take
# the remote ranks down at once); with no launcher, dcmcrawl itself.
dc_job_stop_targets() {
    local lpid=$1 d pid ppid comm
    if [ "$(basename "${DC_LAUNCHER_WORDS[0]}")" = none ]; then
        echo "$lpid"
        return
    fi
    local kids
    if command -v pgrep > /dev/null 2>&1; then
        kids=$(pgrep -P "$lpid")
    else
        kids=$(for d in /proc/[0-9]*; do
            ppid=$(awk '/^PPid:/ {print $2}' "$d/status" 2> /dev/null) || continue
            [ "$ppid" = "$lpid" ] && echo "${d#/proc/}"
        done)
    fi
    for pid in $kids; do
        comm=$(cat "/proc/$pid/comm" 2> /dev/null) || continue
        case "$comm" in
            srun | ssh | rsh | orted | prted | hydra_pmi_proxy) continue ;;
        esac
        echo "$pid"
    done
}

# True when process $1 catches SIGTERM (bit 15 of SigCgt in /proc/PID/status):
# dcmcrawl installs its handler after MPI_Init; a TERM before that kills it.
dc_job_catches_term() {
    local mask
    mask=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2> /dev/null) || return 1
    [ -n "$mask" ] && [ $((0x$mask & 0x4000)) -ne 0 ]
}

# Passes a stop request on to the ranks of the launch with process id $1,
# started at $2 (bash SECONDS): waits until the ranks exist and have their
# TERM handler (at most DCMCRAWL_START_TIMEOUT [120] s after the launch;
# for srun, whose tasks are not its children, DCMCRAWL_START_GRACE [10] s).
dc_job_forward_stop() {
    local lpid=$1 started=$2 targets pid ready
    local limit=$((started + ${DCMCRAWL_START_TIMEOUT:-120}))
    local kind
    kind=$(basename "${DC_LAUNCHER_WORDS[0]}")
    if [ "$kind" = srun ]; then
        # srun ends its step with SIGKILL when it gets TERM itself: signal
        # the step's tasks through Slurm instead (all steps, not the batch
        # shell: the only step running is this srun's)
        while [ $((SECONDS - started)) -lt "${DCMCRAWL_START_GRACE:-10}" ] &&
            kill -0 "$lpid" 2> /dev/null; do
            sleep 1
        done
        kill -0 "$lpid" 2> /dev/null || return 0
        dc_job_log "stop requested: scancel --signal=TERM $SLURM_JOB_ID (the tasks of" \
            "the srun step); dcmcrawl stops at its next checkpoint"
        scancel --signal=TERM "$SLURM_JOB_ID" ||
            dc_job_log "WARNING: scancel --signal=TERM $SLURM_JOB_ID failed"
        return 0
    fi
    while kill -0 "$lpid" 2> /dev/null; do
        targets=$(dc_job_stop_targets "$lpid")
        ready=${targets:+1}
        for pid in $targets; do
            dc_job_catches_term "$pid" || ready=
        done
        [ -n "$ready" ] && break
        if [ "$SECONDS" -ge "$limit" ]; then
            dc_job_log "WARNING: dcmcrawl ranks not ready for TERM after" \
                "${DCMCRAWL_START_TIMEOUT:-120} s (pids: ${targets:-none}); sending it anyway"
            break
        fi
        sleep 0.5
    done
    kill -0 "$lpid" 2> /dev/null || return 0
    if [ -z "$targets" ]; then
        dc_job_log "WARNING: no dcmcrawl rank found under launcher pid $lpid;" \
            "sending TERM to the launcher (the ranks may not reach a checkpoint)"
        targets=$lpid
    fi
    dc_job_log "stop requested: sending TERM to dcmcrawl (pids ${targets//$'\n'/ });" \
        "it stops at its next checkpoint"
    # shellcheck disable=SC2086
    kill -TERM $targets 2> /dev/null || true
}

# Runs one attempt of dcmcrawl on CONFIG with extra arguments; returns what
# the job should exit with (0 done or requeued, 1 failure, 2 bad config,
# 3 stopped and not requeued).
dc_job_run() {
    local config=$1
    shift
    local attempt=$((${SLURM_RESTART_COUNT:-0} + 1))
    local job=${SLURM_JOB_ID:-none}
    local rc lpid started forwarded=0 t0=$SECONDS

    # the scripts set this trap as their first command; a TERM before it
    # arrived is kept in DC_STOP
    DC_STOP=${DC_STOP:-0}
    trap 'DC_STOP=1' TERM INT

    if [ -z "$config" ]; then
        dc_job_log "ERROR: usage: sbatch $(basename "$0") CONFIG [dcmcrawl arguments...]"
        return 2
    fi
    dc_job_find_binary || return 2

    read -r -a DC_LAUNCHER_WORDS <<< "${DCMCRAWL_LAUNCHER:-mpirun}"
    local -a cmd
    case "$(basename "${DC_LAUNCHER_WORDS[0]}")" in
        none) cmd=("$DCMCRAWL" "$config" "$@") ;;
        srun) cmd=("${DC_LAUNCHER_WORDS[@]}" "$DCMCRAWL" "$config" "$@") ;;
        *)
            # no -np (no --ntasks, no DCMCRAWL_NP): mpirun fills every slot
            local np=${DCMCRAWL_NP:-${SLURM_NTASKS:-}}
            local -a extra=()
            read -r -a extra <<< "${DCMCRAWL_MPIRUN_ARGS:-}"
            cmd=("${DC_LAUNCHER_WORDS[@]}" ${np:+-np "$np"} "${extra[@]}" "$DCMCRAWL" "$config" "$@")
            ;;
    esac

    dc_job_log "attempt $attempt of job $job on $(hostname -s):" \
        "${SLURM_NTASKS:-?} task(s) on ${SLURM_JOB_NUM_NODES:-1} node(s); ${cmd[*]}"

    if [ "$DC_STOP" = 1 ]; then
        rc=3
        dc_job_log "stop requested before dcmcrawl started"
    else
        "${cmd[@]}" &
        lpid=$!
        started=$SECONDS
        while :; do
            wait "$lpid"
            rc=$?
            if [ "$DC_STOP" = 1 ] && [ "$forwarded" = 0 ]; then
                forwarded=1
                dc_job_forward_stop "$lpid" "$started"
                continue # wait for the real exit status
            fi
            # a signal interrupts wait with 128+n while dcmcrawl still runs
            if [ "$rc" -gt 128 ] && kill -0 "$lpid" 2> /dev/null; then
                continue
            fi
            break
        done
    fi
    trap - TERM INT

    dc_job_log "attempt $attempt of job $job: dcmcrawl exited $rc after $((SECONDS - t0)) s"
    case $rc in
        0)
            dc_job_log "done: the crawl is complete"
            return 0
            ;;
        1)
            dc_job_log "FAILED: dcmcrawl runtime failure (exit 1), see its messages above;" \
                "committed work is kept, resubmit the same job to continue"
            return 1
            ;;
        2)
            dc_job_log "FAILED: bad usage or config (exit 2), or the output is in use by" \
                "another run; nothing written; see dcmcrawl's message above, fix the" \
                "config ($config) or wait for that run, and resubmit"
            return 2
            ;;
        3)
            dc_job_requeue "$attempt"
            return $?
            ;;
        *)
            if [ "$rc" -gt 128 ]; then
                dc_job_log "FAILED: dcmcrawl was killed by signal $((rc - 128))" \
                    "(exit $rc); committed work is kept, resubmit to continue"
            else
                dc_job_log "FAILED: dcmcrawl exited $rc; resubmit to continue"
            fi
            return 1
            ;;
    esac
}

# dcmcrawl stopped at a clean checkpoint: put the job back in the queue.
dc_job_requeue() {
    local attempt=$1
    if [ -z "${SLURM_JOB_ID:-}" ]; then
        dc_job_log "stopped at a checkpoint (exit 3); not a SLURM job: run again to continue"
        return 3
    fi
    if [ "${DCMCRAWL_REQUEUE:-1}" != 1 ]; then
        dc_job_log "stopped at a checkpoint (exit 3); DCMCRAWL_REQUEUE=0: resubmit to continue"
        return 3
    fi
    if [ "$attempt" -ge "${DCMCRAWL_MAX_ATTEMPTS:-20}" ]; then
        dc_job_log "stopped at a checkpoint (exit 3) in attempt $attempt, the last allowed" \
            "(DCMCRAWL_MAX_ATTEMPTS=${DCMCRAWL_MAX_ATTEMPTS:-20}): resubmit to continue"
        return 3
    fi
    dc_job_log "stopped at a checkpoint (exit 3): requeueing job $SLURM_JOB_ID" \
        "for attempt $((attempt + 1))"
    if ! scontrol requeue "$SLURM_JOB_ID"; then
        dc_job_log "ERROR: scontrol requeue $SLURM_JOB_ID failed (is the job" \
            "submitted with --requeue, JobRequeue allowed?): resubmit to continue"
        return 3
    fi
    return 0
}
