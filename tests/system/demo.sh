#!/bin/bash
# The README's first command on a machine with only the build packages:
# "./scripts/demo.sh" in a fresh Debian root holding exactly what
# "scripts/deps.sh build" installs (scripts/fresh-root.sh, layer "build"),
# from a copy of this checkout as a clone would have it.  Passes when the
# demo exits 0 and kdig showed the record it published through the gateway.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT

t0=$(date +%s)
"$root/scripts/fresh-root.sh" build build >/dev/null || exit 1
t1=$(date +%s)
"$root/scripts/fresh-root.sh" run build --tree -- ./scripts/demo.sh >"$out" 2>&1
rc=$?
t2=$(date +%s)

fail=0
if [ "$rc" -ne 0 ]; then
	echo "demo in a fresh root: exit $rc" >&2
	fail=1
fi
# kdig's answer section: "host.demo.test. 300 IN A ..." (or AAAA).
if ! grep -Eq '^host\.demo\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+(A|AAAA)[[:space:]]' "$out"; then
	echo "demo in a fresh root: kdig showed no published address for host.demo.test" >&2
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "---- demo output" >&2
	cat "$out" >&2
	echo "demo-fresh-root: 0 passed, 1 failed"
	exit 1
fi
grep -E '^(== |host\.demo\.test\.)' "$out"
echo "fresh root ready in $((t1 - t0)) s, demo ran in $((t2 - t1)) s"
echo "demo-fresh-root: 1 passed, 0 failed"
