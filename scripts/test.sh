#!/bin/bash
# Builds dnsward and runs the whole test suite: unit tests (cmocka), fuzz
# corpus replays and integration tests (pytest) against real Knot DNS,
# HTTPS emulators and kernel addresses in network namespaces.
#
#   scripts/test.sh              normal build (warnings are errors)
#   scripts/test.sh --sanitize   the same under AddressSanitizer + UBSan
#
# Needs root (network namespaces, unprivileged servers via setpriv); re-runs
# itself with sudo otherwise.  Installs missing Debian packages first.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi

builddir=$root/build
# The gateway's PostgreSQL backend is built and tested, never left out.
meson_opts=(-Dwerror=true -Dtests=enabled -Dpostgresql=enabled)
label=plain
case "${1:-}" in
"") ;;
--sanitize)
	builddir=$root/build-sanitize
	meson_opts+=(-Dsanitize=true -Db_lundef=false)
	label=sanitize
	# Distinct exit codes: 1 is dnsward's own "retry" status.
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:exitcode=86
	export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
	# Tests that cannot run under the sanitizers (valgrind) skip themselves.
	export DNSWARD_SANITIZE=1
	;;
*) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac

"$root/scripts/deps.sh" test

# meson's report is long: shown only when it fails.
meson_setup() {
	local log rc=0
	log=$(mktemp)
	meson setup "$@" "$builddir" "$root" "${meson_opts[@]}" >"$log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$log" >&2; echo "test.sh: meson setup $* failed (output above)" >&2; }
	rm -f "$log"
	return "$rc"
}
if [ ! -f "$builddir/build.ninja" ]; then
	meson_setup
else
	# A build directory set up by the demo (no --werror; no unit tests
	# without cmocka) or before "tests" became a feature gets the suite's
	# options (--reconfigure also converts an option whose type changed);
	# unchanged options rebuild nothing.
	meson_setup --reconfigure
fi
ninja -C "$builddir"

echo "== unit tests and fuzz corpus replays ($label)"
set +e
meson test -C "$builddir" --print-errorlogs --num-processes 2 >"$builddir/meson-test.out" 2>&1
set -e
grep -E '^ *[0-9]+/[0-9]+ ' "$builddir/meson-test.out" || true
read -r unit_pass unit_fail < <(/usr/bin/python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif r != "SKIP":
        bad += 1
print(ok, bad)
PY
)
if [ "$unit_fail" -ne 0 ]; then
	sed -n '/^Summary of Failures/,$p' "$builddir/meson-test.out"
fi

echo "== integration tests ($label)"
junit=$builddir/pytest.xml
set +e
# Two workers, one test file each at a time (module fixtures stay whole):
# every test takes its own ports, directories and namespaces, and most of
# the time goes to waiting on servers, so two run side by side on two cores
# (21 min -> 11.5 min on a loaded 2-core machine).  DNSWARD_TEST_JOBS=1
# runs them one after another.
DNSWARD_BUILD=$builddir /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	-n "${DNSWARD_TEST_JOBS:-2}" --dist loadfile \
	--junitxml="$junit" "$root/tests/integration"
py_rc=$?
set -e
read -r it_pass it_fail it_skip < <(/usr/bin/python3 - "$junit" "$py_rc" <<'PY'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
    suites = [root] if root.tag == "testsuite" else list(root)
    t = sum(int(s.get("tests", 0)) for s in suites)
    f = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    k = sum(int(s.get("skipped", 0)) for s in suites)
    print(t - f - k, f, k)
except Exception:
    print(0, 1, 0)   # pytest did not even report: count it as a failure
PY
)
if [ "$py_rc" -ne 0 ] && [ "$it_fail" -eq 0 ]; then
	it_fail=1   # collection or internal error
fi

passed=$((unit_pass + it_pass))
failed=$((unit_fail + it_fail))
echo "== $label: unit/replay $unit_pass passed, $unit_fail failed; integration $it_pass passed, $it_fail failed, $it_skip skipped"
echo "$passed passed, $failed failed, $it_skip skipped"
[ "$failed" -eq 0 ]
