#!/bin/bash
# Idle wake-ups: dnsward run, inadyn 2.10 and ddclient 3.10 running side by
# side in a network namespace, each having published the address of dw0
# once to a local HTTPS endpoint; then nothing changes.  Two windows of
# DURATION seconds each:
#   1. context switches (voluntary and involuntary, summed over all threads,
#      from /proc/PID/task/*/status), nothing attached;
#   2. every system call of the daemon and its children ("strace -f -c").
#
#   bench/idle.sh [DURATION] [INADYN_PERIOD]   (defaults 600 s and 30 s;
#                                               runs 2 x DURATION)
. "$(dirname "$0")/netns-common.sh"
bench_py idle --duration "${1:-600}" --inadyn-period "${2:-30}" >"$work/result.json"
cat "$work/result.json"
/usr/bin/python3 "$root/bench/tables.py" "$work/result.json"
