#!/bin/bash
# The main job, self-contained on this machine: start a real Knot DNS server
# on loopback for the zone demo.test, publish this machine's own interface
# addresses to host.demo.test with "dnsward update" over RFC 2136 + TSIG,
# and show the answer with kdig.  Everything is removed on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
"$root/scripts/deps.sh" build

builddir=$root/build
if [ ! -f "$builddir/build.ninja" ]; then
	meson setup "$builddir" "$root" >/dev/null
fi
ninja -C "$builddir" src/dnsward/dnsward >/dev/null
dnsward=$builddir/src/dnsward/dnsward

. "$root/scripts/knot-local.sh"
work=$(mktemp -d /tmp/dnsward-demo.XXXXXX)
cleanup() {
	knot_stop
	rm -rf "$work"
}
trap cleanup EXIT

# The interface with the default route, else the first non-loopback one up.
iface=$(ip -o route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="dev"){print $(i+1); exit}}')
if [ -z "$iface" ]; then
	iface=$(ip -o link show up | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
fi
[ -n "$iface" ] || { echo "demo: no network interface is up" >&2; exit 1; }

# Knot DNS for demo.test; its TSIG key may update host.demo.test only.
knot_start "$work" demo.test host.demo.test
port=$KNOT_PORT

mkdir -m 700 "$work/state"
cat >"$work/dnsward.conf" <<CONF
[dnsward]
state-dir = $work/state

[provider own-dns]
type = rfc2136
server = 127.0.0.1
port = $port
key-file = $work/host.key

[record host.demo.test]
provider = own-dns
ipv4 = iface:$iface
ipv6 = iface:$iface
ttl = 60
; A real host publishes only global addresses (the default).  This demo
; accepts private and documentation ranges so it works on any machine.
ipv4-accept = private,documentation
ipv6-accept = ula,documentation
CONF

echo "== dnsward check"
"$dnsward" -c "$work/dnsward.conf" check
echo
echo "== dnsward addr $iface"
"$dnsward" -c "$work/dnsward.conf" addr "$iface"
echo
echo "== dnsward update (Knot DNS on 127.0.0.1 port $port)"
set +e
"$dnsward" -c "$work/dnsward.conf" -v update
rc=$?
set -e
echo
echo "== kdig @127.0.0.1 -p $port host.demo.test A / AAAA"
kdig @127.0.0.1 -p "$port" host.demo.test A +noall +answer
kdig @127.0.0.1 -p "$port" host.demo.test AAAA +noall +answer
echo
echo "== dnsward update again: nothing changed, nothing is sent"
"$dnsward" -c "$work/dnsward.conf" update || true
exit $rc
