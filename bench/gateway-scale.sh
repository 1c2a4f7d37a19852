#!/bin/bash
# dnsward-gateway at scale, both store backends, in one run (issue 13):
#
#   0. (GW_BASELINE=BINARY) nochg on SQLite by a build from before the
#      shared lockout against this one, on the same store, twice;
#   1. nochg with 1,000 and with 1,000,000 hosts in the store, on SQLite
#      and on PostgreSQL, three rounds alternating the sizes (a store of
#      each size and backend): requests per second (the gateway's own
#      count), the gateway's RSS (VmRSS and peak VmHWM, /proc) after each
#      run, and on PostgreSQL the sequential scans of the tables a nochg
#      reads (pg_stat_user_tables before -> after);
#   2. nochg with two instances on one PostgreSQL (two wrk, half the
#      connections each) against one instance on SQLite, 1M hosts, twice;
#   3. updates into Knot, one connection, a new address each request:
#      through the gateway on SQLite, on PostgreSQL, and the same number of
#      UPDATEs straight from one knsupdate session.
#
# Ratios are printed (these machines are noisy; wrk, the gateways,
# PostgreSQL and Knot share the same cores).
#
#   bench/gateway-scale.sh [SECONDS] [CONNECTIONS] [HOSTS]   (10 s, 64, 1000000)
#
# Needs root (knotd and postgres run as nobody); PostgreSQL 15 from Debian
# (postgresql-15), wrk, sqlite3.  DNSWARD_BUILD picks the meson build
# directory (default build/, configured with -Dpostgresql=enabled).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
conns=${2:-64}
big=${3:-1000000}
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
for p in wrk sqlite3 /usr/lib/postgresql/15/bin/initdb; do
	command -v "$p" >/dev/null || { echo "missing $p (scripts/deps.sh test)" >&2; exit 1; }
