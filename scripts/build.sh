#!/bin/sh
# Configure (once) and build hull into build/ (or $1).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
if [ $# -gt 0 ]; then shift; fi
[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
ninja -C "$dir" >/dev/null
