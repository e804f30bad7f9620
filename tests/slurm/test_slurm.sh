#!/bin/bash
# test_slurm.sh BINARY - jobs/crawl.sbatch and jobs/crawl_array.sbatch on a real,
# throw-away, one-node SLURM cluster started by this script.
#
#   bash tests/slurm/test_slurm.sh build/dcmcrawl        (as root; a few minutes)
#   SLURM_TEST_KEEP=1 bash tests/slurm/test_slurm.sh build/dcmcrawl   (keep the temp dir)
#
# Set-up (everything it starts it stops again, by pid file, also on failure):
#   - installs slurm-wlm and munge with apt-get when they are missing;
#   - munge: reuses a running munged, else creates /etc/munge/munge.key if
#     missing and starts munged (and stops it at the end);
#   - writes a slurm.conf for this machine alone (node $(hostname -s) at
#     127.0.0.1, its CPUs and memory, proctrack/linuxproc, task/none,
#     select/cons_tres, free ports, all state/spool/pid/log files in a temp
#     dir), starts slurmctld and slurmd with it and waits until the node is idle.
# Tests (the jobs run the real dcmcrawl, 2 tasks, under mpirun unless said):
#   a) a plain crawl: sbatch --wait jobs/crawl.sbatch on a volume-mode config
#      with pixel data; exit 0, one HDF5 dataset per series equal to pydicom's
#      stack, one metadata row per series (check_outputs.py).
#   b) the same crawl with commit_every 1 and --time=1 --signal=B:TERM@58: the
#      batch shell gets TERM while dcmcrawl runs, passes it to the ranks, they
#      stop at a checkpoint (attempt 1 exits 3, some but not all series
#      written), the job requeues itself and attempt 2 finishes (Slurm holds a
#      requeued job for cred_expire+1 s: 11 s here, 121 s by default). Checks:
#      the number of series written by attempt 1 (some, not all), the log's
#      attempt lines (1 exited 3 and requeued, 2 exited 0; a slow ASan build
#      may need a third attempt, allowed), scontrol Restarts, COMPLETED,
#      ExitCode 0:0, and outputs equal to a)'s (compare_outputs.py
#      --rows-as-sets, ignoring the config attribute).
#   c) a job array (crawl_array.sbatch) over a list: a good config, a
#      comment line and a config with an error: tasks exit 0 / 0 / 2, sbatch
#      --wait returns 2, the log of the bad task says why, the good task's
#      output is complete.
#   d) b) again with DCMCRAWL_LAUNCHER="srun --mpi=pmix" (skipped when Slurm
#      has no pmix plugin): the stop goes to the tasks via scancel --signal.
# There is no slurmdbd here, so sacct is not used: the log and scontrol are.
# Exit 0 when everything passes; prints timings.
# shellcheck disable=SC2317 # cleanup and stop_pidfile run from the EXIT trap
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
BIN=${1:-}
T_START=$(date +%s)

say() { echo "test_slurm: $*"; }
fail() {
    say "FAIL: $*"
    FAILED=1
    exit 1
}
phase_t=$T_START
phase() { # name: print the time since the last phase
    local now
    now=$(date +%s)
    say "[$((now - phase_t)) s] $*"
    phase_t=$now
}

if [ -z "$BIN" ] || [ ! -x "$BIN" ]; then
    fail "binary '${BIN}' not found or not executable (usage: bash tests/slurm/test_slurm.sh build/dcmcrawl)"
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
if [ "$(id -u)" != 0 ]; then
    fail "must run as root (it installs packages and starts slurmctld/slurmd)"
fi

# ---------------------------------------------------------------- set-up
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dcmcrawl_slurm_XXXXXX")
chmod 755 "$WORK"
C=$WORK/slurm
MUNGE_PIDFILE=
FAILED=0

stop_pidfile() { # pidfile name: TERM, wait up to 10 s, then KILL
    local f=$1 pid i
    [ -n "$f" ] && [ -s "$f" ] || return 0
    pid=$(cat "$f")
    kill -TERM "$pid" 2> /dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2> /dev/null || return 0
        sleep 0.2
    done
    say "$2 (pid $pid) did not stop on TERM; killing it"
    kill -KILL "$pid" 2> /dev/null || true
}

