"""The container's process: args, env, cwd, user, terminal, limits, capabilities,
hostname, sysctl, personality, scheduling. Inside via the probe, outside via /proc/PID."""

import json
import os
import socket

import pytest

from conftest import ConsoleSocket, assert_error, cap_mask, proc_status, read_text, \
    set_namespace, wait_for


def start_detached(h, b, n=1):
    """run -d a bundle whose process prints n JSON lines then keeps running; returns
    (id, pid, json lines)."""
    cid = h.new_id()
    r = h.ok("run", "-d", "-b", b, cid)
    lines = h.wait_json(r.out_path, n)
    return cid, h.pid(cid), lines


def test_args_passed_exactly(h):
    args = ["/probe", "report", "two words", "quote\"d", "back\\slash", "", "ünï", "$HOME",
            "tab\there"]
    report = h.report(h.bundle(args))
    assert report["argv"] == args


def test_args_resolved_through_path(h):
    b = h.bundle(["probe", "report"])
    b.config["process"]["env"] = ["PATH=/nonexistent:/", "HOME=/root"]
    b.write()
    report = h.report(b)
    assert report["argv"][0] == "probe"
    assert report["exe"] == "/probe"


def test_env_exact(h):
    env = ["PATH=/bin", "HOME=/home/x", "EMPTY=", "WITH_EQ=a=b", "SPACE=a b", "UNI=ö"]
    b = h.bundle()
    b.config["process"]["env"] = env
    b.write()
    report = h.report(b)
    assert sorted(report["env"]) == sorted(env)


def test_env_home_added_when_missing(h):
    b = h.bundle()
    b.config["process"]["env"] = ["PATH=/bin"]
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.write()
    env = h.report(b)["env"]
    assert "PATH=/bin" in env
    # runc sets HOME from /etc/passwd when the config has none
    assert "HOME=/home/tester" in env, env


def test_cwd(h):
    b = h.bundle()
    (b.rootfs / "work" / "dir").mkdir(parents=True)
    b.config["process"]["cwd"] = "/work/dir"
    b.write()
    assert h.report(b)["cwd"] == "/work/dir"


def test_user_groups_umask(h):
    b = h.bundle(["/bin/sh", "-c", "/probe report; exec /probe sleep 60"])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001, 1002, 5],
                                   "umask": 0o027}
    b.config["process"]["cwd"] = "/home/tester"
    b.write()
    cid, pid, (report,) = start_detached(h, b)
    assert (report["uid"], report["euid"], report["gid"], report["egid"]) == (1000,) * 4
    assert set(report["groups"]) - {1000} == {1001, 1002, 5}, report["groups"]
    assert report["umask"] == 0o027
    wait_for(lambda: "sleep" in read_text(f"/proc/{pid}/cmdline", ""), 5, "exec of sleep")
    st = proc_status(pid)
    assert st["Uid"].split() == ["1000"] * 4 and st["Gid"].split() == ["1000"] * 4, st
    assert {int(g) for g in st["Groups"].split()} - {1000} == {1001, 1002, 5}
    assert st["Umask"] == "0027"
    h.ok("delete", "-f", cid)


def test_default_umask(h):
    assert h.report(h.bundle())["umask"] == 0o022


def test_terminal_console_socket(h):
    b = h.bundle(["/bin/sh", "-c", "stty size; /probe report"])
    b.config["process"]["terminal"] = True
    b.config["process"]["consoleSize"] = {"height": 40, "width": 132}
    b.write()
    sock_path = h.tmp / "console.sock"
    console = ConsoleSocket(sock_path)
    try:
        cid = h.new_id()
        r = h.run("create", "--console-socket", sock_path, "-b", b, cid)
        assert r.rc == 0, r
        assert console.got_fd.wait(10) and console.master is not None, console.error
        assert h.state(cid)["status"] == "created"
        h.ok("start", cid)
        out = console.wait()
        h.wait_status(cid, "stopped")
        h.ok("delete", cid)
    finally:
        console.close()
    lines = out.strip().splitlines()
    assert lines[0].strip() == "40 132", out
    report = json.loads(lines[-1])
    assert report["tty"]["stdin"] and report["tty"]["stdout"], report["tty"]
    assert report["tty"]["ttyname"].startswith("/dev/pts/"), report["tty"]
    assert (report["tty"]["rows"], report["tty"]["cols"]) == (40, 132)
    # The controlling terminal's fds are 0, 1, 2 and nothing else.
    assert [f["fd"] for f in report["fds"]] == [0, 1, 2], report["fds"]


