#!/bin/bash
# The main job, self-contained on this machine: a real Knot DNS server on
# loopback for the zone demo.test; dnsward-gateway in front of it holding
# the TSIG key, with its SQLite store and HTTPS from a throw-away CA; a
# per-host token for host.demo.test; and "dnsward update" publishing this
# machine's own interface addresses through the gateway (provider type
# "gateway").  The answer is shown with kdig, the gateway's audit log with
# "dnsward-gateway audit".  Everything is stopped and removed on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
"$root/scripts/deps.sh" build

# Quiet steps print nothing when they succeed and everything when they fail.
quiet() {
	local log rc=0
	log=$(mktemp)
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		cat "$log" >&2
		echo "demo: '$*' failed (exit $rc; its output is above)" >&2
	fi
	rm -f "$log"
	return "$rc"
}

builddir=${DNSWARD_BUILD:-$root/build}   # like the tests: any meson build directory
if [ ! -f "$builddir/build.ninja" ]; then
	# The unit tests (cmocka, a test package) build when present, else not.
	quiet meson setup "$builddir" "$root"
fi
quiet ninja -C "$builddir" src/dnsward/dnsward src/publisher/dnsward-publisher \
	src/gateway/dnsward-gateway
dnsward=$builddir/src/dnsward/dnsward
gateway=$builddir/src/gateway/dnsward-gateway
# dnsward does its network work in dnsward-publisher, found at the installed
# path unless this names another: here, the one just built.
export DNSWARD_PUBLISHER=$(cd "$builddir" && pwd)/src/publisher/dnsward-publisher

. "$root/scripts/knot-local.sh"
work=$(mktemp -d /tmp/dnsward-demo.XXXXXX)
gw_pid=""
cleanup() {
	if [ -n "$gw_pid" ]; then
		kill "$gw_pid" 2>/dev/null || true
		wait "$gw_pid" 2>/dev/null || true
	fi
	knot_stop
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

# The interface with the default route, else the first non-loopback one up.
iface=$(ip -o route show default 2>/dev/null | awk '{for(i=1;i<NF;i++) if($i=="dev"){print $(i+1); exit}}')
if [ -z "$iface" ]; then
	iface=$(ip -o link show up | awk -F': ' '$2 != "lo" {sub(/@.*/, "", $2); print $2; exit}')
fi
[ -n "$iface" ] || { echo "demo: no network interface is up" >&2; exit 1; }

# Knot DNS for demo.test.  Its TSIG key goes to the gateway only: hosts
# never see it.  (knot-local.sh limits the key to host.demo.test; a real
# gateway would hold one for the whole zone.)
step "Knot DNS for demo.test"
knot_start "$work" demo.test host.demo.test
port=$KNOT_PORT
echo "knotd listening on 127.0.0.1 port $port"

# HTTPS for the gateway: a throw-away CA and a certificate for 127.0.0.1.
step "a throw-away CA and the gateway's certificate"
quiet openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=dnsward demo CA" -keyout "$work/ca.key" -out "$work/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj "/CN=127.0.0.1" -keyout "$work/gw.key" -out "$work/gw.csr"
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	>"$work/gw.ext"
quiet openssl x509 -req -in "$work/gw.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
	-CAcreateserial -days 1 -extfile "$work/gw.ext" -out "$work/gw.pem"
chmod 600 "$work/gw.key" "$work/ca.key"
openssl x509 -in "$work/gw.pem" -noout -subject -ext subjectAltName | sed 's/^/  /'

step "dnsward-gateway: configuration and SQLite store"
cat >"$work/gateway.conf" <<CONF
[gateway]
listen = 127.0.0.1:0
tls-cert = $work/gw.pem
tls-key = $work/gw.key
database = $work/gateway.db
zones = demo.test

[provider knot]
type = rfc2136
server = 127.0.0.1
port = $port
key-file = $work/host.key
zone = demo.test
CONF
sed 's/^/  /' "$work/gateway.conf"

step "dnsward-gateway host add host.demo.test --provider knot"
# The token is printed once; only its hash is stored.  It goes straight
# into the host's token file and is never shown here.
(umask 077 && "$gateway" -c "$work/gateway.conf" host add host.demo.test --provider knot \
	>"$work/host.token")
echo "token written to host.token (mode $(stat -c %a "$work/host.token")), id $(cut -c5-20 "$work/host.token")"
"$gateway" -c "$work/gateway.conf" host list

step "dnsward-gateway serve"
"$gateway" -c "$work/gateway.conf" serve >"$work/gw.out" 2>"$work/gw.log" &
gw_pid=$!
url=""
for _ in $(seq 100); do
	url=$(sed -n 's/^listening on \(https:[^ ]*\).*/\1/p' "$work/gw.out" | head -n1)
	[ -n "$url" ] && break
	if ! kill -0 "$gw_pid" 2>/dev/null; then
		cat "$work/gw.log" >&2
		exit 1
	fi
	sleep 0.1   # polling with a deadline for the "listening on" line
done
[ -n "$url" ] || { echo "demo: the gateway did not start" >&2; cat "$work/gw.log" >&2; exit 1; }
echo "gateway listening on $url"

mkdir -m 700 "$work/state"
cat >"$work/dnsward.conf" <<CONF
[dnsward]
state-dir = $work/state

[provider gw]
type = gateway
base-url = $url
ca-file = $work/ca.pem
token-file = $work/host.token

[record host.demo.test]
provider = gw
ipv4 = iface:$iface
ipv6 = iface:$iface
; A real host publishes only global addresses (the default).  This demo
; accepts private and documentation ranges so it works on any machine.
ipv4-accept = private,documentation
ipv6-accept = ula,documentation
CONF

step "dnsward check"
"$dnsward" -c "$work/dnsward.conf" check
step "dnsward addr $iface"
"$dnsward" -c "$work/dnsward.conf" addr "$iface"
step "dnsward update, through the gateway ($url) into Knot DNS"
set +e
"$dnsward" -c "$work/dnsward.conf" -v update
rc=$?
set -e
step "kdig @127.0.0.1 -p $port host.demo.test A / AAAA"
kdig @127.0.0.1 -p "$port" host.demo.test A +noall +answer
kdig @127.0.0.1 -p "$port" host.demo.test AAAA +noall +answer
step "dnsward update again: nothing changed, nothing is sent"
set +e
"$dnsward" -c "$work/dnsward.conf" update
rc2=$?
set -e
step "dnsward-gateway audit"
"$gateway" -c "$work/gateway.conf" audit
if [ "$rc" -ne 0 ] || [ "$rc2" -ne 0 ]; then
	echo "demo: dnsward update failed (exit $rc, then $rc2; its messages are above)" >&2
	[ "$rc" -ne 0 ] && exit "$rc"
	exit "$rc2"
fi