cleanup() {
    local rc=$?
    if [ -n "${SLURM_CONF:-}" ] && [ -f "$C/slurmctld.pid" ]; then
        scancel --full --quiet --user=root 2> /dev/null || true
    fi
    stop_pidfile "$C/slurmd.pid" slurmd
    stop_pidfile "$C/slurmctld.pid" slurmctld
    stop_pidfile "$MUNGE_PIDFILE" munged
    if [ "$rc" -ne 0 ] || [ "$FAILED" != 0 ]; then
        for f in "$C"/log/slurmctld.log "$C"/log/slurmd.log; do
            [ -f "$f" ] && { echo "--- last lines of $f"; tail -n 15 "$f"; }
        done
    fi
    if [ "${SLURM_TEST_KEEP:-0}" = 1 ]; then
        say "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    say "total $(($(date +%s) - T_START)) s"
    if [ "$rc" -eq 0 ] && [ "$FAILED" = 0 ]; then say "PASS"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

install_packages() {
    if command -v slurmctld > /dev/null && command -v slurmd > /dev/null &&
        command -v sbatch > /dev/null && command -v munged > /dev/null; then
        return 0
    fi
    say "installing slurm-wlm and munge (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get update -qq > "$WORK/apt.log" 2>&1 ||
        ! apt-get install -y -qq --no-install-recommends slurm-wlm slurm-client munge \
            >> "$WORK/apt.log" 2>&1; then
        tail -n 20 "$WORK/apt.log"
        fail "apt-get install slurm-wlm munge failed"
    fi
}

start_munge() {
    if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
        say "munged already running: using it"
        return 0
    fi
    local key=/etc/munge/munge.key
    if [ ! -s "$key" ]; then
        say "creating $key"
        mkdir -p /etc/munge
        if command -v mungekey > /dev/null; then
            mungekey --create --keyfile="$key" || fail "mungekey failed"
        else
            dd if=/dev/urandom of="$key" bs=1 count=1024 status=none
        fi
    fi
    local user=root
    if id munge > /dev/null 2>&1; then
        user=munge
        chown munge:munge /etc/munge "$key"
    fi
    chmod 700 /etc/munge
    chmod 400 "$key"
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown "$user:" /run/munge /var/lib/munge /var/log/munge
    chmod 755 /run/munge
    MUNGE_PIDFILE=/run/munge/munged.pid
    if [ "$user" = munge ]; then
        runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
    else
        /usr/sbin/munged --force || fail "munged did not start"
    fi
    local i
    for i in $(seq 1 50); do
        if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
            say "started munged (pid $(cat "$MUNGE_PIDFILE" 2> /dev/null))"
            return 0
        fi
        sleep 0.2
    done
    fail "munged started but munge -n | unmunge fails"
}

free_port() {
    $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_slurm() {
    mkdir -p "$C/state" "$C/spool" "$C/log"
    NODE=$(hostname -s)
    local cpus mem p1 p2
    cpus=$(nproc)
    mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
    p1=$(free_port)
    p2=$(free_port)
    while [ "$p2" = "$p1" ]; do p2=$(free_port); done
    cat > "$C/slurm.conf" << EOF
# one-node cluster of tests/slurm/test_slurm.sh
ClusterName=dcmtest
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$p1
SlurmdPort=$p2
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# a requeued job may start again cred_expire+1 s later (default 120 s), at
# the next scheduling pass (sched_interval, default 60 s): short for the test
AuthInfo=cred_expire=10
SchedulerParameters=sched_interval=2
StateSaveLocation=$C/state
SlurmdSpoolDir=$C/spool
SlurmctldPidFile=$C/slurmctld.pid
SlurmdPidFile=$C/slurmd.pid
SlurmctldLogFile=$C/log/slurmctld.log
SlurmdLogFile=$C/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=120
KillWait=30
InactiveLimit=0
SlurmdTimeout=300
NodeName=$NODE NodeHostname=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=30 State=UP
EOF
    export SLURM_CONF=$C/slurm.conf
    slurmctld -i -f "$SLURM_CONF" || fail "slurmctld did not start"
    slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
    local i st=
    for i in $(seq 1 60); do
        st=$(sinfo -h -n "$NODE" -o %t 2> /dev/null)
        [ "$st" = idle ] && return 0
        sleep 1
    done
    fail "node $NODE not idle after 60 s (state '${st}')"
}

install_packages
start_munge
start_slurm
phase "cluster up: node $NODE idle ($(sinfo --version))"

for m in pydicom h5py pandas numpy; do
    $PY -c "import $m" 2> /dev/null || fail "python module $m missing (make deps)"
done

# ---------------------------------------------------------------- corpus, configs
# Big enough that the interrupted crawl (commit_every 1) runs for longer
# than Slurm may take to send the --signal (its time-limit check runs every
# 30 s): see test b.
FOLDERS=${SLURM_TEST_FOLDERS:-4}
SERIES=${SLURM_TEST_SERIES:-40}
SLICES=${SLURM_TEST_SLICES:-10}
SIZE=${SLURM_TEST_SIZE:-32}
cd "$WORK" || fail "cd $WORK"
$PY "$HERE/make_ct_corpus.py" corpus --folders "$FOLDERS" --series "$SERIES" \
    --slices "$SLICES" --size "$SIZE" > corpus.json || fail "corpus generation failed"
NSERIES=$((FOLDERS * SERIES))
folder_list=$(for ((i = 0; i < FOLDERS; i++)); do printf '"corpus/archive_%d", ' "$i"; done)
folder_list=${folder_list%, }

write_config() { # file out_folder id commit_every folders
    cat > "$1" << EOF
input:
  folders: [$5]
output:
  folder: $2
  id: $3
  write_pixeldata: true
  volumes: true
run:
  commit_every: $4
  progress: never
EOF
}
write_config a.yaml out_a slurm 16 "$folder_list"
write_config c1.yaml out_c c1 8 '"corpus/archive_0"'
sed 's/commit_every: 8/commit_every: eight/' c1.yaml > c_bad.yaml
printf 'c1.yaml\n# a comment line: nothing to do\nc_bad.yaml\n' > list.txt
phase "corpus: $NSERIES series of $SLICES slices ${SIZE}x$SIZE in $FOLDERS folders"

# the jobs inherit this environment (sbatch --export=ALL)
export DCMCRAWL=$BIN
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export DCMCRAWL_MPIRUN_ARGS=--oversubscribe
NTASKS=2
JOB=

job_field() { # jobid field: from scontrol show job
    scontrol show job "$1" 2> /dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# ---------------------------------------------------------------- a) plain crawl
sbatch --wait --quiet --ntasks=$NTASKS --time=10 --output=job_a.log \
    "$ROOT/jobs/crawl.sbatch" a.yaml
rc=$?
cat job_a.log
[ $rc -eq 0 ] || fail "a) sbatch --wait returned $rc (expected 0)"
grep -q 'attempt 1 of job .*: dcmcrawl exited 0' job_a.log || fail "a) no 'attempt 1 ... exited 0' line"
$PY "$HERE/check_outputs.py" out_a slurm corpus || fail "a) outputs incomplete or wrong"
phase "a) plain crawl done and checked"

# ---------------------------------------------------------------- b) time limit, requeue
# slow_rename.so makes each checkpoint of attempt 1 last SLOW_MS more, so the
# crawl runs ~NSERIES*SLOW_MS, longer than the ~32 s Slurm may take to send TERM
cc -shared -fPIC -O2 -o slow_rename.so "$HERE/slow_rename.c" -ldl || fail "cannot build slow_rename.so"
SLOW_MS=${SLURM_TEST_SLOW_MS:-300}

requeue_test() { # name launcher: crawl b.yaml into out_<name>, stopped by the time limit
    local t=$1 launcher=$2
    local config=$t.yaml out=out_$t log=job_$t.log
    write_config "$config" "$out" slurm 1 "$folder_list"
    # (an ASan build of dcmcrawl refuses a preload before its runtime unless told)
    local asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
    JOB=$(DCMCRAWL_LAUNCHER=$launcher sbatch --parsable --ntasks=$NTASKS --time=1 \
        --signal=B:TERM@58 --output="$log" \
        --export="ALL,LD_PRELOAD=$WORK/slow_rename.so,SLOW_RENAME_MS=$SLOW_MS,ASAN_OPTIONS=$asan" \
        "$ROOT/jobs/crawl.sbatch" "$config") || fail "$t) sbatch failed"
    say "$t) job $JOB ($launcher) submitted: --time=1 --signal=B:TERM@58, commit_every 1," \
        "${SLOW_MS} ms per checkpoint"
    local partial='' state restarts exitcode deadline
    deadline=$(($(date +%s) + 420))
    while :; do
        state=$(job_field "$JOB" JobState)
        restarts=$(job_field "$JOB" Restarts)
        case "$state" in
            COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE)
                break
                ;;
            PENDING)
                if [ "${restarts:-0}" -ge 1 ] && [ -z "$partial" ]; then
                    partial=$(($(wc -l < "$out/metadata_slurm.csv") - 1))
                    say "$t) job $JOB requeued after attempt 1 with $partial of $NSERIES series written"
                fi
                ;;
            '') fail "$t) job $JOB vanished from scontrol" ;;
        esac
        [ "$(date +%s)" -lt "$deadline" ] || fail "$t) job $JOB not finished after 420 s (state $state)"
        sleep 1
    done
    cat "$log"
    exitcode=$(job_field "$JOB" ExitCode)
    say "$t) job $JOB: state $state, exit code $exitcode, restarts $restarts"
    [ "$state" = COMPLETED ] || fail "$t) job ended $state (expected COMPLETED)"
    [ "$exitcode" = 0:0 ] || fail "$t) job exit code $exitcode (expected 0:0)"
    # usually one requeue; a slow build (ASan) may need more: each attempt but
    # the last must have stopped at a checkpoint and requeued
    [ "${restarts:-0}" -ge 1 ] || fail "$t) job restarted ${restarts:-0} times (expected 1 or more)"
    grep -q "stop requested: .*it stops at its next checkpoint" "$log" ||
        grep -q "stop requested: .*dcmcrawl stops at its next checkpoint" "$log" ||
        fail "$t) TERM never passed on to dcmcrawl"
    local k
    for ((k = 1; k <= restarts; k++)); do
        grep -q "attempt $k of job $JOB: dcmcrawl exited 3 " "$log" || fail "$t) attempt $k did not exit 3"
        grep -q "requeueing job $JOB for attempt $((k + 1))" "$log" || fail "$t) attempt $k did not requeue"
    done
    grep -q "attempt $k of job $JOB: dcmcrawl exited 0 " "$log" || fail "$t) attempt $k did not exit 0"
    if [ -z "$partial" ] || [ "$partial" -le 0 ] || [ "$partial" -ge $NSERIES ]; then
        fail "$t) after attempt 1, ${partial:-?} of $NSERIES series were written (expected some, not all)"
    fi
    $PY "$HERE/check_outputs.py" "$out" slurm corpus || fail "$t) outputs incomplete or wrong"
    $PY "$ROOT/tests/integration/compare_outputs.py" --rows-as-sets --ignore-attr config out_a "$out" ||
        fail "$t) interrupted + requeued crawl differs from the plain one"
}

