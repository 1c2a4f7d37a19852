#!/bin/bash
# Memory after one HTTPS update: dnsward run, inadyn 2.10 and ddclient 3.10
# started side by side in a network namespace, each publishing the same IPv4
# address of dw0 once over HTTPS (dyndns2) to one local endpoint.  dnsward's
# publisher (the child doing its network work) has its peak taken while it
# runs; once it has exited, VmHWM (peak RSS), VmRSS, RssAnon, RssFile, Pss
# and private memory of each daemon's process tree.  Twice: every daemon
# trusting a file with the one CA of the endpoint, then the system's whole
# CA bundle (with that CA appended).
#
#   bench/memory.sh [INADYN_PERIOD]     (default 30 s)
. "$(dirname "$0")/netns-common.sh"
for ca in single system; do
	mkdir -m 755 "$work/$ca"
	ip netns exec "$ns" /usr/bin/python3 "$root/bench/daemons.py" memory \
		--dnsward "$dnsward" --work "$work/$ca" --out "$work/result-$ca.json" \
		--inadyn-period "${1:-30}" --ca "$ca" >&2
	cat "$work/result-$ca.json"
done
/usr/bin/python3 "$root/bench/tables.py" "$work/result-single.json" "$work/result-system.json"
