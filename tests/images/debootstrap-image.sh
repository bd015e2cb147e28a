#!/usr/bin/env bash
# debootstrap-image.sh: the large test image, made once and cached. A Debian bookworm
# `debootstrap --variant=minbase` tree (about 200 MB, 6,700 files) from the Debian mirror
# in /etc/apt/sources.list*, packed by tests/integration/imagegen.py (pack_tree) as an
# OCI layout of four gzip layers and as a docker-archive of the same layers. Used by
# tests/integration/test_images_large.py, bench/unpack and bench/run-image;
# scripts/install-deps.sh test builds it.
#
# Usage: tests/images/debootstrap-image.sh [--check] [--rebuild]
#   --check    only say whether the image is ready (exit 0) or not (exit 3); build nothing
#   --rebuild  make the tree and the image again
#   HULL_IMAGE_CACHE=DIR  where it is kept (default /var/cache/hull-bench)
#   HULL_DEBIAN_MIRROR=URL  the mirror to use (default: the first in /etc/apt/sources.list*)
#
# In $HULL_IMAGE_CACHE: bookworm-minbase/ (the tree), minbase.oci/ (the layout, ref
# "minbase"), minbase.docker.tar (tag "minbase:latest"), and stamps: bookworm-minbase.done
# and minbase.done hold the key they were made with. A changed key (ROOTFS_REV below, or
# imagegen.PACK_REV) remakes that part. On success stdout is shell assignments of
# ROOTFS, LAYOUT, DOCKER and REF.
#
# Exit status: 0 ready; 2 this machine cannot make it (not root, no debootstrap, no
# mirror reachable, a timeout): callers skip with the message on stderr; 3 not ready
# (--check); 1 anything else (a bug to look at).
set -euo pipefail

ROOTFS_REV=1 # bump when the debootstrap step changes: the tree is made again
SUITE=bookworm
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGEGEN=$REPO/tests/integration/imagegen.py
CACHE=${HULL_IMAGE_CACHE:-/var/cache/hull-bench}
# Bounds on the network steps: a missing mirror is an answer in seconds, not a hang.
PROBE_TIMEOUT=20
DEBOOTSTRAP_TIMEOUT=${HULL_DEBOOTSTRAP_TIMEOUT:-900}
LOCK_TIMEOUT=1200

ROOTFS=$CACHE/bookworm-minbase
LAYOUT=$CACHE/minbase.oci
DOCKER=$CACHE/minbase.docker.tar
REF=minbase

say() { echo "debootstrap-image: $*" >&2; }
cannot() {
	say "$*"
	exit 2
}
die() {
	say "$*"
	exit 1
}

CHECK=0
REBUILD=0
while (($#)); do
	case $1 in
	--check) CHECK=1 ;;
	--rebuild) REBUILD=1 ;;
	-h | --help)
		sed -n '2,/^set -e/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	*) die "unknown argument: $1 (see --help)" ;;
	esac
	shift
done

rootfs_key() { echo "suite=$SUITE variant=minbase rev=$ROOTFS_REV"; }
image_key() { echo "pack=$(python3 "$IMAGEGEN" pack-rev) $(rootfs_key)"; }
stamp_is() { [[ -f $1 && "$(cat "$1")" == "$2" ]]; }

ready() {
	stamp_is "$ROOTFS.done" "$(rootfs_key)" && stamp_is "$CACHE/minbase.done" "$(image_key)" &&
		[[ -d $LAYOUT && -f $DOCKER ]]
}

report() {
	printf 'ROOTFS=%q\nLAYOUT=%q\nDOCKER=%q\nREF=%q\n' "$ROOTFS" "$LAYOUT" "$DOCKER" "$REF"
}