requeue_test b mpirun
phase "b) stopped by the time-limit signal, requeued, finished; same outputs as a)"

# ---------------------------------------------------------------- c) job array
sbatch --wait --quiet --array=1-3 --ntasks=1 --time=5 --output='job_c_%a.log' \
    "$ROOT/jobs/crawl_array.sbatch" list.txt
rc=$?
cat job_c_1.log job_c_2.log job_c_3.log
[ $rc -eq 2 ] || fail "c) sbatch --wait returned $rc (expected 2, the highest task exit)"
grep -q 'attempt 1 of job .*: dcmcrawl exited 0' job_c_1.log || fail "c) task 1 did not exit 0"
grep -q 'blank or a comment; nothing to do' job_c_2.log || fail "c) task 2 (comment line) ran something"
grep -q 'FAILED: bad usage or config (exit 2)' job_c_3.log || fail "c) task 3 did not report exit 2"
grep -q 'commit_every' job_c_3.log || fail "c) task 3's log does not name the bad key"
$PY "$HERE/check_outputs.py" out_c c1 corpus corpus/archive_0 || fail "c) task 1 outputs wrong"
phase "c) job array: done / nothing to do / bad config (exit 2) as expected"

# ---------------------------------------------------------------- d) srun launcher
if srun --mpi=list 2>&1 | grep -qw pmix; then
    requeue_test d "srun --mpi=pmix"
    phase "d) the same with DCMCRAWL_LAUNCHER='srun --mpi=pmix' (TERM via scancel --signal)"
else
    say "d) SKIPPED: this Slurm has no pmix MPI plugin (srun --mpi=list)"
fi
exit 0
