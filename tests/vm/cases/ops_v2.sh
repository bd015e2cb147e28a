#!/bin/sh
# pause/resume, update, events and ps on a pure cgroup v2 host: run by tests/vm/guest/init
# inside the VM as root, cgroup2 alone at /sys/fs/cgroup with every controller enabled.
# One "HULLTEST <name> PASS|FAIL|SKIP <detail>" line per run_case (guest/hulltest.sh).
# tests/integration/test_vm_ops_v2.py boots it; the same checks on this host's layout are
# in tests/integration/test_ops.py.
# shellcheck disable=SC3043,SC2016,SC1090
. "$HULLTEST_LIB"

CG=/sys/fs/cgroup
STATE=/run/hull-opstest
B=/tmp/opsbundles
mkdir -p "$STATE" "$B"

H() { /usr/bin/hull --root "$STATE" "$@"; }

# bundle NAME SCRIPT: a bundle running `sh /t.sh` with SCRIPT as /t.sh.
bundle() {
	local d=$B/$1
	rm -rf "$d"
	mkdir -p "$d"
	cp -a /hulltest/rootfs "$d/rootfs"
	printf '%s\n' "$2" >"$d/rootfs/t.sh"
	cat >"$d/config.json" <<JSON
{
  "ociVersion": "1.2.0",
  "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["/bin/sh", "/t.sh"],
              "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": true},
  "root": {"path": "rootfs"},
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}]}
}
JSON
	echo "$d"
}

status() { H state "$1" 2>/dev/null | sed -n 's/^  "status": "\(.*\)",*$/\1/p'; }
is_status() { [ "$(status "$1")" = "$2" ]; }
alive() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status"; }

# run -d ID BUNDLE; the container's stdio goes to a file, not to a $(...) that would wait
# for it to close.
start() { # ID BUNDLE
	H run -d --bundle "$2" "$1" >"$B/$1.out" 2>&1 </dev/null || fail "hull run -d $1: $(cat "$B/$1.out")"
	wait_until 50 is_status "$1" running || fail "$1 is $(status "$1"), not running"
}

