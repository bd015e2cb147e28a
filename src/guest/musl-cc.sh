#!/bin/sh
# Compiles and links hull-guest-init against musl (Debian's musl-tools): a static binary of
# about 75 KB where glibc's is 700 KB. It matters because the guest init is embedded in hull,
# and hull copies its own binary into a sealed memfd at every create (selfclone.c).
# musl's include path has no kernel headers, so linux/, asm/ and asm-generic/ are offered
# through a directory of symlinks to the system's, searched after musl's own headers.
# usage: musl-cc.sh HEADER_DIR MUSL_GCC_ARGUMENTS...
set -eu
hdr=$1
shift
mkdir -p "$hdr"
arch=$(gcc -print-multiarch)
ln -sfn /usr/include/linux "$hdr/linux"
ln -sfn /usr/include/asm-generic "$hdr/asm-generic"
ln -sfn "/usr/include/$arch/asm" "$hdr/asm"
exec musl-gcc -idirafter "$hdr" "$@"
