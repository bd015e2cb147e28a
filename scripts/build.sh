#!/bin/sh
# Configure (once) and build hull into build/ (or $1).
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
shift 2>/dev/null || true
[ -f "$dir/build.ninja" ] || meson setup "$dir" "$@" >/dev/null
ninja -C "$dir" >/dev/null
