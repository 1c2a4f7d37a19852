#!/bin/bash
# Reaction time: from an IPv4 address becoming usable in a network namespace
# to the dyndns2 update request for it arriving at a local HTTPS endpoint,
# for "dnsward run" (event-driven) and, side by side against the same
# endpoint, inadyn 2.10 and ddclient 3.10 (both poll).
#
#   bench/reaction.sh [CHANGES] [SLOW_CHANGES] [INADYN_PERIOD]
#                     (defaults 100, 8 and 30 s)
#
# Each change removes the record's address from dw0, waits, then runs
# "ip addr add NEW/24 dev dw0".  IPv4 has no DAD: the address is usable as
# soon as the kernel sends RTM_NEWADDR, which a netlink socket in the
# measuring process timestamps.  The emulator timestamps each request with
# the same CLOCK_MONOTONIC.  dnsward makes CHANGES changes four times:
# default debounce of 50 ms and debounce-ms = 0, each with the publisher
# kept between changes (publisher-idle default, 10 s, longer than the
# 0.2-0.4 s between changes) and with a new publisher per change
# (publisher-idle = 0: as for changes minutes apart, its start-up overlaps
# the debounce), all with min-publish-gap = 0 (the changes are closer than
# its default 30 s); inadyn (iface = dw0, period
# INADYN_PERIOD) and ddclient (usev4=ifv4, daemon=60, its minimum) run
# together afterwards for SLOW_CHANGES changes, each made at a random
# moment of their poll cycles.  Prints JSON, then Markdown tables.
. "$(dirname "$0")/netns-common.sh"
changes=${1:-100}
slow=${2:-8}
period=${3:-30}
bench_py reaction --changes "$changes" --slow-changes "$slow" --inadyn-period "$period" \
	>"$work/result.json"
cat "$work/result.json"
/usr/bin/python3 "$root/bench/tables.py" "$work/result.json"
