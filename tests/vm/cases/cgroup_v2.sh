#!/bin/sh
# hull on a pure cgroup v2 host: run by tests/vm/guest/init inside the VM, as root, with
# cgroup2 at /sys/fs/cgroup and every controller enabled below the root. One
# "HULLTEST <name> PASS|FAIL|SKIP <detail>" line per run_case (see guest/hulltest.sh).
# Cases for commands hull does not have yet SKIP, naming the command; resource cases SKIP
# while hull applies no linux.resources at all, and FAIL once it applies some but not
# these right.
# shellcheck disable=SC3043,SC2016,SC2317,SC1090
. "$HULLTEST_LIB"

CG=/sys/fs/cgroup
STATE=/run/hull-vmtest
B=/tmp/bundles
ROOTFS=/hulltest/rootfs
KB=1024
MB=$((1024 * KB))
mkdir -p "$STATE" "$B"

# hull, killed after 60 s so that one hung command costs one case, not the script.
H() { timeout -s KILL 60 /usr/bin/hull --root "$STATE" "$@"; }

# hull has the command (its error for one it lacks is `unknown command "NAME"`).
has_cmd() { ! H "$1" 2>&1 | grep -q 'unknown command'; }

# ---- bundles ---------------------------------------------------------------------------
# bundle NAME SCRIPT: $B/NAME with a copy of the rootfs template whose /t.sh is SCRIPT,
# run as `sh /t.sh`. The config comes from these (reset by each case's subshell):
CFG_RES=""        # linux.resources JSON object, "" for none
CFG_NS="pid network ipc uts mount cgroup"
CFG_CAPS='"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"'
CFG_MOUNTS_EXTRA="" # ', {...}' appended to mounts
CFG_CGROUPS_PATH="" # linux.cgroupsPath, "" for hull's default /hull/<id>

bundle() {
	local d=$B/$1 ns="" n res="" cgp=""
	rm -rf "$d"
	mkdir -p "$d"
	cp -a "$ROOTFS" "$d/rootfs"
	printf '%s\n' "$2" >"$d/rootfs/t.sh"
	for n in $CFG_NS; do ns="$ns${ns:+, }{\"type\": \"$n\"}"; done
	[ -n "$CFG_RES" ] && res=",
    \"resources\": $CFG_RES"
	[ -n "$CFG_CGROUPS_PATH" ] && cgp=",
    \"cgroupsPath\": \"$CFG_CGROUPS_PATH\""
	cat >"$d/config.json" <<EOF
{
  "ociVersion": "1.2.0",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/sh", "/t.sh"],
    "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"],
    "cwd": "/",
    "capabilities": {"bounding": [$CFG_CAPS], "effective": [$CFG_CAPS],
                     "permitted": [$CFG_CAPS]},
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "vmtest",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
     "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}$CFG_MOUNTS_EXTRA
  ],
  "linux": {
    "namespaces": [$ns]$res$cgp
  }
}
EOF
	echo "$d"
}

field() { # ID KEY: a top-level string or number of `hull state`
	H state "$1" 2>/dev/null | sed -n "s/^  \"$2\": *\"*\([^\",]*\)\"*,*\$/\1/p"
}
is_status() { [ "$(field "$1" status)" = "$2" ]; }

# create + start a bundle; its stdio goes to $B/ID.out. Fails the case on error.
start_container() { # ID BUNDLE
	local out
	H create --bundle "$2" "$1" >"$B/$1.out" 2>&1 </dev/null ||
		fail "hull create $1: $(cat "$B/$1.out")"
	out=$(H start "$1" 2>&1) || fail "hull start $1: $out"
	wait_until 50 is_status "$1" running || fail "$1 is $(field "$1" status), not running"
	note "$1 runs as pid $(field "$1" pid)"
}

cg_read() { cat "$CG/$1" 2>/dev/null | tr '\n' ' ' | sed 's/ *$//'; }

# After every case: delete what is left, report cgroups left behind.
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

# ---- placement -------------------------------------------------------------------------