cleanup() {
	local c
	for c in "$STATE"/*; do
		[ -d "$c" ] && H delete --force "$(basename "$c")" >/dev/null 2>&1
	done
	if [ -d "$CG/hull" ]; then
		echo "HULLTEST-LOG $1: left behind: $(find "$CG/hull" -type d | tr '\n' ' ')"
		find "$CG/hull" -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
}
HT_AFTER_CASE=cleanup

case_pause_resume() {
	local id=ops-pause d pid out
	d=$(bundle pause 'sleep 60 & exec sleep 61')
	start "$id" "$d"
	pid=$(H state "$id" | sed -n 's/^  "pid": \([0-9]*\),*$/\1/p')
	out=$(H pause "$id" 2>&1) || fail "pause: $out"
	grep -qx 'frozen 1' "$CG/hull/$id/cgroup.events" || fail "cgroup.events: $(cat "$CG/hull/$id/cgroup.events")"
	is_status "$id" paused || fail "state: $(status "$id")"
	H list | grep -q "$id .* paused " || fail "list: $(H list)"
	H pause "$id" 2>&1 | grep -q 'not running' || fail "a second pause did not fail"
	out=$(H resume "$id" 2>&1) || fail "resume: $out"
	grep -qx 'frozen 0' "$CG/hull/$id/cgroup.events" || fail "after resume: $(cat "$CG/hull/$id/cgroup.events")"
	is_status "$id" running || fail "after resume: $(status "$id")"
	H resume "$id" 2>&1 | grep -q 'not paused' || fail "resume of a running one did not fail"
	out=$(H pause "$id" 2>&1) || fail "pause again: $out"
	out=$(H kill "$id" KILL 2>&1) || fail "kill of a paused container: $out"
	wait_until 50 sh -c "! [ -e /proc/$pid ] || grep -q '^State:.*Z' /proc/$pid/status" ||
		fail "the paused container's init $pid did not die"
	wait_until 50 is_status "$id" stopped || fail "after kill: $(status "$id")"
	pass "frozen 1 + paused, frozen 0 + running, kill -9 while paused"
}

case_delete_paused() {
	local id=ops-delp d out
	d=$(bundle delp 'sleep 60 & exec sleep 61')
	start "$id" "$d"
	out=$(H pause "$id" 2>&1) || fail "pause: $out"
	H delete "$id" 2>&1 | grep -q 'paused' || fail "delete without --force of a paused container did not fail"
	out=$(H delete --force "$id" 2>&1) || fail "delete --force: $out"
	[ ! -e "$CG/hull/$id" ] || fail "$CG/hull/$id is left"
	pass "delete refused, delete --force removed it"
}

case_update() {
	local id=ops-upd d out f
	d=$(bundle upd 'exec sleep 60')
	start "$id" "$d"
	f=$CG/hull/$id
	out=$(H update --memory 64m --memory-swap 96m --pids-limit 50 --cpu-quota 50000 \
		--cpu-period 100000 "$id" 2>&1) || fail "update: $out"
	[ "$(cat "$f/memory.max")" = 67108864 ] || fail "memory.max $(cat "$f/memory.max")"
	[ "$(cat "$f/memory.swap.max")" = 33554432 ] || fail "memory.swap.max $(cat "$f/memory.swap.max")"
	[ "$(cat "$f/pids.max")" = 50 ] || fail "pids.max $(cat "$f/pids.max")"
	[ "$(cat "$f/cpu.max")" = "50000 100000" ] || fail "cpu.max $(cat "$f/cpu.max")"
	echo '{"pids": {"limit": 42}}' >"$B/res.json"
	out=$(H update -r "$B/res.json" "$id" 2>&1) || fail "update -r: $out"
	[ "$(cat "$f/pids.max")" = 42 ] || fail "pids.max $(cat "$f/pids.max") after -r"
	[ "$(cat "$f/memory.max")" = 67108864 ] || fail "memory.max changed by -r: $(cat "$f/memory.max")"
	pass "memory.max, memory.swap.max, pids.max, cpu.max written; -r kept the rest"
}

case_events_stats() {
	local id=ops-stats d out
	d=$(bundle stats 'sleep 60 & exec sleep 61')
	start "$id" "$d"
	out=$(H update --memory 256m --pids-limit 100 "$id" 2>&1) || fail "update: $out"
	out=$(H events --stats "$id" 2>&1) || fail "events --stats: $out"
	note "$out"
	echo "$out" | grep -q '"pids":{"current":2,"limit":100}' || fail "pids: $out"
	echo "$out" | grep -q '"usage":{"limit":268435456,"usage":[1-9]' || fail "memory usage: $out"
	echo "$out" | grep -q '"cpu":{"usage":{"total":[1-9]' || fail "cpu: $out"
	echo "$out" | grep -q '"raw":{"active_anon":' || fail "memory.stat: $out"
	echo "$out" | grep -q '"swap":{"limit":' || fail "swap: $out"
	pass "$(echo "$out" | cut -c1-300)"
}

case_events_oom() {
	local id=ops-oom d out n
	d=$(bundle oom 'sleep 1; (x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done); exec sleep 60')
	H create --bundle "$d" "$id" >"$B/$id.out" 2>&1 </dev/null || fail "create: $(cat "$B/$id.out")"
	out=$(H update --memory 32m --memory-swap 32m "$id" 2>&1) || fail "update: $out"
	H events --interval 1s "$id" >"$B/events.out" 2>&1 &
	wait_until 50 grep -q '"type":"stats"' "$B/events.out" || fail "no stats: $(cat "$B/events.out")"
	out=$(H start "$id" 2>&1) || fail "start: $out"
	wait_until 300 grep -q '^{"type":"oom","id":"ops-oom"}$' "$B/events.out" ||
		fail "no oom event; memory.events: $(cat "$CG/hull/$id/memory.events" | tr '\n' ' ')"
	is_status "$id" running || fail "the init died too: $(status "$id")"
	H delete --force "$id" >/dev/null 2>&1
	wait_until 50 sh -c "! kill -0 $! 2>/dev/null" || fail "events did not end with the container"
	wait $!
	[ $? -eq 0 ] || fail "events exited $?"
	n=$(grep -c '"type":"stats"' "$B/events.out")
	pass "oom event, $n stats events, exit 0 when the container went"
}

case_ps() {
	local id=ops-ps d out pid
	d=$(bundle ps 'exec sleep 61')
	start "$id" "$d"
	pid=$(H state "$id" | sed -n 's/^  "pid": \([0-9]*\),*$/\1/p')
	out=$(H ps --format json "$id" 2>&1) || fail "ps json: $out"
	[ "$out" = "[$pid]" ] || fail "ps json: $out, want [$pid]; cgroup.procs $(cat "$CG/hull/$id/cgroup.procs")"
	pass "ps --format json: $out"
}

run_case ops_pause_resume case_pause_resume
run_case ops_delete_paused case_delete_paused
run_case ops_update case_update
run_case ops_events_stats case_events_stats
run_case ops_events_oom case_events_oom
run_case ops_ps case_ps
