#!/bin/sh
# Micro-VM mode end to end, inside an L1 guest whose CPU has (QEMU-emulated) AMD SVM: load
# kvm-amd, then run containers with org.hull.vm=true through the real hull binary. Run by
# tests/vm/guest/init; tests/integration/test_vm_microvm.py boots it. The guest kernel is
# /hulltest/vmlinux (scripts/build-guest-kernel.sh), the modules are under /hulltest/kmod.
# One "HULLTEST <name> PASS|FAIL|SKIP <detail>" line per run_case (guest/hulltest.sh).
# On a host whose /dev/kvm can run a Linux guest, test_vm_microvm.py runs this script
# directly: HULLTEST_DIR then holds rootfs/ and vmlinux (no kmod/), HULL is the binary, and
# STATE and B are private directories.
# shellcheck disable=SC3043,SC2016,SC1090
. "$HULLTEST_LIB"

HT=${HULLTEST_DIR:-/hulltest}
HULL=${HULL:-/usr/bin/hull}
STATE=${STATE:-/run/hull-vmtest}
B=${B:-/tmp/vmbundles}
KERNEL=$HT/vmlinux
mkdir -p "$STATE" "$B"

H() { "$HULL" --root "$STATE" "$@"; }

# bundle NAME ARGS_JSON: a VM-mode bundle; the variables USER_JSON, CWD, ENV_JSON,
# ANNOTATIONS_JSON and TERMINAL (set on the call) replace the defaults; CAPS_JSON
# (process.capabilities), NNP (process.noNewPrivileges) and SECCOMP_JSON (linux.seccomp) add
# those fields, absent otherwise.
bundle() {
	local d=$B/$1 user=${USER_JSON:-} env=${ENV_JSON:-} ann=${ANNOTATIONS_JSON:-}
	local proc="" lx=""
	[ -z "${CAPS_JSON:-}" ] || proc="$proc, \"capabilities\": $CAPS_JSON"
	[ -z "${NNP:-}" ] || proc="$proc, \"noNewPrivileges\": $NNP"
	[ -z "${SECCOMP_JSON:-}" ] || lx=", \"seccomp\": $SECCOMP_JSON"
	[ -n "$user" ] || user='{"uid": 0, "gid": 0}'
	[ -n "$env" ] || env='["PATH=/bin:/usr/bin"]'
	[ -n "$ann" ] ||
		ann='{"org.hull.vm": "true", "org.hull.vm.kernel": "'$KERNEL'", "org.hull.vm.memory": "128"}'
	rm -rf "$d"
	mkdir -p "$d"
	cp -a "$HT/rootfs" "$d/rootfs"
	cat >"$d/config.json" <<JSON
{
  "ociVersion": "1.2.0",
  "process": {"terminal": ${TERMINAL:-false}, "user": $user, "args": $2, "env": $env, "cwd": "${CWD:-/}"$proc},
  "root": {"path": "rootfs"},
  "hostname": "vmbox",
  "annotations": $ann,
  "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
             {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
              "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
             {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
              "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]}],
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"},
                           {"type": "uts"}]$lx}
}
JSON
	echo "$d"
}

status() { H state "$1" 2>/dev/null | sed -n 's/^  "status": "\(.*\)",*$/\1/p'; }
is_status() { [ "$(status "$1")" = "$2" ]; }