case_run() {
	local id=vm-run d out rc
	CFG_NS="pid network ipc uts mount"
	d=$(bundle run 'cat /proc/self/cgroup')
	out=$(H run --bundle "$d" "$id" 2>&1)
	rc=$?
	note "$out"
	[ "$rc" -eq 0 ] || fail "hull run exited $rc: $out"
	[ "$out" = "0::/hull/$id" ] || fail "the container's /proc/self/cgroup: '$out', want 0::/hull/$id"
	[ ! -e "$CG/hull/$id" ] || fail "$CG/hull/$id is left after run"
	pass "hull run exit 0; /proc/self/cgroup 0::/hull/$id; cgroup removed after exit"
}

case_cgroupns_view() {
	local id=vm-cgns d out want
	d=$(bundle cgns 'cat /proc/self/cgroup
awk '\''$5 == "/sys/fs/cgroup" {print $(NF-2)}'\'' /proc/self/mountinfo
cat /sys/fs/cgroup/cgroup.controllers')
	out=$(H run --bundle "$d" "$id" 2>&1) || fail "hull run: $out"
	note "$out"
	want=$(printf '0::/\ncgroup2')
	case $out in
	"$want"*) ;;
	*) fail "in a cgroup namespace, want 0::/ and a cgroup2 /sys/fs/cgroup: $(ht_flat "$out")" ;;
	esac
	for c in memory pids cpu; do
		echo "$out" | tail -n 1 | grep -qw "$c" || fail "no $c in the container's cgroup.controllers: $(ht_flat "$out")"
	done
	pass "$(ht_flat "$out")"
}

case_create_in_cgroup() {
	local id=vm-create d pid
	d=$(bundle create 'exec sleep 60')
	H create --bundle "$d" "$id" >"$B/$id.out" 2>&1 || fail "create: $(cat "$B/$id.out")"
	pid=$(field "$id" pid)
	[ -n "$pid" ] || fail "no pid in hull state"
	grep -qx "0::/hull/$id" "/proc/$pid/cgroup" || fail "created: /proc/$pid/cgroup is $(cat "/proc/$pid/cgroup")"
	grep -qx "$pid" "$CG/hull/$id/cgroup.procs" || fail "$pid not in $CG/hull/$id/cgroup.procs"
	H start "$id" || fail "start failed"
	wait_until 50 is_status "$id" running || fail "not running"
	grep -qx "0::/hull/$id" "/proc/$pid/cgroup" || fail "running: /proc/$pid/cgroup is $(cat "/proc/$pid/cgroup")"
	pass "pid $pid in 0::/hull/$id when created and when running"
}

case_controllers_delegated() {
	local id=vm-deleg d have root c missing=""
	d=$(bundle deleg 'exec sleep 60')
	start_container "$id" "$d"
	root=$(cat "$CG/cgroup.controllers")
	have=$(cat "$CG/hull/$id/cgroup.controllers")
	for c in $root; do
		echo " $have " | grep -q " $c " || missing="$missing $c"
	done
	[ -z "$missing" ] || fail "the container's cgroup lacks:$missing (has: $have; /hull subtree_control: $(cat "$CG/hull/cgroup.subtree_control"))"
	pass "controllers: $have"
}

case_delete_removes_cgroup() {
	local id=vm-delete d out
	d=$(bundle delete 'exec sleep 60')
	start_container "$id" "$d"
	[ -d "$CG/hull/$id" ] || fail "no $CG/hull/$id while running"
	out=$(H kill "$id" KILL 2>&1) || fail "kill: $out"
	wait_until 50 is_status "$id" stopped || fail "not stopped after kill: $(field "$id" status)"
	out=$(H delete "$id" 2>&1) || fail "delete: $out"
	[ ! -e "$CG/hull/$id" ] || fail "$CG/hull/$id is left after delete"
	[ ! -e "$CG/hull" ] || fail "$CG/hull is left after the last container's delete"
	pass "$CG/hull/$id and $CG/hull removed"
}