def test_terminal_without_console_socket_fails(h):
    b = h.bundle()
    b.config["process"]["terminal"] = True
    b.write()
    cid = h.new_id()
    assert_error(h.run("create", "-b", b, cid), "console")


def test_console_socket_without_terminal_fails(h):
    b = h.bundle()
    sock = h.tmp / "c.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(sock))
    s.listen(1)
    try:
        assert_error(h.run("create", "--console-socket", sock, "-b", b, h.new_id()))
    finally:
        s.close()


def test_rlimits(h):
    b = h.bundle(["/bin/sh", "-c", "/probe report; exec /probe sleep 60"])
    b.config["process"]["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 512, "hard": 1024},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
        {"type": "RLIMIT_CPU", "soft": 18446744073709551615, "hard": 18446744073709551615},
        {"type": "RLIMIT_MSGQUEUE", "soft": 4096, "hard": 8192},
    ]
    b.write()
    cid, pid, (report,) = start_detached(h, b)
    rl = report["rlimits"]
    assert rl["RLIMIT_NOFILE"] == {"soft": 512, "hard": 1024}
    assert rl["RLIMIT_CORE"] == {"soft": 0, "hard": 0}
    assert rl["RLIMIT_NPROC"] == {"soft": 300, "hard": 400}
    assert rl["RLIMIT_CPU"] == {"soft": -1, "hard": -1}
    assert rl["RLIMIT_MSGQUEUE"] == {"soft": 4096, "hard": 8192}
    limits = read_text(f"/proc/{pid}/limits")
    line = [l for l in limits.splitlines() if l.startswith("Max open files")][0]
    assert line.split()[3:5] == ["512", "1024"], line
    h.ok("delete", "-f", cid)


def test_rlimit_unknown_type(h):
    b = h.bundle()
    b.config["process"]["rlimits"] = [{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]
    b.write()
    assert_error(h.run_container(b), "RLIMIT_BOGUS")


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(h, nnp):
    b = h.bundle()
    b.config["process"]["noNewPrivileges"] = nnp
    b.write()
    assert h.report(b)["no_new_privs"] == int(nnp)


def test_oom_score_adj(h):
    b = h.bundle(["/bin/sh", "-c", "/probe report; exec /probe sleep 60"])
    b.config["process"]["oomScoreAdj"] = 500
    b.write()
    cid, pid, (report,) = start_detached(h, b)
    assert report["oom_score_adj"] == 500
    assert read_text(f"/proc/{pid}/oom_score_adj").strip() == "500"
    h.ok("delete", "-f", cid)


def caps_of(report):
    return {k: int(v, 16) for k, v in report["caps"].items()}


CAPS_SETS = {
    "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"],
    "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "effective": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
    "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"],
    "ambient": ["CAP_KILL"],
}


def test_capabilities_non_root_exact(h):
    """For a non-root user execve keeps: inheritable and bounding as set, and
    permitted = effective = ambient (no file capabilities on /probe)."""
    b = h.bundle(["/bin/sh", "-c", "/probe report; exec /probe sleep 60"])
    b.config["process"]["user"] = {"uid": 1000, "gid": 1000}
    b.config["process"]["capabilities"] = CAPS_SETS
    b.write()
    cid, pid, (report,) = start_detached(h, b)
    got = caps_of(report)
    amb = cap_mask(CAPS_SETS["ambient"])
    assert got == {"bounding": cap_mask(CAPS_SETS["bounding"]),
                   "inheritable": cap_mask(CAPS_SETS["inheritable"]),
                   "permitted": amb, "effective": amb, "ambient": amb}, report["caps"]
    st = proc_status(pid)
    assert int(st["CapBnd"], 16) == cap_mask(CAPS_SETS["bounding"])
    assert int(st["CapAmb"], 16) == amb
    h.ok("delete", "-f", cid)


