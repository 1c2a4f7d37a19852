#!/bin/bash
# ACME dns-01 through dnsward, against a plain knsupdate hook, in one run:
#
#  1. "present" cost and what is left to wait after it returns: dnsward acme
#     present (UPDATE, then every authoritative server asked until it serves
#     the value) vs. knsupdate sending the same UPDATE; after each returns,
#     the time until the value is served by Knot (polled with kdig).
#  2. Whole issuance: lego (exec provider) + pebble + Knot for a name and its
#     wildcard, through dnsward vs. through a knsupdate hook script.
#
#   bench/acme.sh [RUNS] [ISSUANCES]      (defaults 20 and 3)
# Needs root (starts knotd as nobody) and the Debian packages pebble, lego,
# knot, knot-dnsutils, openssl.  Prints ratios to the knsupdate baseline.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
issuances=${2:-3}
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
build=${DNSWARD_BUILD:-$root/build}
[ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
ninja -C "$build" src/dnsward/dnsward src/publisher/dnsward-publisher >/dev/null
dnsward=$build/src/dnsward/dnsward
export DNSWARD_PUBLISHER=$(cd "$build" && pwd)/src/publisher/dnsward-publisher

. "$root/scripts/knot-local.sh"
work=$(mktemp -d /tmp/dnsward-bench-acme.XXXXXX)
pebble_pid=""
cleanup() {
	if [ -n "$pebble_pid" ]; then
		kill -KILL "$pebble_pid" 2>/dev/null || true   # a throw-away test CA
		wait "$pebble_pid" 2>/dev/null || true
	fi
	knot_stop
	rm -rf "$work"
}
trap cleanup EXIT
KNOT_UPDATE_TYPES="TXT" knot_start "$work" bench.test _acme-challenge.host.bench.test
name=_acme-challenge.host.bench.test

secret=$(awk '/secret:/ {print $2}' "$work/host.key")
kns_key="hmac-sha256:host-key:$secret"
mkdir -m 700 "$work/state"
cat >"$work/dnsward.conf" <<EOT
[dnsward]
state-dir = $work/state
acme-nameservers = 127.0.0.1:$KNOT_PORT
acme-propagation-timeout = 30
acme-poll-interval = 1
[provider knot]
type = rfc2136
server = 127.0.0.1
port = $KNOT_PORT
key-file = $work/host.key
acme-zones = bench.test
EOT

ms() { local ns; ns=$(date +%s%N); echo $((ns / 1000000)); }
value() { head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }
kns() {   # kns add|delete VALUE
	printf 'server 127.0.0.1 %s\nzone bench.test.\nupdate %s %s. 60 TXT "%s"\nsend\n' \
		"$KNOT_PORT" "$1" "$name" "$2" | knsupdate -y "$kns_key"
}
served_after() {   # extra kdig polls (1 ms apart) before Knot serves VALUE; 0 = at once
	local v=$1 n=0
	until kdig +short +time=1 +retry=0 @127.0.0.1 -p "$KNOT_PORT" "$name" TXT | grep -qF -- "$v"; do
		n=$((n + 1))
		sleep 0.001
	done
	echo "$n"
}

# ---- 1. present, and what is left to wait after it returns
d_tot=0; d_after=0; k_tot=0; k_after=0
for i in $(seq "$runs"); do
	v=$(value)
	t0=$(ms); "$dnsward" -q -c "$work/dnsward.conf" acme present "$name." "$v"; t1=$(ms)
	d_tot=$((d_tot + t1 - t0)); d_after=$((d_after + $(served_after "$v")))
	"$dnsward" -q -c "$work/dnsward.conf" acme cleanup "$name." "$v"
	v=$(value)
	t0=$(ms); kns add "$v"; t1=$(ms)
	k_tot=$((k_tot + t1 - t0)); k_after=$((k_after + $(served_after "$v")))
	kns delete "$v"
done
echo "present ($runs runs): dnsward mean $((d_tot / runs)) ms, knsupdate mean $((k_tot / runs)) ms"
echo "extra polls before the value was served after the hook returned (0 = served at the" \
     "first query): dnsward total $d_after, knsupdate total $k_after, over $runs runs each"

# ---- 2. whole issuance with lego + pebble
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=bench CA" -keyout "$work/ca.key" -out "$work/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
	-keyout "$work/pebble.key" -out "$work/pebble.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/san.ext"
openssl x509 -req -in "$work/pebble.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
	-CAcreateserial -days 2 -extfile "$work/san.ext" -out "$work/pebble.pem" 2>/dev/null
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pp=$(port)
cat >"$work/pebble.json" <<EOT
{"pebble": {"listenAddress": "127.0.0.1:$pp", "managementListenAddress": "127.0.0.1:$(port)",
 "certificate": "$work/pebble.pem", "privateKey": "$work/pebble.key",
 "httpPort": $(port), "tlsPort": $(port), "ocspResponderURL": "",
 "externalAccountBindingRequired": false}}
EOT
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 pebble -config "$work/pebble.json" \
	-dnsserver "127.0.0.1:$KNOT_PORT" >"$work/pebble.log" 2>&1 &
pebble_pid=$!
until curl -s --cacert "$work/ca.pem" "https://127.0.0.1:$pp/dir" >/dev/null; do sleep 0.05; done

cat >"$work/hook-dnsward" <<EOT
#!/bin/sh
exec $dnsward -q -c $work/dnsward.conf acme "\$@"
EOT
cat >"$work/hook-knsupdate" <<EOT
#!/bin/sh
case "\$1" in present) op=add ;; cleanup) op=delete ;; *) exit 0 ;; esac
printf 'server 127.0.0.1 $KNOT_PORT\nzone bench.test.\nupdate %s %s 60 TXT "%s"\nsend\n' \
	"\$op" "\$2" "\$3" | knsupdate -y "$kns_key"
EOT
chmod 755 "$work/hook-dnsward" "$work/hook-knsupdate"
issue() {   # issue HOOK -> ms
	local dir t0 t1
	dir=$(mktemp -d "$work/lego.XXXX")
	t0=$(ms)
	LEGO_CA_CERTIFICATES=$work/ca.pem EXEC_PATH=$1 EXEC_PROPAGATION_TIMEOUT=30 \
	EXEC_POLLING_INTERVAL=1 EXEC_SEQUENCE_INTERVAL=1 \
		lego --server "https://127.0.0.1:$pp/dir" --accept-tos --email a@b.test \
		--path "$dir" --dns exec --dns.resolvers "127.0.0.1:$KNOT_PORT" --dns.disable-cp \
		-d host.bench.test -d '*.host.bench.test' run >"$dir/log" 2>&1 || {
			cat "$dir/log" >&2; exit 1; }
	t1=$(ms)
	echo $((t1 - t0))
}
d_iss=0; k_iss=0
for i in $(seq "$issuances"); do   # interleaved: both see the same machine state
	d=$(issue "$work/hook-dnsward"); k=$(issue "$work/hook-knsupdate")
	echo "issuance $i: dnsward $d ms, knsupdate hook $k ms"
	d_iss=$((d_iss + d)); k_iss=$((k_iss + k))
done
echo "issuance ($issuances runs, name + wildcard): dnsward mean $((d_iss / issuances)) ms," \
     "knsupdate hook mean $((k_iss / issuances)) ms, ratio" \
     "$(awk -v a="$d_iss" -v b="$k_iss" 'BEGIN {printf "%.3f", a / b}')"
echo "present ratio dnsward/knsupdate:" \
     "$(awk -v a="$d_tot" -v b="$k_tot" 'BEGIN {printf "%.2f", a / b}')"