case_create_failure() {
	local id=vm-fail d out
	CFG_MOUNTS_EXTRA=',
    {"destination": "/x", "type": "bind", "source": "/nonexistent-src", "options": ["bind"]}'
	d=$(bundle fail 'exec sleep 60')
	# Never $(hull create): a container that did start would hold the pipe open.
	if H create --bundle "$d" "$id" >"$B/$id.out" 2>&1 </dev/null; then
		fail "create succeeded with a bind mount of a missing source"
	fi
	out=$(cat "$B/$id.out")
	note "create: $out"
	[ ! -e "$CG/hull/$id" ] || fail "$CG/hull/$id is left after a failed create ($out)"
	[ ! -e "$CG/hull" ] || fail "$CG/hull is left after a failed create ($out)"
	[ ! -e "$STATE/$id" ] || fail "state $STATE/$id is left after a failed create"
	pass "no cgroup after: $out"
}

case_cgroups_path() {
	local id=vm-cgpath d pid
	CFG_CGROUPS_PATH=/vmtest/custom
	d=$(bundle cgpath 'exec sleep 60')
	start_container "$id" "$d"
	pid=$(field "$id" pid)
	grep -qx "0::/vmtest/custom" "/proc/$pid/cgroup" || fail "/proc/$pid/cgroup is $(cat "/proc/$pid/cgroup")"
	[ ! -e "$CG/hull/$id" ] || fail "$CG/hull/$id made as well"
	H delete --force "$id" >/dev/null 2>&1 || fail "delete --force failed"
	[ ! -e "$CG/vmtest" ] || fail "$CG/vmtest is left after delete"
	pass "0::/vmtest/custom, removed with its parent after delete"
}

# ---- resources (OCI linux.resources -> cgroup v2 files, runc's conversions) -------------

# limit 32M, swap (memory+swap, OCI) 64M -> memory.swap.max 32M; shares 1024 -> weight
# 1 + ((1024 - 2) * 9999) / 262142 = 39; blkio weight 500 -> io.weight
# 1 + ((500 - 10) * 9999) / 990 = 4950 (io.bfq.weight 500 when BFQ is there).
RES_ID=vm-res
RES_JSON='{"memory": {"limit": 33554432, "swap": 67108864},
      "cpu": {"shares": 1024, "quota": 50000, "period": 100000},
      "pids": {"limit": 20}, "blockIO": {"weight": 500}}'
APPLIED=unknown # yes: hull wrote at least one of the files; no: none