cleanup() {
	local c
	for c in "$STATE"/*; do
		[ -d "$c" ] && H delete --force "$(basename "$c")" >/dev/null 2>&1
	done
	if [ -n "$(ls "$STATE" 2>/dev/null)" ]; then
		echo "HULLTEST-LOG $1: state left behind: $(ls "$STATE")"
	fi
	# In the VM the whole /hull tree is this script's; on a host it is not ours to clean.
	if [ -z "${HULLTEST_DIR:-}" ] && [ -d /sys/fs/cgroup/hull ] &&
		[ -n "$(find /sys/fs/cgroup/hull -mindepth 1 -type d)" ]; then
		echo "HULLTEST-LOG $1: cgroups left behind: $(find /sys/fs/cgroup/hull -type d | tr '\n' ' ')"
		find /sys/fs/cgroup/hull -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null
	fi
}
HT_AFTER_CASE=cleanup

case_kvm() {
	if [ ! -d "$HT/kmod" ]; then
		[ -c /dev/kvm ] && grep -qwE 'svm|vmx' /proc/cpuinfo || fail "no usable /dev/kvm"
		pass "the host's /dev/kvm"
	fi
	for m in irqbypass ccp kvm kvm-amd; do
		f=$(find "$HT/kmod" -name "$m.ko" | head -n 1)
		[ -n "$f" ] || fail "no $m.ko in the initramfs"
		insmod "$f" || fail "insmod $f"
	done
	[ -c /dev/kvm ] || fail "no /dev/kvm after loading kvm-amd"
	grep -qw svm /proc/cpuinfo || fail "no svm flag in the L1 guest"
	pass "kvm-amd loaded, /dev/kvm is there"
}

case_output_and_exit_status() {
	local d rc out
	d=$(bundle out '["/bin/sh", "-c", "echo hello from the vm; echo oops >&2; exit 3"]')
	out=$(H run -b "$d" vm-out 2>"$B/err")
	rc=$?
	note "out: $out / err: $(cat "$B/err")"
	[ "$rc" = 3 ] || fail "run exited $rc, not 3 (stderr: $(cat "$B/err"))"
	[ "$out" = "hello from the vm" ] || fail "stdout: $out"
	grep -q oops "$B/err" || fail "stderr has no 'oops': $(cat "$B/err")"
	pass "stdout, stderr and exit status 3 came back"
}

case_env_cwd_user_hostname() {
	local d out
	d=$(USER_JSON='{"uid": 1000, "gid": 1000}' CWD=/tmp ENV_JSON='["PATH=/bin", "FOO=bar"]' \
		bundle env '["/bin/sh", "-c", "echo $FOO $(pwd) $(id -u):$(id -g) $(hostname)"]')
	out=$(H run -b "$d" vm-env 2>&1) || fail "run failed: $out"
	[ "$out" = "bar /tmp 1000:1000 vmbox" ] || fail "the guest saw: $out"
	pass "$out"
}

case_terminal() {
	local d rc
	d=$(TERMINAL=true bundle tty '["/bin/sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo both-ttys; exit 4"]')
	# a foreground run with a terminal relays the container's pty to hull's own stdio
	Hlimited run -b "$d" vm-tty >"$B/tty.out" 2>&1
	rc=$?
	note "$(cat "$B/tty.out")"
	[ "$rc" = 4 ] || fail "run exited $rc, not 4: $(cat "$B/tty.out")"
	grep -q "/dev/hvc0" "$B/tty.out" || fail "the process's tty is not hvc0: $(cat "$B/tty.out")"
	grep -q "both-ttys" "$B/tty.out" || fail "stdin/stdout are not ttys: $(cat "$B/tty.out")"
	pass "process.terminal: $(tr -d '\r' <"$B/tty.out" | head -n 1), exit 4"
}

case_signal_reaches_the_process() {
	local d pid rc i
	d=$(bundle sig '["/bin/sh", "-c", "trap \"echo got TERM; exit 7\" TERM; echo ready; while :; do sleep 0.1; done"]')
	H run -b "$d" vm-sig >"$B/sig.out" 2>&1 &
	pid=$!
	wait_until 600 grep -q ready "$B/sig.out" || fail "never ready: $(cat "$B/sig.out")"
	H kill vm-sig TERM || fail "hull kill failed"
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	kill -0 "$pid" 2>/dev/null && { kill -9 "$pid"; fail "run did not end after SIGTERM"; }
	wait "$pid"
	rc=$?
	grep -q "got TERM" "$B/sig.out" || fail "the trap did not run: $(cat "$B/sig.out")"
	[ "$rc" = 7 ] || fail "run exited $rc, not 7"
	pass "SIGTERM reached the trap, exit 7"
}

case_lifecycle_ps_and_cgroup() {
	local d pid procs
	d=$(bundle life '["/bin/sh", "-c", "sleep 60"]')
	H create -b "$d" vm-life >"$B/life.out" 2>&1 || fail "create: $(cat "$B/life.out")"
	is_status vm-life created || fail "status $(status vm-life) after create"
	H start vm-life || fail "start failed"
	is_status vm-life running || fail "status $(status vm-life) after start"
	pid=$(H state vm-life | sed -n 's/^  "pid": \([0-9]*\),*$/\1/p')
	grep -q ':/hull/vm-life$' "/proc/$pid/cgroup" ||
		fail "the VMM ($pid) is not in the container's cgroup: $(cat "/proc/$pid/cgroup")"
	H ps vm-life | grep -q "$pid" || fail "hull ps does not list $pid"
	H kill vm-life KILL || fail "kill"
	wait_until 100 is_status vm-life stopped || fail "not stopped after SIGKILL"
	H delete vm-life || fail "delete"
	[ ! -d /sys/fs/cgroup/hull/vm-life ] || fail "cgroup left"
	pass "create/start/state/ps/kill/delete, the VMM in the cgroup"
}

case_kernel_panic_is_an_error() {
	local d rc start
	d=$(bundle panic '["/bin/sh", "-c", "echo c > /proc/sysrq-trigger; sleep 30"]')
	start=$(date +%s)
	H run -b "$d" vm-panic >"$B/panic.out" 2>&1
	rc=$?
	note "$(cat "$B/panic.out")"
	[ "$rc" != 0 ] || fail "run exited 0 after a kernel panic"
	[ $(($(date +%s) - start)) -lt 25 ] || fail "took too long (hang?)"
	grep -q "exit status" "$B/panic.out" || fail "no clear error: $(cat "$B/panic.out")"
	pass "rc $rc: $(tail -n 1 "$B/panic.out")"
}

case_bad_kernel_path() {
	local d out
	d=$(ANNOTATIONS_JSON='{"org.hull.vm": "true", "org.hull.vm.kernel": "/nonexistent/vmlinux"}' \
		bundle badk '["/bin/true"]')
	out=$(H run -b "$d" vm-badk 2>&1) && fail "run succeeded with a missing kernel"
	[ "$(echo "$out" | wc -l)" = 1 ] || fail "not one line: $out"
	echo "$out" | grep -q "org.hull.vm.kernel" || fail "does not name org.hull.vm.kernel: $out"
	[ -z "$(ls "$STATE")" ] || fail "state left: $(ls "$STATE")"
	pass "$out"
}

# A run that waits for stdin's end must not hang the whole suite when it never comes.
Hlimited() { timeout 60 "$HULL" --root "$STATE" "$@"; }

# All of stdin, and then its end: the guest init closes the process's stdin after exactly the
# byte count the VMM sends with `eof N`, however late hvc0 hands over its last bytes.
case_stdin_reaches_the_process() {
	local d want got rc
	d=$(bundle stdin '["/bin/sh", "-c", "md5sum"]')
	want=$(seq 1 20000 | md5sum)
	got=$(seq 1 20000 | Hlimited run -b "$d" vm-stdin 2>"$B/stdin.err")
	rc=$?
	note "pipe: rc $rc, want '$want', got '$got', stderr: $(cat "$B/stdin.err")"
	[ "$rc" = 0 ] || fail "run exited $rc (killed after 60 s: no end-of-file?)"
	[ "$got" = "$want" ] || fail "md5sum in the VM: '$got', of the 108894 bytes sent: '$want'"
	seq 1 20000 >"$B/stdin.txt"
	got=$(Hlimited run -b "$d" vm-stdin-file <"$B/stdin.txt" 2>"$B/stdin.err")
	rc=$?
	note "file: rc $rc, got '$got', stderr: $(cat "$B/stdin.err")"
	[ "$rc" = 0 ] || fail "from a file: run exited $rc"
	[ "$got" = "$want" ] || fail "from a file: md5sum in the VM: '$got'"
	pass "108894 bytes through a pipe and from a file, md5 ${want%% *}"
}

case_empty_stdin_ends() {
	local d out rc start took
	d=$(bundle empty '["/bin/sh", "-c", "cat; echo done"]')
	start=$(date +%s)
	out=$(Hlimited run -b "$d" vm-empty </dev/null 2>"$B/empty.err")
	rc=$?
	took=$(($(date +%s) - start))
	note "rc $rc after ${took}s: $out / stderr: $(cat "$B/empty.err")"
	[ "$rc" = 0 ] || fail "run exited $rc after ${took}s (killed after 60 s: no end-of-file?)"
	[ "$out" = "done" ] || fail "output: $out"
	[ "$took" -lt 25 ] || fail "took ${took}s"
	pass "cat saw end-of-file at once, exit 0 in ${took}s"
}

# "CapInh=... CapPrm=... CapEff=... CapBnd=... CapAmb=..." from /proc/self/status lines.
cap_masks() { echo "$1" | sed -n 's/^\(Cap[A-Za-z]*\):[[:space:]]*\([0-9a-f]*\).*/\1=\2/p' | tr '\n' ' '; }

# A root process's permitted and effective sets after execve are its bounding set (plus
# inheritable, none here): all three are exactly CAP_CHOWN|CAP_KILL (bits 0 and 5).
case_capabilities_root() {
	local d out got want
	d=$(CAPS_JSON='{"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN", "CAP_KILL"], "permitted": ["CAP_CHOWN", "CAP_KILL"], "ambient": []}' \
		bundle caps '["/bin/sh", "-c", "grep ^Cap /proc/self/status; touch /tmp/f && chown 1:1 /tmp/f && echo chown-ok; hostname other || echo hostname-refused"]')
	out=$(H run -b "$d" vm-caps 2>&1) || fail "run failed: $out"
	note "$out"
	got=$(cap_masks "$out")
	want="CapInh=0000000000000000 CapPrm=0000000000000021 CapEff=0000000000000021 CapBnd=0000000000000021 CapAmb=0000000000000000 "
	[ "$got" = "$want" ] || fail "the guest's process has $got, not $want"
	echo "$out" | grep -q chown-ok || fail "CAP_CHOWN did not work: $out"
	echo "$out" | grep -q hostname-refused || fail "sethostname worked without CAP_SYS_ADMIN: $out"
	pass "$got; chown works, sethostname does not"
}

# A user other than root keeps only its ambient set across execve (capabilities(7)).
case_capabilities_ambient_user() {
	local d out got want
	d=$(USER_JSON='{"uid": 1000, "gid": 1000}' \
		CAPS_JSON='{"bounding": ["CAP_CHOWN", "CAP_KILL"], "effective": ["CAP_CHOWN"], "permitted": ["CAP_CHOWN"], "inheritable": ["CAP_CHOWN"], "ambient": ["CAP_CHOWN"]}' \
		bundle capamb '["/bin/sh", "-c", "grep ^Cap /proc/self/status; id -u; touch /tmp/f && chown 0:0 /tmp/f && echo chown-ok"]')
	out=$(H run -b "$d" vm-capamb 2>&1) || fail "run failed: $out"
	note "$out"
	got=$(cap_masks "$out")
	want="CapInh=0000000000000001 CapPrm=0000000000000001 CapEff=0000000000000001 CapBnd=0000000000000021 CapAmb=0000000000000001 "
	[ "$got" = "$want" ] || fail "the guest's process has $got, not $want"
	echo "$out" | grep -qx 1000 || fail "not uid 1000: $out"
	echo "$out" | grep -q chown-ok || fail "uid 1000 could not chown with ambient CAP_CHOWN: $out"
	pass "uid 1000: $got; chown to root works"
}

# Both places the guest loads a filter: before the user switch (without no_new_privs, the
# load needs CAP_SYS_ADMIN) and right before execve (with it).
case_seccomp_errno_rule() {
	local d out nnp
	for nnp in false true; do
		d=$(NNP=$nnp SECCOMP_JSON='{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}' \
			bundle sec '["/bin/sh", "-c", "mkdir /tmp/x; echo rc=$?; [ -e /tmp/x ] && echo x-exists; touch /tmp/y && ls /tmp/y; grep ^Seccomp: /proc/self/status"]')
		out=$(H run -b "$d" vm-sec 2>&1) || fail "noNewPrivileges $nnp: run failed: $out"
		note "noNewPrivileges $nnp: $out"
		echo "$out" | grep -q "Operation not permitted" || fail "noNewPrivileges $nnp: mkdir did not fail with EPERM: $out"
		echo "$out" | grep -qx "rc=1" || fail "noNewPrivileges $nnp: mkdir's status: $out"
		echo "$out" | grep -q x-exists && fail "noNewPrivileges $nnp: /tmp/x was made: $out"
		echo "$out" | grep -qx "/tmp/y" || fail "noNewPrivileges $nnp: other commands failed: $out"
		echo "$out" | grep -q "^Seccomp:[[:space:]]*2" || fail "noNewPrivileges $nnp: not in filter mode: $out"
	done
	pass "mkdir: $(echo "$out" | grep "Operation not permitted"); touch and ls work"
}

# The config `hull spec` writes, changed only to run in a VM without a terminal: the guest's
# process has the spec's bounding set (AUDIT_WRITE 29, KILL 5, NET_BIND_SERVICE 10).
case_default_spec_capabilities() {
	local d=$B/spec out got want bnd
	rm -rf "$d"
	mkdir -p "$d"
	cp -a "$HT/rootfs" "$d/rootfs"
	(cd "$d" && H spec) || fail "hull spec failed"
	bnd=$(sed -n '/"bounding": \[/,/\]/p' "$d/config.json" | grep -o 'CAP_[A-Z_]*' | tr '\n' ' ')
	[ "$bnd" = "CAP_AUDIT_WRITE CAP_KILL CAP_NET_BIND_SERVICE " ] ||
		fail "hull spec's bounding set is now $bnd: update the masks of this case"
	sed -i -e 's/"terminal": true/"terminal": false/' \
		-e 's|^\( *\)"sh"$|\1"sh", "-c", "grep ^Cap /proc/self/status"|' \
		-e 's|"hostname": "hull",|"hostname": "hull", "annotations": {"org.hull.vm": "true", "org.hull.vm.kernel": "'"$KERNEL"'", "org.hull.vm.memory": "128"},|' \
		"$d/config.json"
	out=$(H run -b "$d" vm-spec 2>&1) || fail "run failed: $out"
	note "$out"
	got=$(cap_masks "$out")
	want="CapInh=0000000000000000 CapPrm=0000000020000420 CapEff=0000000020000420 CapBnd=0000000020000420 CapAmb=0000000000000000 "
	[ "$got" = "$want" ] || fail "the guest's process has $got, not $want"
	pass "$got"
}

run_case kvm case_kvm
if [ -c /dev/kvm ]; then
	run_case output_and_exit_status case_output_and_exit_status
	run_case env_cwd_user_hostname case_env_cwd_user_hostname
	run_case terminal case_terminal
	run_case signal_reaches_the_process case_signal_reaches_the_process
	run_case lifecycle_ps_and_cgroup case_lifecycle_ps_and_cgroup
	run_case kernel_panic_is_an_error case_kernel_panic_is_an_error
	run_case bad_kernel_path case_bad_kernel_path
	run_case stdin_reaches_the_process case_stdin_reaches_the_process
	run_case empty_stdin_ends case_empty_stdin_ends
	run_case capabilities_root case_capabilities_root
	run_case capabilities_ambient_user case_capabilities_ambient_user
	run_case seccomp_errno_rule case_seccomp_errno_rule
	run_case default_spec_capabilities case_default_spec_capabilities
fi
