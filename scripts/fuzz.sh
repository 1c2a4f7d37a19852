#!/bin/bash
# Runs every libFuzzer target for a bounded time under ASan + UBSan.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 30)
# Seeds come from tests/fuzz/corpus/NAME (never modified); new inputs go to
# build-fuzz/corpus/NAME, crashes to build-fuzz/artifacts/.  A crash fails
# the run: copy the input into tests/fuzz/corpus/NAME so every later test run
# replays it.  Prints the executions each target survived.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-30}
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
"$root/scripts/deps.sh" test

b=$root/build-fuzz
# Set-up and build print nothing unless they fail.
quiet() {
	local log rc=0
	log=$(mktemp)
	"$@" >"$log" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$log" >&2; echo "fuzz.sh: '$*' failed (output above)" >&2; }
	rm -f "$log"
	return "$rc"
}
if [ ! -f "$b/build.ninja" ]; then
	quiet env CC=clang meson setup "$b" "$root" -Dfuzzing=true -Dsanitize=true -Db_lundef=false \
		--werror
fi
quiet ninja -C "$b"
mkdir -p "$b/artifacts"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for src in "$root"/tests/fuzz/fuzz_*.c; do
	name=${src##*/fuzz_}
	name=${name%.c}
	exe=$b/tests/fuzz/fuzz_$name
	mkdir -p "$b/corpus/$name"
	log=$b/fuzz-$name.log
	if "$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
		-artifact_prefix="$b/artifacts/$name-" "$b/corpus/$name" \
		"$root/tests/fuzz/corpus/$name" >"$log" 2>&1; then
		runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' || echo '?')
		printf 'fuzz %-10s ok   %s executions in %ss\n' "$name" "$runs" "$secs"
	else
		printf 'fuzz %-10s FAILED (see %s)\n' "$name" "$log"
		grep -E 'ERROR|SUMMARY|artifact' "$log" | head -5 || true
		status=1
	fi
done
exit $status
