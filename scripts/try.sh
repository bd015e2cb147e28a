#!/bin/sh
# The README's first command: install, build, and run the example busybox container.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh build
scripts/build.sh
examples/busybox/make-rootfs.sh >/dev/null
root=$(mktemp -d /tmp/hull-try.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "+ build/hull --root $root run --bundle examples/busybox hull-example"
build/hull --root "$root" run --bundle examples/busybox "hull-example-$$"