res_setup() {
	local d v
	CFG_RES=$RES_JSON
	# 30 forks under pids.max 20, in a subshell: a failed fork ends the shell that tried.
	d=$(bundle res '(i=0; while [ $i -lt 30 ]; do sleep 120 & i=$((i + 1)); done) 2>/dev/null
exec sleep 120')
	if ! H create --bundle "$d" "$RES_ID" >"$B/$RES_ID.out" 2>&1 </dev/null; then
		echo "create failed: $(cat "$B/$RES_ID.out")" >"$HT_TMP/res.error"
		return
	fi
	H start "$RES_ID"
	wait_until 50 is_status "$RES_ID" running
	sleep 1
	APPLIED=no
	for v in "memory.max:max" "memory.swap.max:max" "cpu.weight:100" "cpu.max:max 100000" \
		"pids.max:max" "io.weight:default 100"; do
		[ -e "$CG/hull/$RES_ID/${v%%:*}" ] || continue
		[ "$(cg_read "hull/$RES_ID/${v%%:*}")" = "${v#*:}" ] || APPLIED=yes
	done
	echo "$APPLIED" >"$HT_TMP/applied"
}

res_check() { # FILE WANT [WHY]
	local got
	[ ! -s "$HT_TMP/res.error" ] || fail "$(cat "$HT_TMP/res.error")"
	[ "$APPLIED" = no ] && skip "hull applied none of linux.resources (cgroup_apply not wired into create yet?)"
	[ -e "$CG/hull/$RES_ID/$1" ] || fail "no $1 in $CG/hull/$RES_ID"
	got=$(cg_read "hull/$RES_ID/$1")
	[ "$got" = "$2" ] || fail "$1 is '$got', want '$2'${3:+ ($3)}"
	pass "$1 = $got"
}

case_res_io_weight() {
	if [ -e "$CG/hull/$RES_ID/io.bfq.weight" ]; then
		res_check io.bfq.weight "default 500" "blockIO.weight 500 as it is, for BFQ"
	fi
	[ -e "$CG/hull/$RES_ID/io.weight" ] || skip "this kernel has no io.weight"
	res_check io.weight "default 4950" "blockIO.weight 500 -> 1 + (490 * 9999) / 990"
}

case_res_pids_enforced() {
	local cur
	[ "$APPLIED" = no ] && skip "hull applied none of linux.resources"
	[ "$(cg_read "hull/$RES_ID/pids.max")" = 20 ] || fail "pids.max is not 20"
	wait_until 100 grep -q '^max [1-9]' "$CG/hull/$RES_ID/pids.events" ||
		fail "pids.events: '$(cg_read "hull/$RES_ID/pids.events")' after 30 forks under pids.max 20"
	cur=$(cg_read "hull/$RES_ID/pids.current")
	[ "$cur" -ge 2 ] && [ "$cur" -le 20 ] || fail "pids.current is $cur, want 2..20"
	is_status "$RES_ID" running || fail "the container is $(field "$RES_ID" status), not running"
	pass "pids.current $cur, pids.events $(cg_read "hull/$RES_ID/pids.events")"
}

# A value the kernel refuses (cpuset.cpus of a CPU this 1-CPU guest lacks) fails create
# after the cgroup was made: it must go again.
case_create_failure_resource() {
	local id=vm-badres d out
	[ "$APPLIED" = no ] && skip "hull applied none of linux.resources"
	CFG_RES='{"cpu": {"cpus": "7"}}'
	d=$(bundle badres 'exec sleep 60')
	if H create --bundle "$d" "$id" >"$B/$id.out" 2>&1 </dev/null; then
		fail "create succeeded with cpu.cpus 7 on a 1-CPU host (cpuset.cpus $(cg_read "hull/$id/cpuset.cpus"))"
	fi
	out=$(cat "$B/$id.out")
	note "create: $out"
	[ ! -e "$CG/hull/$id" ] || fail "$CG/hull/$id is left after a failed create ($out)"
	[ ! -e "$CG/hull" ] || fail "$CG/hull is left after a failed create ($out)"
	[ ! -e "$STATE/$id" ] || fail "state $STATE/$id is left after a failed create"
	pass "no cgroup after: $out"
}

# ---- freezer ----------------------------------------------------------------------------

case_pause_resume() {
	local id=vm-pause d dir out
	has_cmd pause || skip "hull has no pause command yet"
	has_cmd resume || skip "hull has no resume command yet"
	d=$(bundle pause 'sleep 60 & exec sleep 60')
	start_container "$id" "$d"
	dir=$CG/hull/$id
	out=$(H pause "$id" 2>&1) || fail "hull pause: $out"
	[ "$(cat "$dir/cgroup.freeze")" = 1 ] || fail "cgroup.freeze is $(cat "$dir/cgroup.freeze") after pause"
	wait_until 20 grep -qx 'frozen 1' "$dir/cgroup.events" || fail "cgroup.events: $(cg_read "hull/$id/cgroup.events")"
	is_status "$id" paused || fail "state says $(field "$id" status) after pause"
	out=$(H resume "$id" 2>&1) || fail "hull resume: $out"
	[ "$(cat "$dir/cgroup.freeze")" = 0 ] || fail "cgroup.freeze is $(cat "$dir/cgroup.freeze") after resume"
	wait_until 20 grep -qx 'frozen 0' "$dir/cgroup.events" || fail "after resume cgroup.events: $(cg_read "hull/$id/cgroup.events")"
	is_status "$id" running || fail "state says $(field "$id" status) after resume"
	out=$(H pause "$id" 2>&1) || fail "second pause: $out"
	out=$(H delete --force "$id" 2>&1) || fail "delete --force of a paused container: $out"
	[ ! -e "$dir" ] || fail "$dir is left after delete --force of a paused container"
	pass "cgroup.freeze 1 + frozen 1 + paused; 0 + frozen 0 + running; delete -f while paused"
}

# ---- devices (the cgroup v2 eBPF device program) ------------------------------------------

# The rootfs gets /kmsg11 (c 1:11, /dev/kmsg: on no default allow list; writing it needs no
# capability) and /full7 (c 1:7, /dev/full: on runc's default allow list, so hull may
# allow it). The script reports what opening each gives.
DEV_SCRIPT='try() { if (echo x >"$2") 2>/dev/null; then echo "$1=ok"; else
  e=$( (echo x >"$2") 2>&1); echo "$1=${e##*: }"; fi; }
