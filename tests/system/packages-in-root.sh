#!/bin/bash
# Runs inside a throw-away fresh minbase root (tests/system/packages.sh):
# the built packages are in /out.  Installs them as an administrator would
# (apt, from the files), checks what they set up, configures from the
# examples, runs both programs' "check", then removes and purges them and
# checks that nothing they made is left.  Writes "PASSED FAILED" to
# /out/result.
set -uo pipefail
export DEBIAN_FRONTEND=noninteractive
passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*"; failed=$((failed + 1)); }
check() { # check "what" COMMAND...: passes when COMMAND exits 0
	local what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
	echo "$passed $failed" >/out/result
	echo "packages-in-root: $passed passed, $failed failed"
	exit $((failed != 0))
}

debs=(/out/dnsward_*.deb /out/dnsward-gateway_*.deb)
for d in "${debs[@]}"; do
	[ -f "$d" ] || { bad "package file $d"; finish; }
done

# What the packages need from the archive is installed first, so that the
# snapshot below holds the dependencies and the comparison after the purge
# sees only what the packages themselves did.
deps=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Depends; done | paste -sd, -)
if ! apt-get -o DPkg::Lock::Timeout=600 satisfy -y -qq --no-install-recommends "$deps" >/tmp/deps.log 2>&1; then
	cat /tmp/deps.log
	bad "installing the dependencies: $deps"
	finish
fi

snapshot() { # every path on the root file system with type, mode and owner; users and groups
	# Left out: apt's and dpkg's own records and logs, and the backups and
	# lock file the shadow tools leave beside /etc/passwd when any account
	# changes (their contents are compared below).
	find / -xdev \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache/apt \
		-o -path /var/cache/debconf -o -path /var/log -o -path /etc/.pwd.lock \
		-o -path /etc/passwd- -o -path /etc/group- -o -path /etc/shadow- -o -path /etc/gshadow- \
		-o -path /etc/subuid- -o -path /etc/subgid- \) -prune -o \
		-printf '%p %y %m %u:%g\n' | sort
	cat /etc/passwd /etc/group /etc/shadow /etc/gshadow
}
snapshot >/tmp/before

echo "== apt-get install ./dnsward_*.deb ./dnsward-gateway_*.deb"
if apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${debs[@]}" >/tmp/install.log 2>&1; then
	ok "install both packages"
else
	cat /tmp/install.log
	bad "install both packages"
	finish
fi
# Nothing of ours may have been started: no systemd runs here, so look for
# the programs themselves and for a maintainer script that tried a start.
check "no dnsward process runs after the install" \
	sh -c '! grep -lsx -e dnsward -e dnsward-gateway /proc/[0-9]*/comm'
check "install log: no service start attempted" sh -c '! grep -Ei "(starting|start job).*dnsward" /tmp/install.log'

for u in dnsward dnsward-gateway; do
	check "system user $u (no login shell, no home)" sh -c \
		"getent passwd $u | awk -F: '\$3 < 1000 && \$7 ~ /nologin\$/ && \$6 == \"/\" {f=1} END {exit !f}'"
	check "group $u" sh -c "getent group $u >/dev/null"
	check "state directory /var/lib/$u: 0700 $u:$u" sh -c \
		"[ \"\$(stat -c '%a %U:%G' /var/lib/$u)\" = '700 $u:$u' ]"
done
for unit in dnsward.service dnsward-update.timer dnsward-gateway.service; do
	check "$unit installed and disabled" sh -c "[ \"\$(systemctl is-enabled $unit 2>&1)\" = disabled ]"
done
check "dnsward.service needs /etc/dnsward/dnsward.conf" \
	grep -qx 'ConditionPathExists=/etc/dnsward/dnsward.conf' /lib/systemd/system/dnsward.service
check "dnsward-update.service needs /etc/dnsward/dnsward.conf" \
	grep -qx 'ConditionPathExists=/etc/dnsward/dnsward.conf' /lib/systemd/system/dnsward-update.service
