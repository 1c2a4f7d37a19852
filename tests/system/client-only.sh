#!/bin/bash
# The client-only build on a machine without the gateway's libraries: in a
# throw-away copy of the fresh "build" root (scripts/fresh-root.sh), the
# libmicrohttpd and SQLite development packages are purged, then
# "meson setup -Dgateway=disabled" and ninja must build dnsward, build no
# dnsward-gateway, and leave both libraries out of dnsward's dependencies.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/scripts/fresh-root.sh" build build >/dev/null || exit 1
"$root/scripts/fresh-root.sh" run build --tree -- /bin/sh -c '
	set -e
	DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq libmicrohttpd-dev libsqlite3-dev >/tmp/purge.log 2>&1 ||
		{ cat /tmp/purge.log; exit 1; }
	if meson setup /tmp/b -Dgateway=disabled >/tmp/setup.log 2>&1 && ninja -C /tmp/b >/tmp/build.log 2>&1; then :; else
		cat /tmp/setup.log /tmp/build.log 2>/dev/null; exit 1
	fi
	fail=0
	test -x /tmp/b/src/dnsward/dnsward || { echo "FAIL no dnsward built"; fail=1; }
	test ! -e /tmp/b/src/gateway/dnsward-gateway || { echo "FAIL dnsward-gateway built"; fail=1; }
	if ldd /tmp/b/src/dnsward/dnsward | grep -e libmicrohttpd -e libsqlite3; then
		echo "FAIL dnsward links the gateway libraries"; fail=1
	fi
	/tmp/b/src/dnsward/dnsward version
	exit $fail'
rc=$?
if [ "$rc" -eq 0 ]; then
	echo "client-only: 1 passed, 0 failed"
else
	echo "client-only: 0 passed, 1 failed"
fi
exit "$rc"
