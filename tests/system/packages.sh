#!/bin/bash
# The Debian packages, as an administrator meets them (issue: install like
# any Debian daemon):
#   1. built with "dpkg-buildpackage -us -uc -b" from a copy of this checkout
#      in a fresh root holding only debian/control's Build-Depends (layer
#      "debbuild" of scripts/fresh-root.sh), unit tests included; lintian
#      must report no error and no warning;
#   2. installed with apt into a fresh minbase root (layer "base"), where
#      packages-in-root.sh checks users, state directories, units (present,
#      disabled, conditional on a configuration), "dnsward check" and
#      "dnsward-gateway check" on the example configurations, then removes
#      and purges them and compares the whole file system, users and groups
#      with the state before the install.
# Prints each stage's time; ends with "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fresh=$root/scripts/fresh-root.sh
out=$(mktemp -d "${TMPDIR:-/var/tmp}/dnsward-debs.XXXXXX")
trap 'rm -rf "$out"' EXIT

# Every development package the build needs (scripts/deps.sh build) must be
# a Build-Depends too, or the package build fails far from the cause.
missing=""
for p in $("$root/scripts/deps.sh" --list build); do
	case "$p" in libc6-dev) continue ;; *-dev) ;; *) continue ;; esac   # libc6-dev: build-essential
	grep -Eq "^[[:space:]]*(Build-Depends:)?[[:space:]]*$p([[:space:]]|,|\$|\[|<|\()" "$root/debian/control" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "FAIL debian/control: Build-Depends lacks$missing (scripts/deps.sh build installs it)"
	echo "packages: 0 passed, 1 failed"
	exit 1
fi

t0=$(date +%s)
"$fresh" build debbuild >/dev/null || exit 1
"$fresh" build base >/dev/null || exit 1
t1=$(date +%s)

echo "== dpkg-buildpackage -us -uc -b, in a root with only the build dependencies"
if ! "$fresh" run debbuild --tree --bind "$out:/out" -- /bin/sh -c '
	dpkg-buildpackage -us -uc -b >/out/build.log 2>&1 || { cat /out/build.log; exit 1; }
	grep -E "^(Ok|Fail|Skipped): " /out/build.log
	cp ../*.deb ../*.changes ../*.buildinfo /out/' ; then
	echo "packages: building failed"
	echo "0 passed, 1 failed"
	exit 1
fi
t2=$(date +%s)

echo "== lintian (default level: errors and warnings fail)"
lintian_ok=0
"$fresh" run debbuild --bind "$out:/out" -- \
	/bin/sh -c "lintian --fail-on error,warning /out/dnsward_*.changes" && lintian_ok=1
t3=$(date +%s)

echo "== install, check, remove, purge in a fresh minbase root"
"$fresh" run base --bind "$out:/out" --bind "$root/tests/system:/t" -- /bin/bash /t/packages-in-root.sh
t4=$(date +%s)

read -r passed failed <"$out/result" 2>/dev/null || { passed=0; failed=1; }
passed=$((passed + 1))   # the build
if [ "$lintian_ok" -eq 1 ]; then
	passed=$((passed + 1))
else
	echo "FAIL lintian: errors or warnings (above)"
	failed=$((failed + 1))
fi
echo "times: roots ready $((t1 - t0)) s, build $((t2 - t1)) s, lintian $((t3 - t2)) s, install/purge $((t4 - t3)) s"
echo "packages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
