#!/bin/bash
# stand_in_dcmcrawl.sh STATE_DIR [args...] - behaves like a dcmcrawl rank as
# far as the SLURM job scripts can tell, for testing them without the real
# program: the first run of each rank works until it gets TERM, "commits"
# for STAND_IN_COMMIT seconds [2] and exits 3; a later run exits 0 at once.
# A STATE_DIR that does not exist: exit 2 (bad config). Every event is
# appended to STATE_DIR/events with a timestamp.
state=$1
rank=${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-0}}
if [ ! -d "$state" ]; then
    echo "stand-in: error: $state is not a folder" >&2
    exit 2
fi
ev() { echo "$(date +%s.%N) rank $rank pid $$ $*" >> "$state/events"; }
if [ -e "$state/stopped.$rank" ]; then
    ev "second run: done"
    exit 0
fi
ev "start"
stop=0
trap 'stop=1' TERM INT
while [ $stop = 0 ]; do sleep 0.2; done
ev "got TERM, committing"
sleep "${STAND_IN_COMMIT:-2}"
touch "$state/stopped.$rank"
ev "exit 3"
exit 3
