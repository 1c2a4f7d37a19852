# Sourced by scripts that need a throw-away Knot DNS server on loopback
# (demo, benchmarks).  Tests have their own fixture in Python.
#
#   knot_start DIR ZONE NAME   starts knotd as nobody on a free port of
#                              127.0.0.1, authoritative for ZONE, with a TSIG
#                              key (DIR/host.key, keymgr format, mode 0600)
#                              allowed to update only NAME's A/AAAA RRsets.
#                              Sets KNOT_PORT and KNOT_PID.
#                              KNOT_UPDATE_TYPES (default "A, AAAA") widens
#                              the RR types NAME's key may update.
#   knot_stop                  stops it (call from an EXIT trap).

KNOT_PID=""
KNOT_PORT=""

knot_stop() {
	if [ -n "$KNOT_PID" ]; then
		kill "$KNOT_PID" 2>/dev/null || true
		wait "$KNOT_PID" 2>/dev/null || true
		KNOT_PID=""
	fi
}

knot_start() {
	local dir=$1 zone=$2 name=$3
	chmod 755 "$dir"   # knotd runs as nobody and must read its configuration
	KNOT_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	keymgr -t host-key hmac-sha256 >"$dir/host.key"
	chmod 600 "$dir/host.key"
	local secret
	secret=$(awk '/secret:/ {print $2}' "$dir/host.key")
	mkdir -p "$dir/zones" "$dir/db" "$dir/run"
	cat >"$dir/zones/$zone.zone" <<ZONE
\$ORIGIN $zone.
\$TTL 300
@   SOA ns.$zone. hostmaster.$zone. 1 3600 600 86400 60
@   NS  ns.$zone.
ns  A   127.0.0.1
ZONE
	cat >"$dir/knot.conf" <<CONF
server:
    rundir: $dir/run
    listen: 127.0.0.1@$KNOT_PORT
database:
    storage: $dir/db
log:
  - target: stderr
    any: warning
key:
  - id: host-key
    algorithm: hmac-sha256
    secret: $secret
acl:
  - id: host-only
    key: host-key
    action: update
    update-type: [${KNOT_UPDATE_TYPES:-A, AAAA}]
    update-owner: name
    update-owner-match: equal
    update-owner-name: [$name.]
template:
  - id: default
    storage: $dir/zones
    zonefile-sync: -1
    zonefile-load: difference
    journal-content: all
zone:
  - domain: $zone
    file: $zone.zone
    acl: host-only
CONF
	chown -R 65534:65534 "$dir/zones" "$dir/db" "$dir/run"
	knotc -c "$dir/knot.conf" conf-check >/dev/null
	setpriv --reuid=65534 --regid=65534 --clear-groups knotd -c "$dir/knot.conf" 2>"$dir/knot.log" &
	KNOT_PID=$!
	local i
	for i in $(seq 100); do
		if kdig +time=1 +retry=0 @127.0.0.1 -p "$KNOT_PORT" "$zone" SOA +short 2>/dev/null | grep -q hostmaster; then
			return 0
		fi
		if ! kill -0 "$KNOT_PID" 2>/dev/null; then
			cat "$dir/knot.log" >&2
			return 1
		fi
		sleep 0.1   # polling with a deadline: knotd has no readiness signal here
	done
	echo "knotd did not answer within 10 s" >&2
	return 1
}