done
builddir=${DNSWARD_BUILD:-$root/build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" "$root" -Dpostgresql=enabled >/dev/null
ninja -C "$builddir" src/gateway/dnsward-gateway >/dev/null
gateway=$builddir/src/gateway/dnsward-gateway
pgbin=/usr/lib/postgresql/15/bin

. "$root/scripts/knot-local.sh"
work=$(mktemp -d /tmp/dnsward-bench-scale.XXXXXX)
chmod 755 "$work"
pids=()
pg_up=""
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "$pg_up" ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups -- \
			"$pgbin/pg_ctl" -D "$work/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
	fi
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

# PostgreSQL 15: a private cluster, durable (fsync on), password over TCP.
mkdir -p "$work/pg/sock"
chown -R 65534:65534 "$work/pg"
pgport=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
asnobody() { (cd "$work/pg" && setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"); }
asnobody "$pgbin/initdb" -D "$work/pg/data" -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
	--auth-local=trust --auth-host=scram-sha-256 >/dev/null
cat >>"$work/pg/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pgport
unix_socket_directories = '$work/pg/sock'
max_connections = 200
shared_buffers = 256MB
CONF
asnobody "$pgbin/pg_ctl" -D "$work/pg/data" -l "$work/pg/log" -w start >/dev/null
pg_up=1
psql_su() { psql -X -q -h "$work/pg/sock" -p "$pgport" -U postgres "$@"; }
pgpass=$(openssl rand -hex 16)
psql_su -d postgres -c "CREATE ROLE dnsward LOGIN PASSWORD '$pgpass'" >/dev/null
printf '%s\n' "$pgpass" >"$work/pgpass"
chmod 600 "$work/pgpass"

conf() {   # conf NAME DATABASE-LINES
	cat >"$work/$1.conf" <<CONF
[gateway]
listen = 127.0.0.1:0
tls-cert = $work/gw.pem
tls-key = $work/gw.key
$2
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
}
psql_su -d postgres -c "CREATE DATABASE dnsward_small OWNER dnsward" \
	-c "CREATE DATABASE dnsward_big OWNER dnsward" >/dev/null
# Four stores: SQLite and PostgreSQL, with 1,000 hosts and with $big.
for size in small big; do
	conf "sq-$size" "database = $work/$size.db"
	conf "pg-$size" "database = postgresql://dnsward@127.0.0.1:$pgport/dnsward_$size
database-password-file = $work/pgpass"
	for b in sq pg; do
		(umask 077 && "$gateway" -c "$work/$b-$size.conf" host add "$host" --provider knot \
			>"$work/token.$b-$size")
	done
done

# More hosts (each a token hash, a lease, an applied A record), by SQL.
grow_sqlite() {   # grow_sqlite DB FROM TO [nolease: a schema from before leases]
	local leases="INSERT INTO leases (host_id) SELECT id FROM hosts WHERE true ON CONFLICT DO NOTHING;"
	[ "${4:-}" = nolease ] && leases=""
	sqlite3 "$1" <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT $2 UNION ALL SELECT i + 1 FROM n WHERE i < $3)
INSERT INTO hosts (fqdn, provider, acme, allow, expires, iid, created)
  SELECT printf('h%07d.bench.test', i), 'knot', 0, '', 0, '', 0 FROM n;
INSERT INTO tokens (id, host_id, hash, scope, created)
  SELECT printf('%016x', id + 4294967296), id, randomblob(32), 'host', 0 FROM hosts
  WHERE id > (SELECT coalesce(max(host_id), 0) FROM tokens);
$leases
INSERT INTO records (host_id, rtype, value, present, applied, seq, updated)
  SELECT h.id, 'A', '192.0.2.1', 1, 1, 1, 0 FROM hosts h
  WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.host_id = h.id);
COMMIT;
ANALYZE;
SQL
}
grow_pg() {   # grow_pg DATABASE FROM TO
	psql_su -d "$1" >/dev/null <<SQL
BEGIN;
INSERT INTO hosts (fqdn, provider, acme, allow, expires, iid, created)
  SELECT format('h%s.bench.test', lpad(i::text, 7, '0')), 'knot', 0, '', 0, '', 0
  FROM generate_series($2, $3) AS i;
INSERT INTO tokens (id, host_id, hash, scope, created)
  SELECT lpad(to_hex(id + 4294967296), 16, '0'), id,
         decode(md5(id::text) || md5((id + 1)::text), 'hex'), 'host', 0 FROM hosts
  WHERE id > (SELECT coalesce(max(host_id), 0) FROM tokens);
INSERT INTO leases (host_id) SELECT id FROM hosts ON CONFLICT DO NOTHING;
INSERT INTO records (host_id, rtype, value, present, applied, seq, updated)
  SELECT h.id, 'A', '192.0.2.1', 1, 1, 1, 0 FROM hosts h
  WHERE NOT EXISTS (SELECT 1 FROM records r WHERE r.host_id = h.id);
COMMIT;
VACUUM ANALYZE;
SQL
}
grow_sqlite "$work/small.db" 2 1000
grow_sqlite "$work/big.db" 2 "$big"
grow_pg dnsward_small 2 1000
grow_pg dnsward_big 2 "$big"

start_gw() {   # start_gw NAME CONF -> sets GW_URL, GW_PID
	"$gateway" -c "$2" serve >"$work/$1.out" 2>"$work/$1.log" &
	GW_PID=$!
	pids+=("$GW_PID")
	GW_URL=""
	for _ in $(seq 200); do
		GW_URL=$(sed -n 's/^listening on \(https:[^ ]*\).*/\1/p' "$work/$1.out" | head -n1)
		[ -n "$GW_URL" ] && return
		kill -0 "$GW_PID" 2>/dev/null || { cat "$work/$1.log" >&2; exit 1; }
		sleep 0.1   # polling with a deadline for the "listening on" line
	done
	echo "gateway $1 did not start" >&2
	exit 1
}
stop_gw() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
metric() {   # metric URL KEY
	curl -sS --cacert "$work/ca.pem" "$1/metrics" | awk -v k="$2" 'index($0, k) == 1 {print $2}'
}
nochg_count() { metric "$1" 'dnsward_gateway_requests_total{api="dyndns2",result="nochg"}'; }
rss() { awk '/^VmRSS|^VmHWM/ {printf "%s %d ", $1, $2}' "/proc/$1/status"; }
seqscans() {   # sequential scans of the tables a nochg reads (lockouts: see bench/README.md)
	psql_su -d "$1" -At -c "SELECT string_agg(relname || '=' || seq_scan, ',' ORDER BY relname)
	  FROM pg_stat_user_tables WHERE relname IN ('hosts', 'tokens', 'records', 'lockouts')"
}
export GW_USER=$host

# nochg at one gateway: prints "rate=R" (the gateway's count per second)
nochg_run() {   # nochg_run NAME URL TOKEN CONNS [OUT]
	local before after secs_run
	GW_TOKEN=$3
	export GW_TOKEN
	curl -sS --cacert "$work/ca.pem" -u "$host:$3" "$2/nic/update?hostname=$host&myip=192.0.2.10" \
		>/dev/null
	before=$(nochg_count "$2")
	GW_MODE=nochg GW_IP=192.0.2.10 wrk -t1 -c"$4" -d"${secs}s" --latency -s "$root/bench/gateway.lua" \
		"$2" >"$work/wrk-$1.txt"
	[ -n "${GW_KEEP:-}" ] && cp "$work/wrk-$1.txt" "$GW_KEEP/"
	after=$(nochg_count "$2")
	secs_run=$(sed -n 's/.* seconds=\([0-9.]*\) .*/\1/p' "$work/wrk-$1.txt")
	awk -v c="$((after - before))" -v s="$secs_run" 'BEGIN { printf "%.0f", c / s }'
}

echo "machine: $(nproc) cores, $(uname -r); PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'), Knot port $KNOT_PORT"
declare -A R

# 0. (GW_BASELINE=BINARY) what the shared lockout costs on the nochg path:
# the same SQLite store of 1,000 hosts served by a build from before it
# (lockouts in memory, token and host read by two queries) and by this one
# (token, host and the source's lockout in one query).
if [ -n "${GW_BASELINE:-}" ]; then
	echo "== nochg, SQLite, 1000 hosts: baseline build against this one"
	sed "s|database = $work/small.db|database = $work/base.db|" "$work/sq-small.conf" >"$work/base.conf"
	(umask 077 && "$GW_BASELINE" -c "$work/base.conf" host add "$host" --provider knot >"$work/token.base")
	grow_sqlite "$work/base.db" 2 1000 nolease
	cp "$work/base.db" "$work/cur.db"
	sed "s|database = $work/small.db|database = $work/cur.db|" "$work/sq-small.conf" >"$work/cur.conf"
	for round in 1 2; do
		gateway_saved=$gateway
		gateway=$GW_BASELINE
		start_gw base "$work/base.conf"
		rb=$(nochg_run "base$round" "$GW_URL" "$(cat "$work/token.base")" "$conns")
		stop_gw "$GW_PID"
		gateway=$gateway_saved
		start_gw cur "$work/cur.conf"   # the same store, migrated to schema 3
		rc=$(nochg_run "cur$round" "$GW_URL" "$(cat "$work/token.base")" "$conns")
		stop_gw "$GW_PID"
		echo "   round $round: baseline $rb/s, this build $rc/s, ratio $(awk -v a="$rb" -v b="$rc" 'BEGIN { printf "%.3f", b / a }')"
	done
fi
for size in small big; do
	echo "   $size: sqlite $(sqlite3 "$work/$size.db" "SELECT count(*) FROM hosts") hosts, $(du -h "$work/$size.db" | cut -f1); postgresql $(psql_su -d "dnsward_$size" -At -c "SELECT count(*) FROM hosts") hosts, $(psql_su -d postgres -At -c "SELECT pg_size_pretty(pg_database_size('dnsward_$size'))")"
done
# 1. Alternating, three rounds: 1,000 hosts, then $big, each backend.
for round in 1 2 3; do
	echo "== nochg, round $round"
	for b in sq pg; do
		for size in small big; do
			start_gw "$b-$size" "$work/$b-$size.conf"
			[ "$b" = pg ] && s0=$(seqscans "dnsward_$size")
			r=$(nochg_run "$b-$size-$round" "$GW_URL" "$(cat "$work/token.$b-$size")" "$conns")
			[ "$b" = pg ] && s1=$(seqscans "dnsward_$size")
			R[$b-$size-$round]=$r
			echo "   $b $size nochg/s: $r   $(grep -o 'p50_ms=[0-9.]* p99_ms=[0-9.]*' "$work/wrk-$b-$size-$round.txt")   $(rss "$GW_PID")$( [ "$b" = pg ] && echo "  seq scans: $s0 -> $s1")"
			stop_gw "$GW_PID"
		done
	done
done

# 2. Two instances on PostgreSQL against one on SQLite ($big hosts), twice.
for round in 1 2; do
	echo "== two instances on PostgreSQL against one on SQLite ($big hosts), round $round"
	start_gw sq-big "$work/sq-big.conf"
	R[sq1-$round]=$(nochg_run "sq1-$round" "$GW_URL" "$(cat "$work/token.sq-big")" "$conns")
	stop_gw "$GW_PID"
	start_gw pgA "$work/pg-big.conf"; urlA=$GW_URL; pidA=$GW_PID
	start_gw pgB "$work/pg-big.conf"; urlB=$GW_URL; pidB=$GW_PID
	tok=$(cat "$work/token.pg-big")
	nochg_run "pgA-$round" "$urlA" "$tok" "$((conns / 2))" >"$work/rateA" &
	wa=$!
	nochg_run "pgB-$round" "$urlB" "$tok" "$((conns / 2))" >"$work/rateB" &
	wb=$!
	wait "$wa" "$wb"
	R[pg2-$round]=$(( $(cat "$work/rateA") + $(cat "$work/rateB") ))
	echo "   one SQLite instance nochg/s: ${R[sq1-$round]}; two PostgreSQL instances: $(cat "$work/rateA") + $(cat "$work/rateB") = ${R[pg2-$round]}"
	stop_gw "$pidA"
	stop_gw "$pidB"
done

echo "== updates into Knot, one at a time"
upd_run() {   # upd_run NAME CONF TOKEN -> RESULT line
	start_gw "$1" "$2"
	local n0 f0 n1 f1
	n0=$(metric "$GW_URL" 'dnsward_gateway_upstream_seconds_count')
	f0=$(metric "$GW_URL" 'dnsward_gateway_upstream_seconds_bucket{le="0.5"}')
	GW_TOKEN=$3 GW_MODE=update wrk -t1 -c1 -d"${secs}s" -s "$root/bench/gateway.lua" "$GW_URL" \
		>"$work/wrk-upd-$1.txt"
	n1=$(metric "$GW_URL" 'dnsward_gateway_upstream_seconds_count')
	f1=$(metric "$GW_URL" 'dnsward_gateway_upstream_seconds_bucket{le="0.5"}')
	stop_gw "$GW_PID"
	echo "$(grep '^RESULT' "$work/wrk-upd-$1.txt") stalls=$(( (n1 - n0) - (f1 - f0) ))"
}
us=$(upd_run upd-sqlite "$work/sq-small.conf" "$(cat "$work/token.sq-small")")
up=$(upd_run upd-pg "$work/pg-small.conf" "$(cat "$work/token.pg-small")")
echo "   sqlite: $us"
echo "   pg:     $up"
if [ -n "${GW_BASELINE:-}" ]; then
	gateway_saved=$gateway
	gateway=$GW_BASELINE
	ub=$(upd_run upd-base "$work/base.conf" "$(cat "$work/token.base")")
	gateway=$gateway_saved
	echo "   sqlite, baseline build: $ub"
fi
n=$(sed -n 's/.* requests=\([0-9]*\) .*/\1/p' <<<"$us")
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
direct=$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')
echo "   direct knsupdate: $n updates, $direct/s"

rps() { sed -n 's/.* rps=\([0-9.]*\) .*/\1/p' <<<"$1"; }
# Time per update without Knot's one-second stalls (bench/README.md): each
# upstream call of 0.5 s or more is taken as 0.99 s of the run.
clean_ms() {
	awk -v l="$1" 'BEGIN { split(l, f, " "); for (i in f) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
		printf "%.2f", 1000 * (v["seconds"] - 0.99 * v["stalls"]) / v["requests"] }'
}
echo "== ratios (median of the rounds)"
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for b in sq pg; do
	ratios=()
	for round in 1 2 3; do
		ratios+=("$(awk -v a="${R[$b-small-$round]}" -v c="${R[$b-big-$round]}" 'BEGIN { printf "%.3f", c / a }')")
	done
	echo "nochg with $big hosts / with 1000, $b: ${ratios[*]} -> median $(median "${ratios[@]}") (target >= 0.90)"
done
ratios=()
for round in 1 2; do
	ratios+=("$(awk -v a="${R[sq1-$round]}" -v b="${R[pg2-$round]}" 'BEGIN { printf "%.3f", b / a }')")
done
echo "nochg, two PostgreSQL instances / one SQLite instance: ${ratios[*]}"
awk -v s="$(rps "$us")" -v p="$(rps "$up")" -v d="$direct" 'BEGIN {
	printf "updates/s: sqlite %.1f, postgresql %.1f, direct %.1f; time per update against direct: sqlite %.2fx, postgresql %.2fx; postgresql against sqlite %.2fx\n", s, p, d, d / s, d / p, s / p }'
awk -v s="$(clean_ms "$us")" -v p="$(clean_ms "$up")" -v d="$direct" -v b="${ub:+$(clean_ms "$ub")}" 'BEGIN {
	dm = 1000 / d
	printf "ms per update without Knot stalls: sqlite %.2f, postgresql %.2f, direct %.2f (sqlite %.2fx, postgresql %.2fx the direct path)", s, p, dm, s / dm, p / dm
	if (b != "") printf "; baseline build on sqlite %.2f (%.2fx)", b, b / dm
	printf "\n" }'
