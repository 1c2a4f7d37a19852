#!/bin/bash
# Fresh Debian roots: what a new machine of this release holds, for tests
# that must not see what this machine has installed (the demo, the Debian
# packages).  Roots are built once with debootstrap from the mirror apt uses
# here and cached; every run gets a throw-away copy (an overlay over the
# cached root, or a full copy where overlays cannot be mounted), entered
# with chroot in its own mount and PID namespaces.
#
#   scripts/fresh-root.sh build LAYER
#       build LAYER unless cached; print its directory
#   scripts/fresh-root.sh run LAYER [--tree] [--bind HOSTDIR:DIR]... -- COMMAND [ARG...]
#       run COMMAND as root in a throw-away copy of LAYER and remove the
#       copy afterwards; every process it started ends with it (PID
#       namespace).  --tree copies this checkout (tracked and untracked
#       files, nothing git ignores: what a clone holds) to /src and starts
#       there; --bind makes a host directory visible at DIR (read-write).
#       The network is the host's (the demo needs an interface with an
#       address, apt the mirror).
#   scripts/fresh-root.sh prune
#       remove cached roots of older keys that no run is using
#
# Layers:
#   base   debootstrap --variant=minbase: Priority required packages and apt
#   build  base + exactly what "scripts/deps.sh build" installs (run inside it)
#   debbuild  base + debian/control's Build-Depends (apt-get build-dep, which
#          brings build-essential) + lintian: where the packages are built
#
# The cache (DNSWARD_ROOT_CACHE, default /var/cache/dnsward/roots) holds one
# directory per layer and key.  The key hashes what decides the contents:
# release, architecture, mirror and apt sources, and for "build" the package
# list "scripts/deps.sh --list build" prints; a changed list builds a new
# root, as does a change of debian/control's source paragraph for
# "debbuild".  Package versions newer than the cached root's are not picked up
# until the key changes or "prune" + rebuild; delete the cache to refresh.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${DNSWARD_ROOT_CACHE:-/var/cache/dnsward/roots}

die() { echo "fresh-root: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	exec sudo -- "$0" "$@"
fi

# The release and the apt sources of this machine: the root gets the same
# mirror and suites (main, updates, security) as apt uses here.
. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
arch=$(dpkg --print-architecture)

apt_sources() {
	# "URI SUITE COMPONENT" for this release's suites, from apt's own view of
	# its configuration (both sources.list formats).
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' \
		'Identifier: Packages' 2>/dev/null |
		awk -v c="$codename" '$2 == c || index($2, c "-") == 1' | sort -u
}

mirror() {
	apt_sources | awk -v c="$codename" '$2 == c {print $1; exit}'
}

layer_key() {
	local layer=$1 sources
	sources=$(apt_sources)
	[ -n "$sources" ] || die "apt has no sources for $codename (run apt-get update?)"
	case "$layer" in
	base) printf 'v1 %s %s minbase\n%s\n' "$codename" "$arch" "$sources" ;;
	build)
		printf '%s\n' "$(layer_key base)"
		"$root/scripts/deps.sh" --list build | tr ' ' '\n' | sed '/^$/d' | sort -u
		;;
	debbuild)
		printf '%s\n' "$(layer_key base)"
		sed '/^$/q' "$root/debian/control"
		;;
	*) die "unknown layer '$layer' (base, build or debbuild)" ;;
	esac | sha256sum | cut -c1-16
}

layer_dir() { echo "$cache/$1-$(layer_key "$1")"; }