# The first Debian (not security) mirror apt knows, from one-line or deb822 sources.
debian_mirror() {
	local f url
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
		/etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		url=$(awk '
			/^deb / && !/security/ { for (i = 2; i <= NF; i++)
				if ($i ~ /^https?:.*debian/) { print $i; exit } }
			/^URIs:/ && $2 !~ /security/ && $2 ~ /debian/ { print $2; exit }' "$f")
		if [[ -n $url ]]; then
			echo "${url%/}"
			return
		fi
	done
	echo http://deb.debian.org/debian
}

# Anything debootstrap left mounted below $1 (proc, sys, maybe a bind of /dev when it
# was stopped) goes before the tree does, or rm would walk into the host's.
remove_tree() {
	local dir=$1 m
	[[ -e $dir ]] || return 0
	while read -r m; do
		umount -l "$m" || die "cannot unmount $m: remove $dir by hand"
	done < <(awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
	rm -rf --one-file-system "$dir"
}

build_rootfs() {
	if ((!REBUILD)) && stamp_is "$ROOTFS.done" "$(rootfs_key)"; then
		return
	fi
	command -v debootstrap >/dev/null ||
		cannot "debootstrap is not installed (scripts/install-deps.sh test, or apt-get install debootstrap)"
	local mirror
	mirror=${HULL_DEBIAN_MIRROR:-$(debian_mirror)}
	# wget comes with debootstrap; one try, bounded, before debootstrap's own retries.
	wget -q -T "$PROBE_TIMEOUT" -t 1 -O /dev/null "$mirror/dists/$SUITE/Release" ||
		cannot "the Debian mirror $mirror does not answer: wget -T $PROBE_TIMEOUT of $mirror/dists/$SUITE/Release failed"
	say "debootstrap --variant=minbase $SUITE from $mirror into $ROOTFS (once; a few minutes)"
	rm -f "$ROOTFS.done" "$CACHE/minbase.done"
	remove_tree "$ROOTFS.tmp"
	remove_tree "$ROOTFS"
	local rc=0
	timeout -k 10 "$DEBOOTSTRAP_TIMEOUT" debootstrap --variant=minbase "$SUITE" "$ROOTFS.tmp" \
		"$mirror" >"$CACHE/debootstrap.log" 2>&1 || rc=$?
	if ((rc != 0)); then
		remove_tree "$ROOTFS.tmp"
		((rc == 124 || rc == 137)) &&
			cannot "debootstrap did not finish in ${DEBOOTSTRAP_TIMEOUT}s (slow mirror?): see $CACHE/debootstrap.log"
		# A mirror that answered the probe but fails downloads is still the network's.
		grep -q "Failed getting release file\|Couldn't download\|Failure trying to run" \
			"$CACHE/debootstrap.log" && cannot "debootstrap could not fetch packages: see $CACHE/debootstrap.log"
		die "debootstrap failed (exit $rc): see $CACHE/debootstrap.log"
	fi
	mv "$ROOTFS.tmp" "$ROOTFS"
	rootfs_key >"$ROOTFS.done"
}

build_image() {
	if ((!REBUILD)) && stamp_is "$CACHE/minbase.done" "$(image_key)" && [[ -d $LAYOUT && -f $DOCKER ]]; then
		return
	fi
	say "packing $ROOTFS as $LAYOUT and $DOCKER (once; about a minute)"
	rm -f "$CACHE/minbase.done"
	rm -rf "$LAYOUT" "$LAYOUT.tmp" "$DOCKER" "$DOCKER.tmp" "$DOCKER.tmp.parts"
	# What an older bench/unpack kept, under other names.
	rm -rf "$CACHE/unpack-image" "$CACHE/unpack-image.done"
	python3 "$IMAGEGEN" pack-tree "$ROOTFS" "$LAYOUT.tmp" "$DOCKER.tmp" ||
		die "packing failed"
	mv "$LAYOUT.tmp" "$LAYOUT"
	mv "$DOCKER.tmp" "$DOCKER"
	image_key >"$CACHE/minbase.done"
}

command -v python3 >/dev/null || cannot "needs python3"
if ((CHECK)); then
	ready || exit 3
	report
	exit 0
fi
if ((!REBUILD)) && ready; then
	report
	exit 0
fi
((EUID == 0)) || cannot "must run as root (debootstrap, and the tree keeps owners and devices)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w "$LOCK_TIMEOUT" 9 || cannot "another build holds $CACHE/.lock for ${LOCK_TIMEOUT}s"
# Someone else may have made it while we waited.
if ((REBUILD)) || ! ready; then
	build_rootfs
	build_image
fi
report