try null /dev/null; try kmsg11 /kmsg11; try full7 /full7
if [ "$(head -c 4 /dev/zero | wc -c)" = 4 ]; then echo zero=ok; else echo zero=denied; fi
if [ "$(head -c 4 /dev/urandom | wc -c)" = 4 ]; then echo urandom=ok; else echo urandom=denied; fi'

dev_run() { # NAME RULES-JSON: the script's report, as one line, in $R
	local d out
	CFG_RES="{\"devices\": $2}"
	d=$(bundle "$1" "$DEV_SCRIPT")
	mknod "$d/rootfs/kmsg11" c 1 11 && mknod "$d/rootfs/full7" c 1 7 || fail "mknod in the bundle"
	out=$(H run --bundle "$d" "vm-$1" 2>&1) || fail "hull run with devices $2: $(ht_flat "$out")"
	R=$(ht_flat "$out")
}

dev_want() { # REPORT KEY VALUE
	echo " $1 " | grep -q " $2=$3 " || fail "$2: want $3; got: $1"
}

# Allow all: the control, showing what the nodes do when nothing denies them.
case_devices_allow_all() {
	local r
	[ "$(cat "$HT_TMP/applied" 2>/dev/null)" = no ] && skip "hull applied none of linux.resources"
	dev_run devall '[{"allow": true, "access": "rwm"}]'
	r=$R
	dev_want "$r" null ok
	dev_want "$r" kmsg11 ok
	dev_want "$r" full7 "No space left on device"
	pass "$r"
}

# What `runc spec` writes: deny all. The container must still have its standard devices
# (runc adds its default allow list); /kmsg11 is refused with EPERM.
case_devices_deny_all() {
	local r
	[ "$(cat "$HT_TMP/applied" 2>/dev/null)" = no ] && skip "hull applied none of linux.resources"
	dev_run devdeny '[{"allow": false, "access": "rwm"}]'
	r=$R
	dev_want "$r" kmsg11 "Operation not permitted"
	dev_want "$r" null ok
	dev_want "$r" zero ok
	dev_want "$r" urandom ok
	pass "$r"
}

# Deny all, allow c 1:3 (/dev/null) alone.
case_devices_allow_null() {
	local r
	[ "$(cat "$HT_TMP/applied" 2>/dev/null)" = no ] && skip "hull applied none of linux.resources"
	dev_run devnull '[{"allow": false, "access": "rwm"},
      {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]'
	r=$R
	dev_want "$r" null ok
	dev_want "$r" kmsg11 "Operation not permitted"
	pass "$r"
}

# ---- OOM ---------------------------------------------------------------------------------

