#!/bin/bash
# test_resume_kill.sh BINARY - SIGKILL of the whole job and of one rank at random moments,
# then the same command: outputs equal to an uninterrupted run (tests/kill/kill_test.py,
# quick mode: 6 whole-job and 3 single-rank kills).  The full run (20 + 20 kills):
#   /usr/bin/python3 tests/kill/kill_test.py BUILD/dcmcrawl --mode full
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$HERE/../kill/kill_test.py" "$1" --mode "${KILL_MODE:-quick}"
