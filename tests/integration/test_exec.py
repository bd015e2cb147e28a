"""hull exec: a new process in a running container, in its namespaces and cgroups, with its
security; the command line's process options; terminals, detach, --process FILE; refusals."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import DEFAULT_CAPS, NS_FILES, ConsoleSocket, assert_error, cap_mask, \
    cgroup_dir_for, cgroup_mounts, drop_mount, pid_alive, proc_status, read_text, \
    set_namespace, wait_for

USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def start(h, b=None, tweak=None):
    """A detached container running `probe sleep 60`; returns (id, init pid)."""
    b = b or h.bundle(["/probe", "sleep", "60"])
    if tweak:
        tweak(b.config)
        b.write()
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    pid = h.pid(cid)
    wait_for(lambda: "sleep" in read_text(f"/proc/{pid}/cmdline", ""), 5, "the init's exec")
    return cid, pid


def report(h, cid, *opts, args=("/probe", "report")):
    r = h.run("exec", *opts, cid, *args)
    assert r.rc == 0, r
    lines = r.json_lines()
    assert lines, r
    return lines[-1]


def exec_detached(h, cid, *opts, args=("/probe", "sleep", "60")):
    """exec -d with a --pid-file; returns the exec'd process's host pid."""
    pid_file = h.tmp / f"exec-{time.monotonic_ns()}.pid"
    h.ok("exec", "-d", "--pid-file", pid_file, *opts, cid, *args)
    pid = int(pid_file.read_text())
    wait_for(lambda: "sleep" in read_text(f"/proc/{pid}/cmdline", ""), 5, "the exec'd sleep")
    return pid


def caps_of(report_or_status, key):
    return int(report_or_status[key], 16)


def mount_points(pid):
    """Mount points of pid, relative to its own root (as /proc/PID/mountinfo shows them)."""
    return sorted(l.split(" ")[4] for l in read_text(f"/proc/{pid}/mountinfo").splitlines())


def make_userns(h, cfg):
    h.make_traversable()
    set_namespace(cfg, "user")
    cfg["linux"]["uidMappings"] = list(USERNS_MAP)
    cfg["linux"]["gidMappings"] = list(USERNS_MAP)
    drop_mount(cfg, "/sys/fs/cgroup")  # v1 hierarchies cannot be mounted from a userns


# ---------------------------------------------------------------------------
# Running and exit status


@pytest.mark.parametrize("code", [0, 3])
def test_exit_status_is_the_process_status(h, code):
    cid, _ = start(h)
    r = h.run("exec", cid, "/probe", "exit", str(code))
    assert r.rc == code, r
    assert r.err == "", r
    h.ok("delete", "-f", cid)


def test_killed_process_is_128_plus_signal(h):
    cid, _ = start(h)
    r = h.run("exec", cid, "/bin/sh", "-c", "kill -9 $$")
    assert r.rc == 128 + 9, r
    h.ok("delete", "-f", cid)


def test_output_and_args(h):
    cid, _ = start(h)
    args = ["/probe", "report", "two words", "", "ünï"]
    assert report(h, cid, args=args)["argv"] == args
    # runc's usage allows `--` between the id and the command.
    r = h.ok("exec", cid, "--", "/bin/echo", "hello there")
    assert r.out == "hello there\n"
    h.ok("delete", "-f", cid)


def test_stdin_is_passed(h):
    cid, _ = start(h)
    src = h.tmp / "in.txt"
    src.write_text("from stdin\n")
    with open(src, "rb") as f:
        r = h.run("exec", cid, "/bin/cat", stdin=f)
    assert r.rc == 0 and r.out == "from stdin\n", r
    h.ok("delete", "-f", cid)


def test_signals_are_forwarded(h):
    cid, _ = start(h)
    p, out, _ = h.popen("exec", cid, "/probe", "signals")
    wait_for(lambda: "ready" in read_text(out, ""), 10, "probe signals to be ready")
    p.send_signal(signal.SIGUSR1)
    wait_for(lambda: "signal 10 USR1" in read_text(out, ""), 10, "SIGUSR1 forwarded")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 0
    h.ok("delete", "-f", cid)


# ---------------------------------------------------------------------------
# Where the process runs: namespaces, cgroups, mounts


def test_joins_every_namespace_of_the_init(h):
    cid, init = start(h)
    rep = report(h, cid)
    for name in NS_FILES.values():
        if os.path.exists(f"/proc/{init}/ns/{name}"):
            assert rep["namespaces"][name] == os.readlink(f"/proc/{init}/ns/{name}"), name
    assert rep["hostname"] == "hull-test"
    assert rep["pid"] > 1 and rep["ppid"] == 0  # its parent (hull exec) is outside
    h.ok("delete", "-f", cid)


def test_same_cgroups_and_mounts_as_the_init(h):
    cid, init = start(h)
    pid = exec_detached(h, cid)
    assert read_text(f"/proc/{pid}/cgroup") == read_text(f"/proc/{init}/cgroup")
    assert mount_points(pid) == mount_points(init)
    assert os.readlink(f"/proc/{pid}/root") == os.readlink(f"/proc/{init}/root")
    # In the container's cgroup namespace, its own cgroup is the root.
    rep = report(h, cid)
    assert all(line.endswith(":/") for line in rep["cgroup"]), rep["cgroup"]
    h.ok("delete", "-f", cid)
    assert not pid_alive(pid)


def test_time_namespace_joined(h):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel without time namespaces")

    def tweak(cfg):
        set_namespace(cfg, "time")
        cfg["linux"]["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0}}

    cid, init = start(h, tweak=tweak)
    rep = report(h, cid)
    assert rep["namespaces"]["time"] == os.readlink(f"/proc/{init}/ns/time")
    assert rep["clocks"]["monotonic"] >= time.clock_gettime(time.CLOCK_MONOTONIC) + 86000
    h.ok("delete", "-f", cid)


def test_sub_cgroup(h):
    cid, init = start(h)
    made = []
    for line in read_text(f"/proc/{init}/cgroup").splitlines():
        d = cgroup_dir_for(line)
        if d is not None and d.is_dir():
            (d / "sub").mkdir()
            made.append(d / "sub")
            for f in ("cpuset.cpus", "cpuset.mems"):  # a v1 cpuset starts empty
                if (d / f).exists() and not (d / "cgroup.controllers").exists():
                    (d / "sub" / f).write_text((d / f).read_text())
    assert made
    pid = exec_detached(h, cid, "--cgroup", "sub")
    for line in read_text(f"/proc/{pid}/cgroup").splitlines():
        assert line.endswith("/sub"), line
    assert_error(h.run("exec", "--cgroup", "nope", cid, "/probe", "exit", "0"), "nope")
    assert_error(h.run("exec", "--cgroup", "../x", cid, "/probe", "exit", "0"), "../x")
    h.ok("delete", "-f", cid)
    assert not any(d.exists() for d in made)


# ---------------------------------------------------------------------------
# The process: env, cwd, user, capabilities, no_new_privs, limits, seccomp


def test_env_added_and_overridden(h):
    cid, _ = start(h)
    env = report(h, cid, "-e", "FOO=bar", "--env", "TERM=dumb", "-e", "EQ=a=b")["env"]
    assert "FOO=bar" in env and "EQ=a=b" in env
    assert "TERM=dumb" in env and "TERM=xterm" not in env, env
    assert any(e.startswith("PATH=") for e in env) and "HOME=/root" in env
    assert_error(h.run("exec", "-e", "NOEQUALS", cid, "/probe", "exit", "0"), "NOEQUALS")
    h.ok("delete", "-f", cid)


def test_cwd(h):
    cid, _ = start(h)
    assert report(h, cid)["cwd"] == "/"
    assert report(h, cid, "--cwd", "/tmp")["cwd"] == "/tmp"
    assert_error(h.run("exec", "--cwd", "/missing", cid, "/probe", "exit", "0"), "/missing")
    h.ok("delete", "-f", cid)


def test_user_and_additional_gids(h):
    cid, _ = start(h)
    rep = report(h, cid, "-u", "1000:1000", "-g", "1001", "--additional-gids", "1002")
    assert (rep["uid"], rep["euid"], rep["gid"], rep["egid"]) == (1000,) * 4, rep
    assert set(rep["groups"]) - {1000} == {1001, 1002}, rep["groups"]
    rep = report(h, cid, "--user", "1000")  # the config's gid stays
    assert (rep["uid"], rep["gid"]) == (1000, 0)
    assert_error(h.run("exec", "-u", "tester", cid, "/probe", "exit", "0"), "tester")
    h.ok("delete", "-f", cid)


def test_capabilities_as_the_init_and_added(h):
    cid, init = start(h)
    st = proc_status(init)
    rep = report(h, cid)
    for key, field in (("effective", "CapEff"), ("permitted", "CapPrm"),
                       ("bounding", "CapBnd"), ("inheritable", "CapInh")):
        assert caps_of(rep["caps"], key) == caps_of(st, field), key
    want = cap_mask(DEFAULT_CAPS + ["CAP_NET_ADMIN", "CAP_SYS_TIME"])
    rep = report(h, cid, "--cap", "CAP_NET_ADMIN", "-c", "CAP_SYS_TIME")
    for key in ("effective", "permitted", "bounding"):
        assert caps_of(rep["caps"], key) == want, key
    # runc >= 1.1.2: never inheritable (CVE-2022-29162), so no ambient either.
    assert caps_of(rep["caps"], "inheritable") == 0
    assert caps_of(rep["caps"], "ambient") == 0
    # ignored with a warning, as runc does
    r = h.run("exec", "--cap", "CAP_NOPE", cid, "/probe", "exit", "0")
    assert r.rc == 0 and "CAP_NOPE" in r.err, r
    h.ok("delete", "-f", cid)


def test_no_new_privs(h):
    cid, _ = start(h, tweak=lambda cfg: cfg["process"].update(noNewPrivileges=False))
    assert report(h, cid)["no_new_privs"] == 0
    assert report(h, cid, "--no-new-privs")["no_new_privs"] == 1
    h.ok("delete", "-f", cid)


def test_rlimits_of_the_config(h):
    cid, _ = start(h, tweak=lambda cfg: cfg["process"].update(
        rlimits=[{"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654}]))
    rep = report(h, cid)
    assert rep["rlimits"]["RLIMIT_NOFILE"] == {"soft": 321, "hard": 654}
    h.ok("delete", "-f", cid)


@pytest.mark.parametrize("nnp", [True, False])
def test_container_seccomp_applies(h, nnp):
    def tweak(cfg):
        cfg["process"]["noNewPrivileges"] = nnp
        cfg["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42}],
        }

    cid, _ = start(h, tweak=tweak)
    rep = report(h, cid, "-u", "1000:1000")
    assert rep["seccomp"] == 2 and rep["seccomp_filters"] >= 1, rep
    r = h.run("exec", cid, "/probe", "syscall", "getppid")
    assert r.rc == 0 and r.json_lines()[-1]["errno"] == 42, r
    h.ok("delete", "-f", cid)


def test_only_stdio_and_preserved_fds(h):
    cid, _ = start(h)
    assert [f["fd"] for f in report(h, cid)["fds"]] == [0, 1, 2]
    extra = h.tmp / "extra.txt"
    extra.write_text("x")
    # A shell opens fd 3 for hull, as a caller passing a socket would.
    argv = ["/bin/sh", "-c", 'exec 3<"$0"; exec "$@"', str(extra),
            *h.cmd("exec", "--preserve-fds", "1", cid, "/probe", "report")]
    r = h.run(argv=argv)
    assert r.rc == 0, r
    fds = r.json_lines()[-1]["fds"]
    assert [f["fd"] for f in fds] == [0, 1, 2, 3], fds
    assert fds[3]["target"] == str(extra)
    h.ok("delete", "-f", cid)


# ---------------------------------------------------------------------------
# Terminals, detach, --process FILE


def test_no_terminal_by_default(h):
    cid, _ = start(h)
    assert report(h, cid)["tty"]["stdin"] is False
    h.ok("delete", "-f", cid)


def test_terminal_relayed_in_the_foreground(h):
    cid, _ = start(h)
    r = h.run("exec", "-t", cid, "/probe", "report")
    assert r.rc == 0, r
    rep = r.json_lines()[-1]
    assert rep["tty"]["stdin"] and rep["tty"]["stdout"], rep["tty"]
    assert rep["tty"]["ttyname"].startswith("/dev/pts/")
    h.ok("delete", "-f", cid)


@pytest.mark.parametrize("detach", [True, False])
def test_terminal_console_socket(h, detach):
    cid, _ = start(h)
    console = ConsoleSocket(h.tmp / "console.sock")
    try:
        r = h.run("exec", "-t", *(["-d"] if detach else []), "--console-socket", console.path,
                  cid, "/bin/sh", "-c", "/probe report; exit 5")
        assert r.rc == (0 if detach else 5), r
        out = console.wait()
    finally:
        console.close()
    rep = json.loads(out.strip().splitlines()[-1])
    assert rep["tty"]["stdin"] and rep["tty"]["ttyname"].startswith("/dev/pts/"), rep["tty"]
    assert [f["fd"] for f in rep["fds"]] == [0, 1, 2], rep["fds"]
    h.ok("delete", "-f", cid)


def test_terminal_option_conflicts(h):
    cid, _ = start(h)
    assert_error(h.run("exec", "-t", "-d", cid, "/probe", "exit", "0"), "console-socket")
    sock = h.tmp / "c.sock"
    console = ConsoleSocket(sock)
    try:
        assert_error(h.run("exec", "--console-socket", sock, cid, "/probe", "exit", "0"),
                     "terminal")
    finally:
        console.close()
    h.ok("delete", "-f", cid)


def test_detach_pid_file(h):
    cid, init = start(h)
    pid_file = h.tmp / "exec.pid"
    r = h.run("exec", "-d", "--pid-file", pid_file, cid, "/probe", "sleep", "60", "exectag")
    assert r.rc == 0 and r.out == "" and r.err == "", r
    assert r.elapsed < 5
    pid = int(pid_file.read_text())
    assert not (h.tmp / "exec.pid.tmp").exists()
    wait_for(lambda: "exectag" in read_text(f"/proc/{pid}/cmdline", ""), 5, "exec'd sleep")
    assert os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{init}/ns/pid")
    assert h.state(cid)["status"] == "running"
    h.ok("delete", "-f", cid)
    wait_for(lambda: not pid_alive(pid), 5, "the exec'd process to die with the container")


def test_process_file(h):
    cid, _ = start(h)
    proc = {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [1001]},
        "args": ["/probe", "report", "from-file"],
        "env": ["PATH=/bin", "ONLY=this"],
        "cwd": "/home/tester",
        "noNewPrivileges": True,
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                         "permitted": ["CAP_KILL"]},
    }
    pf = h.tmp / "process.json"
    pf.write_text(json.dumps(proc))
    rep = report(h, cid, "--process", pf, args=())
    assert rep["argv"] == proc["args"]
    assert sorted(rep["env"]) == sorted(["PATH=/bin", "ONLY=this", "HOME=/home/tester"])
    assert (rep["uid"], rep["gid"], rep["cwd"]) == (1000, 1000, "/home/tester")
    assert 1001 in rep["groups"] and rep["no_new_privs"] == 1
    assert caps_of(rep["caps"], "bounding") == cap_mask(["CAP_KILL"])
    # uid 1000 without ambient capabilities: execve empties the other sets.
    assert caps_of(rep["caps"], "effective") == 0
    # No capabilities object: none at all, as for config.json.
    del proc["capabilities"]
    pf.write_text(json.dumps(proc))
    assert caps_of(report(h, cid, "-p", pf, args=())["caps"], "bounding") == 0
    h.ok("delete", "-f", cid)


def test_process_file_invalid(h):
    cid, _ = start(h)
    pf = h.tmp / "process.json"
    pf.write_text(json.dumps({"args": [], "cwd": "/"}))
    assert_error(h.run("exec", "--process", pf, cid), "args")
    pf.write_text(json.dumps({"args": ["/probe"], "cwd": "relative"}))
    assert_error(h.run("exec", "--process", pf, cid), "cwd")
    pf.write_text("{not json")
    assert_error(h.run("exec", "--process", pf, cid), "process.json")
    assert_error(h.run("exec", "--process", h.tmp / "missing.json", cid), "missing.json")
    pf.write_text(json.dumps({"args": ["/probe"], "cwd": "/"}))
    assert_error(h.run("exec", "--process", pf, cid, "/probe", "report"), "--process")
    h.ok("delete", "-f", cid)


def test_process_file_wins_over_process_flags(h):
    """As runc: with --process the file is the whole process; -e, -u, --cwd are ignored."""
    cid, _ = start(h)
    pf = h.tmp / "process.json"
    pf.write_text(json.dumps({"args": ["/probe", "report"], "cwd": "/", "env": ["ONLY=file"]}))
    rep = report(h, cid, "--process", pf, "-e", "A=b", "-u", "1000", "--cwd", "/tmp", args=())
    assert "A=b" not in rep["env"] and "ONLY=file" in rep["env"], rep["env"]
    assert (rep["uid"], rep["cwd"]) == (0, "/"), rep
    h.ok("delete", "-f", cid)


def test_podman_style_exec_with_tty(h):
    """What conmon sends for `podman exec -t`: --process (terminal true) plus --tty,
    --detach, --pid-file and --console-socket."""
    cid, _ = start(h)
    pf = h.tmp / "process.json"
    pf.write_text(json.dumps({"args": ["/bin/sh", "-c", "/probe report; exit 0"], "cwd": "/",
                              "terminal": True, "env": ["PATH=/bin"]}))
    console = ConsoleSocket(h.tmp / "console.sock")
    pid_file = h.tmp / "exec.pid"
    try:
        r = h.run("exec", "--pid-file", pid_file, "--process", pf, "--detach", "--tty",
                  "--console-socket", console.path, cid)
        assert r.rc == 0, r
        out = console.wait()
    finally:
        console.close()
    assert int(pid_file.read_text()) > 0
    rep = json.loads(out.strip().splitlines()[-1])
    assert rep["tty"]["ttyname"].startswith("/dev/pts/"), rep["tty"]
    h.ok("delete", "-f", cid)


# ---------------------------------------------------------------------------
# User namespaces


def test_user_namespace_container(h):
    b = h.bundle(["/probe", "sleep", "60"])
    make_userns(h, b.config)
    b.write()
    cid, init = start(h, b)
    rep = report(h, cid)
    assert (rep["uid"], rep["gid"], rep["euid"]) == (0, 0, 0), rep
    for name in ("user", "mnt", "pid", "net", "ipc", "uts"):
        assert rep["namespaces"][name] == os.readlink(f"/proc/{init}/ns/{name}"), name
    assert rep["namespaces"]["user"] != os.readlink("/proc/self/ns/user")
    pid = exec_detached(h, cid)
    assert proc_status(pid)["Uid"].split() == ["100000"] * 4
    assert proc_status(pid)["Gid"].split() == ["100000"] * 4
    assert mount_points(pid) == mount_points(init)
    assert read_text(f"/proc/{pid}/cgroup") == read_text(f"/proc/{init}/cgroup")
    user = exec_detached(h, cid, "-u", "1000:1000")
    assert proc_status(user)["Uid"].split() == ["101000"] * 4
    assert report(h, cid, "-u", "1000:1000")["uid"] == 1000
    h.ok("delete", "-f", cid)


# ---------------------------------------------------------------------------
# Refusals


def test_stopped_container(h):
    b = h.bundle(["/probe", "exit", "0"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    h.wait_status(cid, "stopped")
    assert_error(h.run("exec", cid, "/probe", "report"), "stopped")
    h.ok("delete", cid)


def test_created_container(h):
    """As runc (containerd's shim relies on it): exec into a created container runs in the
    blocked init's namespaces and cgroups, and `start` still works afterwards."""
    cid = h.create(h.bundle(["/probe", "sleep", "60"])).cid
    init = h.pid(cid)
    r = h.run("exec", cid, "/probe", "exit", "3")
    assert r.rc == 3 and r.err == "", r
    rep = report(h, cid)
    for name in NS_FILES.values():
        if os.path.exists(f"/proc/{init}/ns/{name}"):
            assert rep["namespaces"][name] == os.readlink(f"/proc/{init}/ns/{name}"), name
    pid = exec_detached(h, cid)
    assert read_text(f"/proc/{pid}/cgroup") == read_text(f"/proc/{init}/cgroup")
    assert os.readlink(f"/proc/{pid}/root") == os.readlink(f"/proc/{init}/root")
    assert h.state(cid)["status"] == "created"
    h.ok("start", cid)
    wait_for(lambda: "sleep" in read_text(f"/proc/{init}/cmdline", ""), 5, "the init's exec")
    h.wait_status(cid, "running")
    assert pid_alive(pid)
    h.ok("delete", "-f", cid)
    assert not pid_alive(pid)


def test_unknown_container(h):
    assert_error(h.run("exec", "t-exec-no-such", "/probe", "report"), "does not exist")


def test_missing_binary(h):
    cid, _ = start(h)
    assert_error(h.run("exec", cid, "/no/such/binary"), "/no/such/binary")
    assert_error(h.run("exec", cid, "no-such-command"), "no-such-command", "PATH")
    assert_error(h.run("exec", cid), "command")
    h.ok("delete", "-f", cid)
    assert_error(h.run("exec"), "container id")


def _freezer(init):
    """(file, frozen text, thawed text) of the freezer hull's pause uses for init's cgroup."""
    lines = read_text(f"/proc/{init}/cgroup").splitlines()
    if any(fstype == "cgroup" and "freezer" in opts.split(",")
           for _, fstype, opts in cgroup_mounts()):
        line = next(l for l in lines if "freezer" in l.split(":")[1].split(","))
        return cgroup_dir_for(line) / "freezer.state", "FROZEN", "THAWED"
    line = next(l for l in lines if l.startswith("0::"))
    return cgroup_dir_for(line) / "cgroup.freeze", "1", "0"


def test_paused_container(h):
    cid, init = start(h)
    path, frozen, thawed = _freezer(init)
    if not path.exists():
        pytest.skip(f"no freezer at {path}")
    path.write_text(frozen)
    try:
        if path.name == "freezer.state":
            wait_for(lambda: path.read_text().strip() == "FROZEN", 5, "the freeze")
        r = h.run("exec", cid, "/probe", "report", timeout=10)
        assert_error(r, "paused")
    finally:
        path.write_text(thawed)
    assert report(h, cid)["pid"] > 0
    h.ok("delete", "-f", cid)


def test_ignore_paused(h):
    """runc's --ignore-paused: the process is made in the frozen container and runs once
    the container is resumed; the container can be resumed (and deleted) meanwhile."""
    cid, _ = start(h)
    h.ok("pause", cid)
    assert_error(h.run("exec", cid, "/probe", "exit", "0", timeout=10), "paused",
                 "--ignore-paused")
    p, _, err = h.popen("exec", "--ignore-paused", cid, "/probe", "exit", "5")
    time.sleep(0.5)
    assert p.poll() is None, read_text(err)
    h.ok("resume", cid, timeout=10)
    assert p.wait(timeout=10) == 5, read_text(err)
    h.ok("delete", "-f", cid)


def test_nothing_left_after_failures(h):
    cid, init = start(h)
    procs_before = Path(f"/proc/{init}/task").exists()
    for args in (["/no/such"], ["/probe", "exit", "0"]):
        h.run("exec", "--cwd", "/missing", cid, *args)
    # Only the init is left in the container (the leak check covers hull's side).
    pids = set()
    for line in read_text(f"/proc/{init}/cgroup").splitlines():
        d = cgroup_dir_for(line)
        if d is not None and (d / "cgroup.procs").exists():
            pids |= {int(p) for p in (d / "cgroup.procs").read_text().split()}
    assert procs_before and pids == {init}, pids
    h.ok("delete", "-f", cid)