# Enter DIR (a root) in new mount and PID namespaces: /proc of its own,
# /sys read-only, a minimal /dev, fresh /tmp and /run, the host's
# resolv.conf for the mirror.  Extra "HOST:DIR" binds follow.
enter() {
	local dir=$1 workdir=$2
	shift 2
	local binds=()
	while [ "$1" != "--" ]; do binds+=("$1"); shift; done
	shift
	# shellcheck disable=SC2016
	unshare --mount --pid --fork --propagation private /bin/bash -c '
		set -e
		dir=$1 workdir=$2 nbinds=$3
		shift 3
		mount --bind "$dir" "$dir"   # a mount point, so /proc below stays private
		mount -t proc proc "$dir/proc"
		mount -t sysfs -o ro sysfs "$dir/sys" 2>/dev/null || mount --rbind -o ro /sys "$dir/sys"
		mount -t tmpfs -o mode=755 tmpfs "$dir/dev"
		for d in null zero full random urandom tty; do
			touch "$dir/dev/$d"
			mount --bind "/dev/$d" "$dir/dev/$d"
		done
		mkdir -p "$dir/dev/pts" "$dir/dev/shm"
		mount -t devpts -o newinstance,ptmxmode=0666 devpts "$dir/dev/pts"
		ln -s pts/ptmx "$dir/dev/ptmx"
		ln -s /proc/self/fd "$dir/dev/fd"
		ln -s /proc/self/fd/0 "$dir/dev/stdin"
		ln -s /proc/self/fd/1 "$dir/dev/stdout"
		ln -s /proc/self/fd/2 "$dir/dev/stderr"
		mount -t tmpfs -o mode=1777 tmpfs "$dir/dev/shm"
		mount -t tmpfs -o mode=1777 tmpfs "$dir/tmp"
		mount -t tmpfs -o mode=755 tmpfs "$dir/run"
		mkdir -p "$dir/run/lock"
		rm -f "$dir/etc/resolv.conf"
		cp -L /etc/resolv.conf "$dir/etc/resolv.conf"
		for ((i = 0; i < nbinds; i++)); do
			src=${1%%:*} dst=${1#*:}
			shift
			mkdir -p "$dir/$dst"
			mount --bind "$src" "$dir/$dst"
		done
		exec chroot "$dir" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root TERM="${TERM:-dumb}" LANG=C.UTF-8 CI="${CI:-}" \
			/bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$workdir" "$@"
	' fresh-root "$dir" "$workdir" "${#binds[@]}" "${binds[@]}" "$@"
}

# Throw-away copy of LOWER at $copy (overlay, else cp -a), removed by cleanup.
copy="" upper=""
cleanup_copy() {
	if [ -n "$copy" ]; then
		umount "$copy" 2>/dev/null || true
		rm -rf --one-file-system "$copy"
	fi
	[ -z "$upper" ] || rm -rf --one-file-system "$upper"
}

make_copy() {
	local lower=$1
	upper=$(mktemp -d "${TMPDIR:-/var/tmp}/dnsward-root-upper.XXXXXX")
	copy=$(mktemp -d "${TMPDIR:-/var/tmp}/dnsward-root.XXXXXX")
	mkdir "$upper/u" "$upper/w"
	if ! mount -t overlay overlay -o "lowerdir=$lower,upperdir=$upper/u,workdir=$upper/w" "$copy" 2>/dev/null; then
		echo "fresh-root: no overlay mount here; copying the root" >&2
		cp -a "$lower/." "$copy/"
	fi
}

build_layer() {
	local layer=$1 dir tmp t0 lower=""
	dir=$(layer_dir "$layer")
	# The layer below first (it takes and releases the lock itself).
	[ "$layer" = base ] || lower=$(build_layer base)
	mkdir -p "$cache"
	exec 8>"$cache/.lock"
	flock 8   # one builder at a time; others wait and then find it cached
	if [ -d "$dir" ]; then
		flock -u 8
		echo "$dir"
		return
	fi
	t0=$(date +%s)
	tmp=$dir.tmp
	rm -rf --one-file-system "$tmp"
	case "$layer" in
	base)
		local m
		m=$(mirror)
		[ -n "$m" ] || die "no $codename mirror in apt's sources"
		command -v debootstrap >/dev/null ||
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
				--no-install-recommends debootstrap >/dev/null
		echo "fresh-root: debootstrap --variant=minbase $codename from $m" >&2
		if ! debootstrap --variant=minbase --arch="$arch" "$codename" "$tmp" "$m" >"$cache/debootstrap.log" 2>&1; then
			tail -n 30 "$cache/debootstrap.log" >&2
			die "debootstrap failed (log: $cache/debootstrap.log)"
		fi
		apt_sources | awk '{print "deb " $1 " " $2 " " $3}' >"$tmp/etc/apt/sources.list"
		# Like a container image: no service starts in a root without init.
		printf '#!/bin/sh\nexit 101\n' >"$tmp/usr/sbin/policy-rc.d"
		chmod 755 "$tmp/usr/sbin/policy-rc.d"
		enter "$tmp" / -- apt-get update -qq >&2
		;;
	build)
		cp -a "$lower" "$tmp"
		# deps.sh exactly as the demo runs it, from a copy of this checkout.
		mkdir -p "$tmp/var/tmp/deps"
		cp "$root/scripts/deps.sh" "$tmp/var/tmp/deps/deps.sh"
		if ! enter "$tmp" / -- /var/tmp/deps/deps.sh build >"$cache/build.log" 2>&1; then
			tail -n 30 "$cache/build.log" >&2
			die "scripts/deps.sh build failed in the root (log: $cache/build.log)"
		fi
		rm -rf "$tmp/var/tmp/deps"
		enter "$tmp" / -- apt-get clean >&2
		;;
	debbuild)
		cp -a "$lower" "$tmp"
		mkdir -p "$tmp/var/tmp/dsrc/debian"
		cp "$root/debian/control" "$tmp/var/tmp/dsrc/debian/control"
		if ! enter "$tmp" / -- /bin/sh -c 'export DEBIAN_FRONTEND=noninteractive &&
			apt-get build-dep -y --no-install-recommends /var/tmp/dsrc &&
			apt-get install -y --no-install-recommends lintian && apt-get clean' \
			>"$cache/debbuild.log" 2>&1; then
			tail -n 30 "$cache/debbuild.log" >&2
			die "installing the build dependencies failed (log: $cache/debbuild.log)"
		fi
		rm -rf "$tmp/var/tmp/dsrc"
		;;
	esac
	mv "$tmp" "$dir"
	flock -u 8
	echo "fresh-root: built $layer in $(($(date +%s) - t0)) s: $dir" >&2
	echo "$dir"
}