check "dnsward-gateway.service needs /etc/dnsward/gateway.conf" \
	grep -qx 'ConditionPathExists=/etc/dnsward/gateway.conf' /lib/systemd/system/dnsward-gateway.service
check "no configuration shipped in /etc/dnsward" sh -c '[ -d /etc/dnsward ] && [ -z "$(ls -A /etc/dnsward)" ]'
check "dnsward version" dnsward version
check "dnsward-gateway version" dnsward-gateway version
check "dnsward's publisher installed outside PATH" \
	sh -c 'test -x /usr/libexec/dnsward/dnsward-publisher && ! command -v dnsward-publisher'
check "dnsward links no network library (its publisher does)" \
	sh -c '! ldd /usr/sbin/dnsward | grep -q -e libcurl -e libssl -e libcrypto -e libldns &&
	       ldd /usr/libexec/dnsward/dnsward-publisher | grep -q libcurl'

echo "== configure from the examples, as the comments in them say"
ex=/usr/share/doc/dnsward/examples/dnsward.conf
gex=/usr/share/doc/dnsward-gateway/examples/gateway.conf
tsig_key() { # NAME FILE: a BIND-format TSIG key, root-only
	printf 'key "%s" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$1" \
		"$(head -c 32 /dev/urandom | base64)" >"$2"
	chmod 600 "$2"
}
(
	umask 077
	tsig_key home /etc/dnsward/home.key
	head -c 24 /dev/urandom | base64 >/etc/dnsward/gandi.token
	head -c 24 /dev/urandom | base64 >/etc/dnsward/home-aaaa.token
)
cp "$ex" /etc/dnsward/dnsward.conf
check "dnsward check (the example, as /etc/dnsward/dnsward.conf)" dnsward check
check "dnsward -c $ex check" dnsward -c "$ex" check
# The gateway's example names its secrets where the unit's LoadCredential=
# puts them; no systemd runs here, so they are put there as it would.
cred=/run/credentials/dnsward-gateway.service
mkdir -p "$cred"
(umask 077 && tsig_key zone "$cred/zone.key" && tsig_key tls "$cred/gateway.key")
: >/etc/dnsward/gateway.pem
cp "$gex" /etc/dnsward/gateway.conf
check "dnsward-gateway check (the example)" dnsward-gateway check
# State written while in use, which the purge must remove: the gateway's
# database, with a host added before the first start.  The example's
# server (192.0.2.53) does not exist here, so host add cannot ask it for the
# zone's nameserver names: --allow-any-name skips that check (it warns).
if dnsward-gateway host add h.example.org --provider zone --allow-any-name >/dev/null 2>/tmp/host.log; then
	ok "dnsward-gateway host add (database in /var/lib/dnsward-gateway)"
else
	cat /tmp/host.log
	bad "dnsward-gateway host add (database in /var/lib/dnsward-gateway)"
fi
check "gateway database created" test -s /var/lib/dnsward-gateway/gateway.db
rm -rf "$cred" /etc/dnsward/*

echo "== apt-get remove, then purge"
apt-get -o DPkg::Lock::Timeout=600 remove -y dnsward dnsward-gateway >/tmp/remove.log 2>&1 ||
	{ cat /tmp/remove.log; bad "remove"; }
check "remove keeps users and state" sh -c 'getent passwd dnsward >/dev/null && test -d /var/lib/dnsward-gateway'
check "remove takes the programs" sh -c '! command -v dnsward >/dev/null && ! command -v dnsward-gateway >/dev/null'
if apt-get -o DPkg::Lock::Timeout=600 purge -y dnsward dnsward-gateway >/tmp/purge.log 2>&1; then
	ok "purge"
else
	cat /tmp/purge.log
	bad "purge"
fi
snapshot >/tmp/after
if diff -u /tmp/before /tmp/after >/tmp/diff; then
	ok "after the purge: every file, user and group as before the install"
else
	cat /tmp/diff
	bad "after the purge: every file, user and group as before the install"
fi
finish
