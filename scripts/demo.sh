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

work=$(mktemp -d /tmp/dnsward-demo.XXXXXX)
chmod 755 "$work"           # knotd runs as nobody and must read its config
knot_pid=""
cleanup() {
	if [ -n "$knot_pid" ]; then
		kill "$knot_pid" 2>/dev/null || true
		wait "$knot_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# A free UDP/TCP port on loopback.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# The interface with the default route, else the first non-loopback one up.
iface=$(ip -o route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="dev"){print $(i+1); exit}}')
if [ -z "$iface" ]; then
	iface=$(ip -o link show up | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
fi
[ -n "$iface" ] || { echo "demo: no network interface is up" >&2; exit 1; }

# TSIG key scoped to one name, made by Knot's own tool.
keymgr -t host-key hmac-sha256 >"$work/host.key"
secret=$(awk '/secret:/ {print $2}' "$work/host.key")
chmod 600 "$work/host.key"

mkdir -p "$work/zones" "$work/db" "$work/run"
cat >"$work/zones/demo.test.zone" <<ZONE
\$ORIGIN demo.test.
\$TTL 300
@   SOA ns.demo.test. hostmaster.demo.test. 1 3600 600 86400 60
@   NS  ns.demo.test.
ns  A   127.0.0.1
ZONE
cat >"$work/knot.conf" <<CONF
server:
    rundir: $work/run
    listen: 127.0.0.1@$port
database:
    storage: $work/db
log:
  - target: stderr
    any: notice
key:
  - id: host-key
    algorithm: hmac-sha256
    secret: $secret
acl:
  - id: host-only
    key: host-key
    action: update
    update-type: [A, AAAA]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [host.demo.test.]
template:
  - id: default
    storage: $work/zones
    zonefile-sync: -1
    zonefile-load: difference-no-serial
    journal-content: all
zone:
  - domain: demo.test
    file: demo.test.zone
    acl: host-only
CONF
chown -R 65534:65534 "$work/zones" "$work/db" "$work/run"
knotc -c "$work/knot.conf" conf-check >/dev/null
setpriv --reuid=65534 --regid=65534 --clear-groups knotd -c "$work/knot.conf" 2>"$work/knot.log" &
knot_pid=$!
for _ in $(seq 100); do
	if kdig +time=1 +retry=0 @127.0.0.1 -p "$port" demo.test SOA +short 2>/dev/null | grep -q hostmaster; then
		break
	fi
	kill -0 "$knot_pid" 2>/dev/null || { cat "$work/knot.log" >&2; exit 1; }
	sleep 0.1
done

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
