"""linux.seccomp: errno actions, argument conditions, the default action, kill, notify."""

import signal

from conftest import assert_error

# What the static probe and hull's last steps before execve need, for filters whose
# default action denies.
BASE_ALLOW = """
read write readv writev pread64 pwrite64 open openat openat2 close close_range lseek fstat
newfstatat stat lstat statx access faccessat faccessat2 readlink readlinkat getdents64 fcntl
dup dup2 dup3 pipe pipe2 ioctl execve execveat exit exit_group brk mmap munmap mprotect
mremap madvise arch_prctl set_tid_address set_robust_list rseq prlimit64 getrlimit
getrandom uname getpid gettid getuid geteuid getgid getegid getgroups getcwd chdir fchdir
rt_sigaction rt_sigprocmask rt_sigreturn rt_sigsuspend sigaltstack kill tgkill tkill
futex nanosleep clock_nanosleep clock_gettime gettimeofday wait4 waitid clone clone3 fork
vfork poll ppoll select pselect6 capget capset prctl setgroups setresuid setresgid setuid
setgid umask sched_getaffinity sched_yield sched_getscheduler sched_getparam getpriority
setpriority ioprio_get socket connect sendmsg recvmsg sendto recvfrom getsockopt setsockopt
personality sysinfo mkdir unlink rename epoll_create1 epoll_ctl epoll_wait epoll_pwait
""".split()


def seccomp_bundle(h, args, seccomp):
    b = h.bundle(args)
    b.config["linux"]["seccomp"] = seccomp
    b.write()
    return b


def test_errno_with_errno_ret(h):
    b = seccomp_bundle(h, ["/bin/sh", "-c", "/probe syscall getppid; /probe syscall getpgid 0;"
                           " /probe syscall getpid; /probe report"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [
            {"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42},
            {"names": ["getpgid", "not_a_syscall_at_all"], "action": "SCMP_ACT_ERRNO"},
        ],
    })
    r = h.run_container(b)
    assert r.rc == 0, r
    ppid, pgid, pid, report = r.json_lines()
    assert ppid["errno"] == 42, ppid
    assert pgid["errno"] == 1, pgid  # EPERM when errnoRet is not given
    assert pid["errno"] == 0 and pid["ret"] > 0, pid
    assert report["seccomp"] == 2 and report["seccomp_filters"] >= 1, report


def test_argument_conditions(h):
    b = seccomp_bundle(h, ["/bin/sh", "-c", "/probe syscall umask 18; /probe syscall umask 63;"
                           " /probe syscall getpriority 0 0; /probe syscall getpriority 1 0"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [
            {"names": ["umask"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
             "args": [{"index": 0, "value": 18, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpriority"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
             "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]},
        ],
    })
    r = h.run_container(b)
    assert r.rc == 0, r
    u18, u63, p0, p1 = r.json_lines()
    assert u18["errno"] == 13, u18
    assert u63["errno"] == 0, u63
    assert p0["errno"] == 0, p0
    assert p1["errno"] == 22, p1


def test_default_action_errno(h):
    b = seccomp_bundle(h, ["/probe", "syscall", "getppid"], {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64"],
        "syscalls": [{"names": BASE_ALLOW, "action": "SCMP_ACT_ALLOW"}],
    })
    r = h.run_container(b)
    assert r.rc == 0, r
    (ppid,) = r.json_lines()
    assert ppid["errno"] == 38, ppid


def test_kill_action(h):
    b = seccomp_bundle(h, ["/probe", "syscall", "getppid"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_KILL_PROCESS"}],
    })
    r = h.run_container(b)
    assert r.rc == 128 + signal.SIGSYS, r
    assert r.out == "", r


def test_notify_is_refused_clearly(h):
    b = seccomp_bundle(h, ["/probe", "report"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": str(h.tmp / "seccomp.sock"),
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}],
    })
    line = assert_error(h.run_container(b))
    assert "SCMP_ACT_NOTIFY" in line or "notify" in line.lower(), line
    assert "support" in line.lower(), line


def test_unknown_action_and_operator(h):
    b = seccomp_bundle(h, ["/probe", "report"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_BOGUS"}],
    })
    assert_error(h.run_container(b), "SCMP_ACT_BOGUS")
    b = seccomp_bundle(h, ["/probe", "report"], {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["umask"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_BOGUS"}]}],
    })
    assert_error(h.run_container(b), "SCMP_CMP_BOGUS")


def test_no_seccomp_by_default(h):
    report = h.report(h.bundle())
    assert report["seccomp"] == 0


def close_range_denied(h, args):
    """A filter that denies close_range, loaded before the user switch (no
    noNewPrivileges), as in profiles written before close_range existed."""
    b = seccomp_bundle(h, args, {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["close_range"], "action": "SCMP_ACT_ERRNO"}],
    })
    b.config["process"]["noNewPrivileges"] = False
    b.write()
    return b


def test_filter_denying_close_range_run(h):
    """hull marks inherited descriptors close-on-exec before it loads the filter: a profile
    that does not allow close_range must not stop the container, and nothing leaks."""
    b = close_range_denied(h, ["/probe", "report"])
    r = h.run_container(b)
    assert r.rc == 0, r
    report = r.json_lines()[-1]
    assert [f["fd"] for f in report["fds"]] == [0, 1, 2], report["fds"]
    assert report["seccomp"] == 2, report


def test_filter_denying_close_range_exec(h):
    b = close_range_denied(h, ["/probe", "sleep", "60"])
    cid = h.create(b).cid
    h.ok("start", cid)
    r = h.run("exec", cid, "/probe", "report")
    assert r.rc == 0, r
    report = r.json_lines()[-1]
    assert [f["fd"] for f in report["fds"]] == [0, 1, 2], report["fds"]
    h.ok("delete", "--force", cid)
