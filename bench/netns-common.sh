# Sourced by bench/reaction.sh, idle.sh and memory.sh: root, tools, the
# dnsward binary, and a network namespace removed on exit.
#
# After sourcing: $root, $dnsward (and $DNSWARD_PUBLISHER), $work, $ns, and
# bench_py MODE ARGS...
# which runs bench/daemons.py inside the namespace and prints its JSON.
# The namespace holds a veth pair dw0 <-> dw1 (both up) and lo; no address
# outside it changes and no traffic leaves it.  On exit (normal, error or
# signal) every process still in the namespace is killed (TERM, then KILL),
# the namespace is deleted and the scratch directory removed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi

missing=()
for pkg in inadyn ddclient libio-socket-ssl-perl hyperfine strace iproute2; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done
/usr/bin/python3 -c 'import cryptography' 2>/dev/null || missing+=(python3-cryptography)
/usr/bin/python3 -c 'import pytest' 2>/dev/null || missing+=(python3-pytest)
if [ "${#missing[@]}" -gt 0 ]; then
	# ddclient's postinst asks questions and starts its own service: neither here
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	for unit in ddclient inadyn; do
		systemctl disable --now "$unit" >/dev/null 2>&1 || true
	done
fi

if [ -n "${DNSWARD:-}" ]; then
	dnsward=$DNSWARD   # its publisher: the installed one, or $DNSWARD_PUBLISHER
else
	build=${DNSWARD_BUILD:-$root/build}
	[ -f "$build/build.ninja" ] || meson setup "$build" "$root" >/dev/null
	ninja -C "$build" src/dnsward/dnsward src/publisher/dnsward-publisher >/dev/null
	dnsward=$build/src/dnsward/dnsward
	export DNSWARD_PUBLISHER=$build/src/publisher/dnsward-publisher
fi

work=$(mktemp -d /tmp/dnsward-bench-daemons.XXXXXX)
chmod 755 "$work"
ns=dwbench$$
ns_cleanup() {
	local rc=$? pids
	trap - EXIT INT TERM
	if ip netns list 2>/dev/null | grep -qw "$ns"; then
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		if [ -n "$pids" ]; then
			kill -TERM $pids 2>/dev/null || true
			for _ in $(seq 50); do
				pids=$(ip netns pids "$ns" 2>/dev/null || true)
				[ -z "$pids" ] && break
				sleep 0.1
			done
			[ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
		fi
		ip netns del "$ns" 2>/dev/null || true
	fi
	rm -rf "$work"
	exit "$rc"
}
trap ns_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$ns"
ip -n "$ns" link add dw0 type veth peer name dw1
for dev in dw0 dw1; do
	ip netns exec "$ns" sysctl -q -w "net.ipv6.conf.$dev.accept_ra=0"
done
for dev in lo dw0 dw1; do
	ip -n "$ns" link set "$dev" up
done

bench_py() {   # bench_py MODE [ARGS...]: JSON on stdout
	local mode=$1
	shift
	ip netns exec "$ns" /usr/bin/python3 "$root/bench/daemons.py" "$mode" \
		--dnsward "$dnsward" --work "$work" --out "$work/$mode.json" "$@" >&2
	cat "$work/$mode.json"
}
