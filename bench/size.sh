#!/bin/bash
# Size of the updater alone: dnsward from a client-only build
# (-Dgateway=disabled: no libmicrohttpd, no SQLite), stripped, and the
# shared objects the dynamic loader maps for it (ldd, without the vDSO),
# next to Debian's inadyn measured the same way in the same run.  Also the
# full build's dnsward, to show what the gateway option changes, and the
# publisher dnsward starts for each publish (it maps the network libraries).
#
#   bench/size.sh [BUILDTYPE]   (default release; meson's debugoptimized
#                                adds nothing after strip but -O2 vs -O3)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
buildtype=${1:-release}
work=$(mktemp -d /tmp/dnsward-size.XXXXXX)
trap 'rm -rf "$work"' EXIT

build() { # DIR OPTIONS...
	local dir=$1
	shift
	meson setup "$dir" "$root" --buildtype="$buildtype" -Dtests=disabled "$@" >"$work/setup.log" 2>&1 ||
		{ cat "$work/setup.log" >&2; exit 1; }
	ninja -C "$dir" src/dnsward/dnsward src/publisher/dnsward-publisher >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
}
measure() { # NAME BINARY
	strip -o "$work/stripped" "$2"
	local size objs
	size=$(stat -c %s "$work/stripped")
	objs=$(ldd "$2" | grep -vc 'linux-vdso')
	printf '%s %s %s\n' "$1" "$size" "$objs"
}

build "$work/client" -Dgateway=disabled
build "$work/full"
inadyn=$(readlink -f "$(command -v inadyn)")
{
	measure inadyn "$inadyn"
	measure dnsward-client "$work/client/src/dnsward/dnsward"
	measure dnsward-full "$work/full/src/dnsward/dnsward"
	measure dnsward-publisher "$work/client/src/publisher/dnsward-publisher"
} >"$work/sizes"
ldd "$work/client/src/dnsward/dnsward" | grep -q -e libmicrohttpd -e libsqlite3 &&
	{ echo "size.sh: the client-only dnsward links libmicrohttpd or SQLite" >&2; exit 1; }
printf '| binary | stripped bytes | kB | ratio to inadyn | shared objects | ratio |\n|---|---|---|---|---|---|\n'
awk 'NR == 1 {bs = $2; bo = $3}
     {printf "| %s | %d | %.0f | %.2f | %d | %.2f |\n", $1, $2, $2 / 1000, $2 / bs, $3, $3 / bo}' "$work/sizes"
echo
echo "dnsward-client's shared objects:"
ldd "$work/client/src/dnsward/dnsward" | awk '{print "  " $1}'
