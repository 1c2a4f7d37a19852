#!/bin/sh
# Installs the Debian 12 packages dnsward needs, only those missing.
#   scripts/deps.sh build   - to build and run dnsward (and the demo)
#   scripts/deps.sh test    - also everything the test suite starts
#   scripts/deps.sh --list build|test   - print the list, install nothing
set -eu

build_pkgs="meson ninja-build pkg-config gcc libc6-dev
  libcurl4-openssl-dev libjansson-dev libldns-dev libmnl-dev libinih-dev
  libmicrohttpd-dev libgnutls28-dev libsqlite3-dev libpq-dev
  libsodium-dev libssl-dev libseccomp-dev ca-certificates iproute2 knot knot-dnsutils
  openssl python3"
test_pkgs="$build_pkgs libcmocka-dev python3 python3-pytest python3-pytest-xdist python3-cryptography openssl
  curl clang libclang-rt-14-dev procps pebble lego certbot dehydrated ddclient
  libio-socket-ssl-perl inadyn wrk valgrind e2fsprogs mount util-linux
  bind9 bind9-utils pdns-server pdns-backend-sqlite3 sqlite3 debootstrap
  postgresql-15 python3-psycopg2"

list=false
if [ "${1:-}" = "--list" ]; then
	list=true
	shift
fi
case "${1:-build}" in
build) want=$build_pkgs ;;
test) want=$test_pkgs ;;
*) echo "usage: $0 [--list] build|test" >&2; exit 2 ;;
esac
if $list; then
	echo $want
	exit 0
fi

missing=""
for p in $want; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Wait for another apt or dpkg run to finish rather than fail.  apt's
# output is kept quiet but shown in full when it fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086
if ! { apt-get -o DPkg::Lock::Timeout=600 update -qq &&
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "deps.sh: installing$missing failed" >&2
	exit 1
fi
# The knot package may start a system knotd; dnsward's demo and tests run
# their own on high ports and need nothing from it.  BIND, PowerDNS and
# PostgreSQL are installed for the tests alone, which start their own instances: a system
# named or pdns_server that the packages just enabled and started (port 53
# on every address), or the cluster postgresql-15 makes and starts, is
# stopped and disabled again.  Servers that were
# installed before are left as they are.
if [ -d /run/systemd/system ]; then
	for unit in bind9:named pdns-server:pdns postgresql-15:postgresql; do
		case " $missing " in
		*" ${unit%%:*} "*) systemctl disable --now "${unit#*:}.service" >/dev/null 2>&1 || true ;;
		esac
	done
fi
