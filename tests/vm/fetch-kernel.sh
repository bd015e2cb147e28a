#!/bin/sh
# Puts Debian's current amd64 kernel (the one linux-image-amd64 depends on) where
# tests/vm/vmrun.py looks for it: $HULL_VM_CACHE (default /var/cache/hull-vm)/boot/.
#
# The package is downloaded and unpacked, never installed: installing linux-image-amd64
# in a container would pull in initramfs-tools, udev and a systemd upgrade and run
# update-initramfs over /boot. Only ./boot/vmlinuz-* and ./boot/config-* are kept, plus
# the module files matching any PATTERN given (tar wildcards, e.g.
# './lib/modules/*/kernel/arch/x86/kvm/*'), under the same cache.
#
# usage: tests/vm/fetch-kernel.sh [PATTERN...]     (nothing to do when already there)
set -eu
cache=${HULL_VM_CACHE:-/var/cache/hull-vm}

pkg_name() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1
}

pkg=$(pkg_name)
if [ -z "$pkg" ]; then
	[ "$(id -u)" -eq 0 ] && apt-get update -q >/dev/null 2>&1 || :
	pkg=$(pkg_name)
fi
if [ -z "$pkg" ]; then
	if ls "$cache"/boot/vmlinuz-*-amd64 >/dev/null 2>&1; then exit 0; fi
	echo "fetch-kernel: apt knows no linux-image-amd64 (apt-get update?)" >&2
	exit 1
fi
ver=${pkg#linux-image-}
have=yes
[ -f "$cache/boot/vmlinuz-$ver" ] || have=no
for p in "$@"; do
	[ -f "$cache/.patterns-$ver" ] && grep -qxF "$p" "$cache/.patterns-$ver" || have=no
done
[ "$have" = yes ] && exit 0

mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "fetch-kernel: $pkg into $cache"
# _apt cannot write to a root-only directory; let it download into a world-writable one.
chmod 755 "$tmp"
(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
	{ [ "$(id -u)" -eq 0 ] && apt-get update -q >/dev/null 2>&1 &&
		(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1); } ||
	{ echo "fetch-kernel: apt-get download $pkg failed" >&2; exit 1; }
dpkg-deb --fsys-tarfile "$tmp"/*.deb |
	tar -x -C "$cache" --wildcards "./boot/vmlinuz-$ver" "./boot/config-$ver" "$@"
for p in "$@"; do echo "$p"; done >>"$cache/.patterns-$ver"
echo "fetch-kernel: $cache/boot/vmlinuz-$ver"