prune() {
	mkdir -p "$cache"
	exec 8>"$cache/.lock"
	flock 8
	local keep_base keep_build d
	keep_base=$(layer_dir base)
	keep_build=$(layer_dir build)
	keep_debbuild=$(layer_dir debbuild)
	for d in "$cache"/base-* "$cache"/build-* "$cache"/debbuild-*; do
		[ -d "$d" ] || continue
		case "$d" in *.tmp | *.lock) continue ;; esac
		[ "$d" = "$keep_base" ] || [ "$d" = "$keep_build" ] || [ "$d" = "$keep_debbuild" ] && continue
		# A run holds a shared lock on its root's lock file.
		if flock -xn "$d.lock" true 2>/dev/null; then
			echo "fresh-root: removing $d" >&2
			rm -rf --one-file-system "$d" "$d.lock"
		fi
	done
}

cmd=${1:-}
shift || true
case "$cmd" in
build)
	[ $# -eq 1 ] || die "usage: fresh-root.sh build LAYER"
	build_layer "$1"
	;;
run)
	[ $# -ge 1 ] || die "usage: fresh-root.sh run LAYER [--tree] [--bind HOST:DIR]... -- COMMAND..."
	layer=$1
	shift
	tree=false
	binds=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		case "$1" in
		--tree) tree=true ;;
		--bind) binds+=("$2"); shift ;;
		*) die "unknown option $1" ;;
		esac
		shift
	done
	[ "${1:-}" = "--" ] && shift
	[ $# -ge 1 ] || die "no command"
	lower=$(build_layer "$layer")
	exec 9>"$lower.lock"
	flock -s 9   # prune leaves a root alone while a run uses it
	trap cleanup_copy EXIT
	make_copy "$lower"
	workdir=/
	if $tree; then
		mkdir -p "$copy/src"
		if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
			git -C "$root" ls-files -z -c -o --exclude-standard |
				(cd "$root" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null)
		else
			tar -C "$root" --exclude='./build*' -cf - .
		fi | tar -xf - -C "$copy/src"
		workdir=/src
	fi
	set +e
	enter "$copy" "$workdir" "${binds[@]}" -- "$@"
	rc=$?
	set -e
	exit $rc
	;;
prune) prune ;;
*) die "usage: fresh-root.sh build LAYER | run LAYER [...] -- COMMAND | prune" ;;
esac