@pytest.mark.parametrize("nnp", [False, True])
def test_capabilities_root_exact(h, nnp):
    """For root execve gives permitted = effective = bounding | inheritable | ambient;
    with no_new_privs what is gained is cut back to the permitted set hull gave."""
    b = h.bundle()
    b.config["process"]["capabilities"] = CAPS_SETS
    b.config["process"]["noNewPrivileges"] = nnp
    b.write()
    got = caps_of(h.report(b))
    bnd, inh, amb, prm = (cap_mask(CAPS_SETS[k])
                          for k in ("bounding", "inheritable", "ambient", "permitted"))
    want_prm = ((bnd | inh) & prm if nnp else bnd | inh) | amb
    assert got == {"bounding": bnd, "inheritable": inh, "permitted": want_prm,
                   "effective": want_prm, "ambient": amb}, got


def test_capabilities_default_runc_like(h):
    got = caps_of(h.report(h.bundle()))
    m = cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert got == {"bounding": m, "permitted": m, "effective": m, "inheritable": 0,
                   "ambient": 0}, got


def test_capabilities_absent_drops_all(h):
    b = h.bundle()
    del b.config["process"]["capabilities"]
    b.write()
    got = caps_of(h.report(b))
    assert got == dict.fromkeys(got, 0), got


def test_unknown_capability(h):
    """Ignored with a warning, as runc does (test_security.py has the details)."""
    b = h.bundle()
    b.config["process"]["capabilities"]["bounding"].append("CAP_NOT_REAL")
    b.write()
    r = h.run_container(b)
    assert r.rc == 0 and "CAP_NOT_REAL" in r.err, r


def test_hostname_domainname(h):
    b = h.bundle()
    b.config["hostname"] = "box-one"
    b.config["domainname"] = "example.test"
    b.write()
    host = os.uname().nodename
    report = h.report(b)
    assert report["hostname"] == "box-one"
    assert report["domainname"] == "example.test"
    assert os.uname().nodename == host


def test_sysctl(h):
    host_fwd = read_text("/proc/sys/net/ipv4/ip_forward")
    host_shm = read_text("/proc/sys/kernel/shmmax")
    b = h.bundle(["/bin/sh", "-c", "/probe cat /proc/sys/net/ipv4/ip_forward;"
                  " /probe cat /proc/sys/kernel/shmmax"])
    want_fwd = "0" if host_fwd.strip() == "1" else "1"
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": want_fwd, "kernel.shmmax": "123456789"}
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    assert r.out.split() == [want_fwd, "123456789"], r
    assert read_text("/proc/sys/net/ipv4/ip_forward") == host_fwd
    assert read_text("/proc/sys/kernel/shmmax") == host_shm


def test_sysctl_for_host_namespace_refused(h):
    b = h.bundle()
    set_namespace(b.config, "network", present=False)
    b.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    b.write()
    host_fwd = read_text("/proc/sys/net/ipv4/ip_forward")
    try:
        assert_error(h.run_container(b), "net.ipv4.ip_forward")
        assert read_text("/proc/sys/net/ipv4/ip_forward") == host_fwd
    finally:
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write(host_fwd)


def test_personality_linux32(h):
    b = h.bundle(["/bin/sh", "-c", "uname -m; /probe report"])
    b.config["linux"]["personality"] = {"domain": "LINUX32"}
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    assert r.out.splitlines()[0] == "i686", r
    report = r.json_lines()[-1]
    assert report["uname"]["machine"] == "i686"
    assert report["personality"] & 0xff == 0x0008


def test_scheduler_batch_nice(h):
    b = h.bundle(["/bin/sh", "-c", "/probe report; exec /probe sleep 60"])
    b.config["process"]["scheduler"] = {"policy": "SCHED_BATCH", "nice": 5}
    b.write()
    cid, pid, (report,) = start_detached(h, b)
    assert report["scheduler"]["policy"] == "SCHED_BATCH", report["scheduler"]
    assert report["nice"] == 5
    stat = read_text(f"/proc/{pid}/stat")
    fields = stat[stat.rindex(")") + 2:].split()
    assert fields[16] == "5", "nice (field 19)"
    assert fields[38] == "3", "policy (field 41) is SCHED_BATCH"
    h.ok("delete", "-f", cid)


def test_io_priority(h):
    b = h.bundle()
    b.config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    b.write()
    assert h.report(b)["ioprio"] == {"class": 2, "priority": 6}


def test_io_priority_bad_class(h):
    b = h.bundle()
    b.config["process"]["ioPriority"] = {"class": "IOPRIO_CLASS_NOPE", "priority": 1}
    b.write()
    assert_error(h.run_container(b), "IOPRIO_CLASS_NOPE")
