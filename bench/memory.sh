#!/bin/bash
# Peak memory: dnsward run, inadyn 2.10 and ddclient 3.10 started side by
# side in a network namespace, each publishing the same IPv4 address of dw0
# once over HTTPS (dyndns2) to one local endpoint; then VmHWM (peak RSS),
# VmRSS, RssAnon and RssFile of each daemon process from /proc/PID/status.
#
#   bench/memory.sh [INADYN_PERIOD]     (default 30 s)
. "$(dirname "$0")/netns-common.sh"
bench_py memory --inadyn-period "${1:-30}" >"$work/result.json"
cat "$work/result.json"
/usr/bin/python3 "$root/bench/tables.py" "$work/result.json"
