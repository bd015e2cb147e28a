#!/bin/sh
# Make examples/busybox/rootfs/ from Debian's busybox-static: /bin/busybox plus one symlink
# per applet, a minimal /etc, and the empty directories a container's mounts land on.
# Safe to run again: it only adds what is missing and refreshes the busybox binary.
#
#   sudo apt-get install busybox-static
#   examples/busybox/make-rootfs.sh [ROOTFS]    (default: rootfs/ next to this script)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
rootfs=${1:-$here/rootfs}
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
	echo "make-rootfs.sh: $busybox not found: install Debian's busybox-static" >&2
	exit 1
fi
# A dynamically linked busybox (Debian's "busybox" package) would need its libraries
# inside the rootfs; only the static build runs on its own.
if ! "$busybox" --list >/dev/null 2>&1 ||
	{ command -v file >/dev/null && ! file -L "$busybox" | grep -q 'statically linked'; }; then
	echo "make-rootfs.sh: $busybox is not a static busybox: install busybox-static" >&2
	exit 1
fi

mkdir -p "$rootfs"
cd "$rootfs"
mkdir -p bin etc tmp proc sys dev root home/nobody var/run run
chmod 1777 tmp
chmod 700 root

cp -f "$busybox" bin/busybox.new
mv -f bin/busybox.new bin/busybox
for applet in $(bin/busybox --list); do
	[ "$applet" = busybox ] && continue
	[ -e "bin/$applet" ] || [ -L "bin/$applet" ] || ln -s busybox "bin/$applet"
done

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/home/nobody:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
: >etc/hostname
[ -e etc/resolv.conf ] || : >etc/resolv.conf

echo "rootfs ready: $rootfs ($(ls bin | wc -l) entries in bin/)"
