#!/bin/sh
# Part 2 of bench/vm-latency, run inside the L1 test VM (nested SVM under QEMU TCG) by
# tests/vm/guest/init: `hull run` of /bin/true in VM mode against the same bundle as a
# namespace-only container, interleaved. Prints one line per run:
#   HULLTEST-LOG vmlat vm|ns CENTISECONDS
# (the guest has no clock finer than /proc/uptime's 10 ms; TCG makes every run slow
# enough for that). VMLAT_N runs of each, from the kernel command line (vmlat.n=N).
# shellcheck disable=SC1090,SC3043
. "$HULLTEST_LIB"
N=10
for w in $(cat /proc/cmdline); do
	case $w in vmlat.n=*) N=${w#vmlat.n=} ;; esac
done
for m in irqbypass ccp kvm kvm-amd; do
	insmod "$(find /hulltest/kmod -name "$m.ko" | head -n 1)" || exit 1
done
B=/tmp/vmlat
mkdir -p "$B"
cp -a /hulltest/rootfs "$B/rootfs"
mk() { # NAME ANNOTATIONS
	mkdir -p "$B/$1"
	ln -s ../rootfs "$B/$1/rootfs"
	cat >"$B/$1/config.json" <<JSON
{"ociVersion": "1.2.0",
 "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
             "env": ["PATH=/bin"], "cwd": "/"},
 "root": {"path": "rootfs"}, "annotations": $2,
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}]}}
JSON
}
mk vm '{"org.hull.vm": "true", "org.hull.vm.kernel": "/hulltest/vmlinux", "org.hull.vm.memory": "128"}'
mk ns '{}'
now() { read -r up _ </proc/uptime && echo "${up%.*}${up#*.}"; }
one() { # MODE ID
	local t0 t1
	t0=$(now)
	/usr/bin/hull --root /run/vmlat run -b "$B/$1" "$2" >/dev/null 2>&1 </dev/null ||
		echo "HULLTEST-LOG vmlat $1 run $2 failed"
	t1=$(now)
	echo "HULLTEST-LOG vmlat $1 $((t1 - t0))"
}
one vm warm-vm >/dev/null
one ns warm-ns >/dev/null
i=0
while [ $i -lt "$N" ]; do
	one vm "v$i"
	one ns "n$i"
	i=$((i + 1))
done
