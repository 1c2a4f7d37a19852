#!/bin/bash
# dnsward-gateway under attack, measured (the behaviour itself is asserted
# by tests/integration/test_gateway_attacks.py): timing of foreign vs.
# missing names with a valid token, a normal client's latency beside 1,000
# slow connections, and beside updates waiting on a silent provider.  Each
# line is a ratio against a baseline taken in the same run.
#
#   bench/attacks.sh            (BENCH_N=200 requests per enumeration class)
#
# Needs root (network namespaces, Knot as nobody).  DNSWARD_BUILD picks the
# meson build directory (default build/).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
builddir=${DNSWARD_BUILD:-$root/build}
[ -f "$builddir/build.ninja" ] || meson setup "$builddir" "$root" >/dev/null
ninja -C "$builddir" >/dev/null
cd "$root/tests/integration"
DNSWARD_BUILD=$builddir /usr/bin/python3 -m pytest -q -s -p no:cacheprovider bench_attacks.py |
	grep '^BENCH'
