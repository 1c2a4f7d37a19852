#!/bin/bash
# One-shot update: "dnsward update --force" against "inadyn -1 --force", each
# sending one dyndns2 update over HTTPS to a local endpoint in a network
# namespace, RUNS times alternately (after 3 warm-up runs); wall time and
# CPU time (user + system of the process and its children: dnsward's
# publisher included).  Also the start-up of a command that needs no
# network: "dnsward check" against "inadyn --check-config".
#
#   bench/oneshot.sh [RUNS]     (default 50)
. "$(dirname "$0")/netns-common.sh"
bench_py oneshot --runs "${1:-50}" >"$work/result.json"
cat "$work/result.json"
/usr/bin/python3 "$root/bench/tables.py" "$work/result.json"
