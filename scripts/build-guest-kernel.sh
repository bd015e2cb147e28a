#!/bin/sh
# Builds the guest kernel of hull's micro-VM mode from Debian's linux-source-6.1:
# `make tinyconfig`, then kernel/hull-guest.config merged over it, then an uncompressed,
# stripped vmlinux (hull's VMM loads the ELF directly; no bzImage decompression in the guest).
#
# Where the kernel lives:
#   - this script installs <cache>/vmlinux, <cache> = $HULL_GUEST_KERNEL_CACHE or
#     /var/cache/hull-vm/guest-kernel (also <cache>/config, the final .config, for reference,
#     and <cache>/build.log); the unpacked source is removed after a successful build;
#   - hull's default kernel (when the annotation org.hull.vm.kernel is not set) is
#     /usr/lib/hull/vmlinux, falling back to /var/cache/hull-vm/guest-kernel/vmlinux.
#     A packager copies <cache>/vmlinux to /usr/lib/hull/vmlinux.
#
# A second run with the same fragment and kernel source does nothing: it prints the path and
# exits 0. The stamp is keyed by the fragment's options, the linux-source package version and
# BUILD_REV below (bump it when this script's build steps change).
#
# usage: scripts/build-guest-kernel.sh      (as root when packages are missing)
# prints: the path of the installed vmlinux on stdout; progress on stderr; the build log is
#         <cache>/build.log.
set -eu
BUILD_REV=1
pkg=linux-source-6.1
tarball=/usr/src/linux-source-6.1.tar.xz
repo=$(cd "$(dirname "$0")/.." && pwd)
frag=$repo/kernel/hull-guest.config
cache=${HULL_GUEST_KERNEL_CACHE:-/var/cache/hull-vm/guest-kernel}

say() { echo "build-guest-kernel: $*" >&2; }
die() {
	say "$*"
	exit 1
}

stamp_key() {
	ver=$(dpkg-query -W -f='${Version}' "$pkg" 2>/dev/null || true)
	# The option lines only: editing a comment does not cost a rebuild.
	fhash=$(grep -E '^(CONFIG_|# CONFIG_.* is not set$)' "$frag" | sha256sum | cut -d' ' -f1)
	echo "rev=$BUILD_REV $pkg=${ver:-missing} fragment=$fhash"
}

up_to_date() {
	[ -f "$cache/vmlinux" ] && [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$(stamp_key)" ]
}

install_missing() {
	missing=""
	for p in $pkg flex bison bc libelf-dev libssl-dev make gcc xz-utils; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	[ "$(id -u)" -eq 0 ] || die "run as root to install:$missing"
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
}

# A fresh tree each build: a rebuild (a changed fragment) recompiles nearly everything
# anyway, and the 1.6 GB of source and objects are removed once vmlinux is installed.
unpack_source() {
	say "unpacking $tarball"
	rm -rf "$cache/src" "$cache/build"
	mkdir -p "$cache/src"
	tar -xJf "$tarball" -C "$cache/src"
	[ -d "$cache/src/$pkg" ] || die "$tarball did not unpack to $pkg/"
}

configure() {
	b=$cache/build
	mkdir -p "$b"
	make -C "$cache/src/$pkg" O="$b" tinyconfig >>"$cache/build.log" 2>&1
	# Appended lines win over tinyconfig's; olddefconfig then settles the dependencies.
	cat "$frag" >>"$b/.config"
	make -C "$cache/src/$pkg" O="$b" olddefconfig >>"$cache/build.log" 2>&1
}

# Kconfig silently drops an option whose dependencies are not met, and a default or a select
# can switch one back on: fail naming the option.
check_config() {
	bad=$(
		grep -E '^CONFIG_[A-Z0-9_]+=' "$frag" | while read -r line; do
			grep -qx "$line" "$1" || printf ' %s' "${line%%=*}"
		done
		sed -n 's/^# \(CONFIG_[A-Z0-9_]*\) is not set$/\1/p' "$frag" | while read -r opt; do
			if grep -q "^$opt=" "$1"; then printf ' %s(should be off)' "$opt"; fi
		done
	)
	[ -z "$bad" ] || die "the built config does not match $frag:$bad (see $1)"
}

build() {
	b=$cache/build
	say "building vmlinux with make -j$(nproc) (a few minutes; log: $cache/build.log)"
	make -C "$cache/src/$pkg" O="$b" -j"$(nproc)" vmlinux >>"$cache/build.log" 2>&1 || {
		tail -n 20 "$cache/build.log" >&2
		die "make vmlinux failed"
	}
	check_config "$b/.config"
	strip -o "$cache/vmlinux.tmp" "$b/vmlinux"
	cp "$b/.config" "$cache/config"
	mv "$cache/vmlinux.tmp" "$cache/vmlinux"
	stamp_key >"$cache/stamp"
	rm -rf "$cache/src" "$cache/build"
}

if up_to_date; then
	echo "$cache/vmlinux"
	exit 0
fi
install_missing
mkdir -p "$cache"
# One build at a time (the test harness and a user may start this together).
exec 9>"$cache/lock"
flock 9
if ! up_to_date; then
	start=$(date +%s)
	: >"$cache/build.log"
	unpack_source
	configure || {
		tail -n 20 "$cache/build.log" >&2
		die "configuring the kernel failed"
	}
	check_config "$cache/build/.config"
	build
	say "built $cache/vmlinux ($(stat -c %s "$cache/vmlinux") bytes) in $(($(date +%s) - start)) s"
fi
echo "$cache/vmlinux"
