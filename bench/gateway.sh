#!/bin/bash
# dnsward-gateway under load, with wrk (bench/gateway.lua sends the Basic
# credentials), against a local Knot DNS, all in one run:
#
#   1. nochg: the same address again and again (what a router polling every
#      few minutes costs): requests per second and p99 latency at C
#      connections;
#   2. updates: a new address each request, one connection, so each request
#      is one real RFC 2136 UPDATE into Knot through the gateway;
#   3. baseline: the same number of the same updates sent straight to Knot
#      by knsupdate in one session (one process, one signed UPDATE after
#      the other).
#
# Ratios are printed, because these machines are noisy.
#
#   bench/gateway.sh [SECONDS] [CONNECTIONS]     (default 10 s, 64)
#
# GW_BASELINE=/path/to/an/older/dnsward-gateway adds a nochg run of that
# binary (same machine, same run, its own database) and the ratio of the
# two nochg rates.
#
# Needs root (knotd runs as nobody).  DNSWARD_BUILD picks the meson build
# directory (default build/).  The wrk threads share the machine with the
# gateway: on 2 cores, wrk takes a large part of one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
conns=${2:-64}
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
builddir=${DNSWARD_BUILD:-$root/build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" "$root" >/dev/null
ninja -C "$builddir" src/gateway/dnsward-gateway >/dev/null
gateway=$builddir/src/gateway/dnsward-gateway

. "$root/scripts/knot-local.sh"
work=$(mktemp -d /tmp/dnsward-bench-gw.XXXXXX)
gw_pid=""
base_pid=""
cleanup() {
	for p in $gw_pid $base_pid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	knot_stop
	rm -rf "$work"
}
trap cleanup EXIT
host=host.bench.test
knot_start "$work" bench.test "$host"

# TLS as in production: a throw-away CA and a certificate for 127.0.0.1.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
	-subj "/CN=bench CA" -keyout "$work/ca.key" -out "$work/ca.pem" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
	-keyout "$work/gw.key" -out "$work/gw.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$work/gw.ext"
openssl x509 -req -in "$work/gw.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
	-days 1 -extfile "$work/gw.ext" -out "$work/gw.pem" 2>/dev/null
chmod 600 "$work/gw.key"

cat >"$work/gateway.conf" <<CONF
[gateway]
listen = 127.0.0.1:0
tls-cert = $work/gw.pem
tls-key = $work/gw.key
database = $work/gateway.db
; the highest limits: the benchmark is one host from one address
rate = 1000000
rate-source = 1000000
max-connections = $((conns * 2 + 16))
max-connections-per-source = $((conns * 2 + 16))
upstream-wait = 10

[provider knot]
type = rfc2136
server = 127.0.0.1
port = $KNOT_PORT
key-file = $work/host.key
zone = bench.test
CONF
# Builds from issue 10 on know zones (host add needs them); older ones do not.
with_zones() {
	if "$1" help | grep -q -- --allow-any-name; then
		sed 's/^database = .*/&\nzones = bench.test/' "$2"
	else
		cat "$2"
	fi
}
# start_gw BINARY NAME: serves with NAME.conf and NAME.db, sets $url, $started_pid
start_gw() {
	sed "s|$work/gateway.db|$work/$2.db|" "$work/gateway.conf" >"$work/$2.tmpl"
	with_zones "$1" "$work/$2.tmpl" >"$work/$2.conf"
	(umask 077 && "$1" -c "$work/$2.conf" host add "$host" --provider knot >"$work/$2.token")
	"$1" -c "$work/$2.conf" serve >"$work/$2.out" 2>"$work/$2.log" &
	started_pid=$!
	url=""
	for _ in $(seq 100); do
		url=$(sed -n 's/^listening on \(https:[^ ]*\).*/\1/p' "$work/$2.out" | head -n1)
		[ -n "$url" ] && break
		kill -0 "$started_pid" 2>/dev/null || { cat "$work/$2.log" >&2; exit 1; }
		sleep 0.1   # polling with a deadline for the "listening on" line
	done
	[ -n "$url" ] || { echo "gateway $1 did not start" >&2; exit 1; }
}
if [ -n "${GW_BASELINE:-}" ]; then
	start_gw "$GW_BASELINE" base
	base_pid=$started_pid
	base_url=$url
	base_token=$(cat "$work/base.token")
fi
start_gw "$gateway" gw
gw_pid=$started_pid
cp "$work/gw.token" "$work/token"

export GW_USER=$host
GW_TOKEN=$(cat "$work/token")
export GW_TOKEN
nochg_ip=192.0.2.10
curl_gw() {
	curl -sS --cacert "$work/ca.pem" -u "$host:$GW_TOKEN" "$url/nic/update?$1"
}
metric() {
	curl -sS --cacert "$work/ca.pem" "$url/metrics" |
		awk -v k="$1" 'index($0, k) == 1 {print $2}'
}

echo "machine: $(nproc) cores, $(uname -r); gateway $url, Knot port $KNOT_PORT"
echo "first update: $(curl_gw "hostname=$host&myip=$nochg_ip")"
echo "then:         $(curl_gw "hostname=$host&myip=$nochg_ip")"

# 1. nochg
before=$(metric 'dnsward_gateway_requests_total{api="dyndns2",result="nochg"}')
GW_MODE=nochg GW_IP=$nochg_ip wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$root/bench/gateway.lua" \
	"$url" >"$work/wrk-nochg.txt"
after=$(metric 'dnsward_gateway_requests_total{api="dyndns2",result="nochg"}')
nochg=$(grep '^RESULT' "$work/wrk-nochg.txt")
echo "nochg:   $nochg"
echo "         gateway counted $((after - before)) nochg replies"
if [ -n "${GW_BASELINE:-}" ]; then
	curl -sS --cacert "$work/ca.pem" -u "$host:$base_token" \
		"$base_url/nic/update?hostname=$host&myip=$nochg_ip" >/dev/null
	b0=$(curl -sS --cacert "$work/ca.pem" "$base_url/metrics" |
		awk 'index($0, "dnsward_gateway_requests_total{api=\"dyndns2\",result=\"nochg\"}") == 1 {print $2}')
	GW_TOKEN=$base_token GW_MODE=nochg GW_IP=$nochg_ip wrk -t2 -c"$conns" -d"${secs}s" --latency \
		-s "$root/bench/gateway.lua" "$base_url" >"$work/wrk-base.txt"
	b1=$(curl -sS --cacert "$work/ca.pem" "$base_url/metrics" |
		awk 'index($0, "dnsward_gateway_requests_total{api=\"dyndns2\",result=\"nochg\"}") == 1 {print $2}')
	base_nochg=$(grep '^RESULT' "$work/wrk-base.txt")
	echo "baseline nochg ($GW_BASELINE): $base_nochg"
	echo "         baseline counted $((b1 - b0)) nochg replies"
	kill "$base_pid" 2>/dev/null || true
	wait "$base_pid" 2>/dev/null || true
	base_pid=""
fi

# Optional: where the nochg time goes (GW_PROFILE=DIR keeps the reports).
if [ -n "${GW_PROFILE:-}" ]; then
	mkdir -p "$GW_PROFILE"
	GW_MODE=nochg GW_IP=$nochg_ip wrk -t2 -c"$conns" -d"${secs}s" -s "$root/bench/gateway.lua" \
		"$url" >"$GW_PROFILE/wrk-perf.txt" &
	wrk_pid=$!
	sleep 1
	perf record -F 999 -g -p "$gw_pid" -o "$GW_PROFILE/perf.data" -- sleep $((secs - 2)) 2>/dev/null || true
	wait "$wrk_pid"
	perf report -i "$GW_PROFILE/perf.data" --no-children --sort dso,sym --stdio 2>/dev/null |
		grep -v '^$' | head -80 >"$GW_PROFILE/perf-flat.txt" || true
	perf report -i "$GW_PROFILE/perf.data" --no-children --sort dso --stdio 2>/dev/null |
		grep -v '^#' | grep -v '^$' | head -20 >"$GW_PROFILE/perf-dso.txt" || true
	GW_MODE=nochg GW_IP=$nochg_ip wrk -t2 -c"$conns" -d"${secs}s" -s "$root/bench/gateway.lua" \
		"$url" >"$GW_PROFILE/wrk-strace.txt" &
	wrk_pid=$!
	sleep 1
	timeout -s INT $((secs - 2)) strace -c -f -p "$gw_pid" -o "$GW_PROFILE/strace.txt" || true
	wait "$wrk_pid"
	ps -L -o pid= -p "$gw_pid" | wc -l >"$GW_PROFILE/threads.txt"
	echo "profile: $GW_PROFILE (perf-flat.txt, perf-dso.txt, strace.txt)"
fi

# 2. real updates through the gateway, one at a time.  Upstream calls of
# 0.5 s or more are counted from /metrics: on loopback they are Knot's
# one-second event timer (bench/README.md), not the gateway.
up_n0=$(metric 'dnsward_gateway_upstream_seconds_count')
up_f0=$(metric 'dnsward_gateway_upstream_seconds_bucket{le="0.5"}')
GW_MODE=update wrk -t1 -c1 -d"${secs}s" --latency -s "$root/bench/gateway.lua" \
	"$url" >"$work/wrk-update.txt"
upd=$(grep '^RESULT' "$work/wrk-update.txt")
up_n1=$(metric 'dnsward_gateway_upstream_seconds_count')
up_f1=$(metric 'dnsward_gateway_upstream_seconds_bucket{le="0.5"}')
stalls=$(( (up_n1 - up_n0) - (up_f1 - up_f0) ))
echo "update:  $upd"
echo "         upstream calls $((up_n1 - up_n0)), of them $stalls of 0.5 s or more"
n=$(sed -n 's/.* requests=\([0-9]*\) .*/\1/p' <<<"$upd")
echo "         Knot answers: $(kdig @127.0.0.1 -p "$KNOT_PORT" "$host" A +short)"

# 3. baseline: the same n updates straight to Knot, one knsupdate session
secret=$(awk '/secret:/ {print $2}' "$work/host.key")
{
	echo "server 127.0.0.1 $KNOT_PORT"
	echo "zone bench.test."
	for i in $(seq "$n"); do
		echo "update delete $host. A"
		echo "update add $host. 300 A 10.2.$(( (i / 256) % 256 )).$((i % 256))"
		echo "send"
	done
	echo "quit"
} >"$work/knsupdate.txt"
printf 'hmac-sha256:host-key:%s\n' "$secret" >"$work/knsupdate.key"
chmod 600 "$work/knsupdate.key"
t0=$(date +%s.%N)
knsupdate -k "$work/knsupdate.key" "$work/knsupdate.txt"
t1=$(date +%s.%N)
direct=$(awk -v n="$n" -v a="$t0" -v b="$t1" \
	'BEGIN {s = b - a; printf "requests=%d seconds=%.2f rps=%.1f mean_ms=%.3f", n, s, n / s, 1000 * s / n}')
echo "direct:  $direct"
echo "         Knot answers: $(kdig @127.0.0.1 -p "$KNOT_PORT" "$host" A +short)"

g_rps=$(sed -n 's/.* rps=\([0-9.]*\) .*/\1/p' <<<"$upd")
d_rps=$(sed -n 's/.* rps=\([0-9.]*\) .*/\1/p' <<<"$direct")
awk -v g="$g_rps" -v d="$d_rps" 'BEGIN {
	printf "ratio:   gateway updates/s to direct updates/s = %.3f (time per update %.2fx the direct path; target <= 1.20x)\n", g / d, d / g }'
g_s=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<<"$upd")
awk -v n="$n" -v s="$g_s" -v k="$stalls" -v d="$d_rps" 'BEGIN {
	if (k > 0) printf "ratio:   without those %d stall(s) (about 0.99 s each): time per update %.2fx the direct path\n", k, (s - 0.99 * k) / n * d }'
# nochg per second as the gateway counted them (wrk's rate would include
# any non-2xx reply; there should be none)
n_secs=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<<"$nochg")
n_rps=$(awk -v c="$((after - before))" -v s="$n_secs" 'BEGIN { printf "%.1f", c / s }')
awk -v r="$n_rps" 'BEGIN { printf "ratio:   nochg requests/s to the 10000/s target = %.3f\n", r / 10000 }'
if [ -n "${GW_BASELINE:-}" ]; then
	b_secs=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' <<<"$base_nochg")
	awk -v r="$n_rps" -v c="$((b1 - b0))" -v s="$b_secs" 'BEGIN {
		printf "ratio:   nochg requests/s to the baseline build = %.3f (baseline %.1f/s)\n", r / (c / s), c / s }'
fi
