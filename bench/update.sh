#!/bin/bash
# One-shot update cost: "dnsward update" publishing an A record over RFC 2136
# to a local Knot DNS, against the baseline of the same signed UPDATE sent by
# Knot's own knsupdate, in the same run.  Also the no-change path (state
# says published: no packet) and peak memory.  Results are ratios to the
# baseline because these machines are noisy.
#
#   bench/update.sh [RUNS]      (default 200)
# Needs root (starts knotd as nobody); installs hyperfine if missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-200}
if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi
"$root/scripts/deps.sh" build
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null; }
[ -f "$root/build/build.ninja" ] || meson setup "$root/build" "$root" >/dev/null
ninja -C "$root/build" src/dnsward/dnsward src/publisher/dnsward-publisher >/dev/null
dnsward=$root/build/src/dnsward/dnsward
export DNSWARD_PUBLISHER=$root/build/src/publisher/dnsward-publisher

. "$root/scripts/knot-local.sh"
work=$(mktemp -d /tmp/dnsward-bench.XXXXXX)
trap 'knot_stop; rm -rf "$work"' EXIT
knot_start "$work" bench.test host.bench.test

secret=$(awk '/secret:/ {print $2}' "$work/host.key")
printf 'hmac-sha256:host-key:%s\n' "$secret" >"$work/knsupdate.key"
chmod 600 "$work/knsupdate.key"
cat >"$work/knsupdate.txt" <<EOT
server 127.0.0.1 $KNOT_PORT
zone bench.test.
update delete host.bench.test. A
update add host.bench.test. 60 A 81.2.69.160
send
EOT
mkdir -m 700 "$work/state"
cat >"$work/dnsward.conf" <<EOT
[dnsward]
state-dir = $work/state
[provider knot]
type = rfc2136
server = 127.0.0.1
port = $KNOT_PORT
key-file = $work/host.key
zone = bench.test
[record host.bench.test]
provider = knot
ipv4 = static:81.2.69.160
ttl = 60
EOT
"$dnsward" -c "$work/dnsward.conf" update >/dev/null   # state now says published

hyperfine --warmup 10 --runs "$runs" -N --export-json "$work/h.json" \
	-n knsupdate "knsupdate -k $work/knsupdate.key $work/knsupdate.txt" \
	-n "dnsward update --force" "$dnsward -q -c $work/dnsward.conf update --force" \
	-n "dnsward update (unchanged)" "$dnsward -q -c $work/dnsward.conf update" >/dev/null

rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
rss_kns=$(rss knsupdate -k "$work/knsupdate.key" "$work/knsupdate.txt")
rss_dw=$(rss "$dnsward" -q -c "$work/dnsward.conf" update --force)

/usr/bin/python3 - "$work/h.json" "$rss_kns" "$rss_dw" "$runs" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
base = res["knsupdate"]
rss_kns, rss_dw = int(sys.argv[2]), int(sys.argv[3])
print(f"one signed UPDATE to a local Knot DNS, {sys.argv[4]} runs each\n")
print("| command | mean ms | median ms | ratio to knsupdate (mean) |")
print("|---|---|---|---|")
for name, r in res.items():
    print(f"| {name} | {r['mean']*1000:.2f} | {r['median']*1000:.2f} | {r['mean']/base['mean']:.2f} |")
print()
print("| peak RSS | KiB | ratio to knsupdate |")
print("|---|---|---|")
print(f"| knsupdate | {rss_kns} | 1.00 |")
print(f"| dnsward update --force | {rss_dw} | {rss_dw/rss_kns:.2f} |")
PY