case_oom_kill() {
	local id=vm-oom d dir ev
	[ "$(cat "$HT_TMP/applied" 2>/dev/null)" = no ] && skip "hull applied none of linux.resources"
	CFG_RES='{"memory": {"limit": 33554432, "swap": 33554432}}'
	d=$(bundle oom 'sh -c '\''x=0123456789abcdef; while :; do x=$x$x; done'\''
echo hog exited $?; exec sleep 60')
	start_container "$id" "$d"
	dir=$CG/hull/$id
	[ "$(cat "$dir/memory.max")" = $((32 * MB)) ] || fail "memory.max is $(cat "$dir/memory.max")"
	wait_until 600 grep -q '^oom_kill [1-9]' "$dir/memory.events" ||
		fail "no oom_kill in memory.events: $(cg_read "hull/$id/memory.events"); output: $(cat "$B/$id.out")"
	ev=$(cg_read "hull/$id/memory.events")
	wait_until 50 grep -q 'hog exited' "$B/$id.out"
	is_status "$id" running || fail "the container's init died too: $(field "$id" status)"
	pass "memory.events: $ev; $(cat "$B/$id.out")"
}

# ---- exec, stats, delete --force -----------------------------------------------------------

case_exec() {
	local id=vm-exec d out
	has_cmd exec || skip "hull has no exec command yet"
	CFG_NS="pid network ipc uts mount"
	d=$(bundle exec 'exec sleep 60')
	start_container "$id" "$d"
	out=$(H exec "$id" cat /proc/self/cgroup 2>&1) || fail "hull exec: $out"
	[ "$out" = "0::/hull/$id" ] || fail "exec'd process: /proc/self/cgroup '$out', want 0::/hull/$id"
	pass "exec'd process in 0::/hull/$id"
}

case_events_stats() {
	local id=vm-stats d out
	has_cmd events || skip "hull has no events command yet"
	d=$(bundle stats 'sleep 60 & exec sleep 60')
	start_container "$id" "$d"
	out=$(H events --stats "$id" 2>&1) || fail "hull events --stats: $out"
	for k in '"stats"' '"pids"' '"memory"' '"cpu"'; do
		echo "$out" | grep -q "$k" || fail "no $k in: $(ht_flat "$out")"
	done
	echo "$out" | grep -Eq '"current": *[1-9]' || fail "no pids current >= 1 in: $(ht_flat "$out")"
	pass "$(echo "$out" | cut -c1-200)"
}

case_delete_force() {
	local id=vm-delf d dir pids p s one
	d=$(bundle delf 'sleep 60 & sleep 60 & exec sleep 60')
	start_container "$id" "$d"
	dir=$CG/hull/$id
	wait_until 50 sh -c "[ \$(wc -l <'$dir/cgroup.procs') -ge 3 ]" || fail "want 3 processes: $(cg_read "hull/$id/cgroup.procs")"
	pids=$(cat "$dir/cgroup.procs")
	# One process in a cgroup below the container's: cgroup.kill reaches the whole tree.
	one=$(echo "$pids" | tail -n 1)
	mkdir "$dir/sub" && echo "$one" >"$dir/sub/cgroup.procs" || fail "could not move $one to $dir/sub"
	out=$(H delete --force "$id" 2>&1) || fail "delete --force: $out"
	[ ! -e "$dir" ] || fail "$dir is left: $(find "$dir" | tr '\n' ' ')"
	[ ! -e "$CG/hull" ] || fail "$CG/hull is left"
	for p in $pids; do
		s=$(sed 's/.*) \(.\).*/\1/' "/proc/$p/stat" 2>/dev/null)
		[ -z "$s" ] || [ "$s" = Z ] || fail "process $p survived (state $s)"
	done
	[ ! -e "$STATE/$id" ] || fail "state dir left"
	pass "processes $(echo $pids) (one in a child cgroup) gone, cgroup removed"
}

# ---- the run -------------------------------------------------------------------------------

run_case run_in_cgroup case_run
run_case cgroupns_view case_cgroupns_view
run_case create_in_cgroup case_create_in_cgroup
run_case controllers_delegated case_controllers_delegated
run_case delete_removes_cgroup case_delete_removes_cgroup
run_case create_failure_no_cgroup case_create_failure
run_case cgroups_path case_cgroups_path

HT_AFTER_CASE=
res_setup >"$HT_TMP/res_setup.log" 2>&1
echo "HULLTEST-LOG resources: applied=$APPLIED; $(cat "$HT_TMP/res.error" 2>/dev/null)"
run_case resources_memory_max res_check memory.max $((32 * MB))
run_case resources_memory_swap_max res_check memory.swap.max $((32 * MB)) \
	"OCI memory.swap is memory+swap: 64M - 32M"
run_case resources_cpu_weight res_check cpu.weight 39 "shares 1024 -> 1 + (1022 * 9999) / 262142"
run_case resources_cpu_max res_check cpu.max "50000 100000"
run_case resources_pids_max res_check pids.max 20
run_case resources_io_weight case_res_io_weight
run_case resources_pids_enforced case_res_pids_enforced
HT_AFTER_CASE=cleanup
cleanup resources
run_case create_failure_resource case_create_failure_resource

run_case pause_resume case_pause_resume
run_case devices_allow_all case_devices_allow_all
run_case devices_deny_all case_devices_deny_all
run_case devices_allow_null case_devices_allow_null
run_case oom_kill case_oom_kill
run_case exec_in_cgroup case_exec
run_case events_stats case_events_stats
run_case delete_force case_delete_force
exit 0
