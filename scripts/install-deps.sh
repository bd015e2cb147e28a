#!/bin/sh
# Installs what hull needs on Debian 12 (as root). Only missing packages are fetched.
# usage: scripts/install-deps.sh [build|test]
set -eu
build="gcc libc6-dev meson ninja-build pkg-config libseccomp-dev libcap-dev libyajl-dev
       libarchive-dev nettle-dev libisal-dev zlib1g-dev musl-tools
       libmnl-dev libnftnl-dev busybox-static scdoc"
test="python3 python3-pytest cppcheck clang-format util-linux iproute2 procps qemu-system-x86
      podman conmon containerd netavark nftables
      umoci zstd cpio debootstrap"
want="$build"
[ "${1:-build}" = test ] && want="$build $test"

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps: run as root to install:$missing" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
[ "$want" = "$build" ] && exit 0
here=$(dirname "$0")
# tests/vm boots Debian's kernel (unpacked into a cache, never installed), with the kvm
# modules an L1 guest needs for the micro-VM tests.
"$here"/../tests/vm/fetch-kernel.sh './lib/modules/*/kernel/arch/x86/kvm/*' \
	'./lib/modules/*/kernel/virt/lib/*' './lib/modules/*/kernel/drivers/crypto/ccp/*' ||
	echo "install-deps: no kernel for tests/vm (its tests will skip)" >&2
# The micro-VM's guest kernel, built once from linux-source-6.1 (about 7 minutes; cached).
"$here"/build-guest-kernel.sh >/dev/null ||
	echo "install-deps: the guest kernel did not build (test_vm_microvm.py will fail)" >&2
# The large test image (debootstrap --variant=minbase, packed as a layout and a
# docker-archive; about a minute, cached) for test_images_large.py and bench/unpack.
"$here"/../tests/images/debootstrap-image.sh >/dev/null ||
	echo "install-deps: no debootstrap test image (test_images_large.py will skip)" >&2
