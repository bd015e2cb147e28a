"""Container breakouts that have hit runtimes before: overwriting the runtime binary
through /proc/PID/exe (CVE-2019-5736), leaked file descriptors (CVE-2024-21626), a cwd
outside the root."""

import hashlib
import os
import shlex

import pytest

from conftest import pid_alive, set_namespace


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


@pytest.mark.parametrize("ptrace", [False, True], ids=["default-caps", "cap-sys-ptrace"])
def test_proc_self_exe_not_writable_cve_2019_5736(h, ptrace):
    """A process sharing the pid namespace of a created container (whose pid 1 is still
    hull's init) holds an O_PATH fd on /proc/1/exe and reopens it for writing once hull
    has exec'd away. It must never get the host's hull binary, even with CAP_SYS_PTRACE
    (which passes the non-dumpable check)."""
    hull_st = os.stat(h.hull_bin)
    before = sha256(h.hull_bin)
    victim = h.bundle(["/probe", "sleep", "60"])
    vid = h.create(victim).cid
    vpid = h.pid(vid)

    attacker = h.bundle(["/probe", "open-exe", "4"])
    set_namespace(attacker.config, "pid", path=f"/proc/{vpid}/ns/pid")
    if ptrace:
        for s in ("bounding", "effective", "permitted"):
            attacker.config["process"]["capabilities"][s].append("CAP_SYS_PTRACE")
    attacker.write()
    aid = h.new_id()
    r = h.ok("run", "-d", "-b", attacker, aid)
    h.wait_json(r.out_path, 1)
    h.ok("start", vid)
    ready, result = h.wait_json(r.out_path, 2, timeout=15)
    print("open-exe:", ready, result)

    def is_host_hull(d):
        return d.get("errno") == 0 and d.get("ino") == hull_st.st_ino and \
            os.makedev(d["dev_major"], d["dev_minor"]) == hull_st.st_dev

    assert not is_host_hull(ready["self_write"]), ready
    assert not is_host_hull(ready["init_write"]), ready
    if result["reopened"]:
        assert not (result["ino"] == hull_st.st_ino and
                    os.makedev(result["dev_major"], result["dev_minor"]) == hull_st.st_dev), \
            f"reopened the host's hull binary for writing: {result}"
    assert sha256(h.hull_bin) == before
    h.ok("delete", "-f", aid)
    h.ok("delete", "-f", vid)


def test_exec_proc_self_exe_as_entrypoint(h):
    """args ["/proc/self/exe"] inside the container must not run the host binary with
    write access to it; whatever it runs, the binary is unchanged afterwards."""
    before = sha256(h.hull_bin)
    b = h.bundle(["/proc/self/exe", "--version"])
    r = h.run_container(b)
    assert sha256(h.hull_bin) == before
    assert r.rc in (0, 1, 2, 126, 127), r


def fds_of(report):
    return [f["fd"] for f in report["fds"]]


def test_no_fd_leak_run(h):
    log = h.tmp / "hull.log"
    report = h.report(h.bundle(), extra=())
    assert fds_of(report) == [0, 1, 2], report["fds"]
    r = h.run("--log", log, "--debug", "run", "-b", h.bundle(), h.new_id())
    assert r.rc == 0, r
    report = r.json_lines()[-1]
    assert fds_of(report) == [0, 1, 2], report["fds"]
    # and none of them points at hull's state or its log
    for f in report["fds"]:
        assert "hull" not in f["target"] and str(h.root) not in f["target"], f


def test_no_fd_leak_create_start(h):
    b = h.bundle()
    pidfile = h.tmp / "pid"
    r = h.create(b, extra=("--pid-file", pidfile))
    h.ok("start", r.cid)
    (report,) = h.wait_json(r.out_path)
    assert fds_of(report) == [0, 1, 2], report["fds"]
    h.wait_status(r.cid, "stopped")
    h.ok("delete", r.cid)


def test_preserve_fds(h):
    for n in (3, 4, 5):
        (h.tmp / f"fd{n}").write_text(f"content-{n}")
    b1 = h.bundle()
    b2 = h.bundle(["/probe", "cat", "/proc/self/fd/4"])
    results = []
    for b in (b1, b2):
        hull = " ".join(shlex.quote(str(a)) for a in
                        h.cmd("run", "--preserve-fds", "2", "-b", b, h.new_id()))
        script = f"exec {hull} 3<fd3 4<fd4 5<fd5"
        results.append(h.run(argv=["/bin/sh", "-c", script]))
    r1, r2 = results
    assert r1.rc == 0, r1
    assert fds_of(r1.json_lines()[-1]) == [0, 1, 2, 3, 4], r1.json_lines()[-1]["fds"]
    assert r2.rc == 0 and r2.out == "content-4", r2


def test_preserve_fds_more_than_passed_leaks_nothing_of_hull(h):
    """--preserve-fds 6 with no fd passed: fds 3..8 must stay closed in the container,
    even though hull's own fds (fifo, sockets, /proc dirs) take those numbers."""
    r = h.run("run", "--preserve-fds", "6", "-b", h.bundle(), h.new_id())
    assert r.rc == 0, r
    assert fds_of(r.json_lines()[-1]) == [0, 1, 2], r.json_lines()[-1]["fds"]


def test_fds_above_preserved_are_closed(h):
    (h.tmp / "fd7").write_text("x")
    b = h.bundle()
    hull = " ".join(shlex.quote(str(a)) for a in h.cmd("run", "-b", b, h.new_id()))
    r = h.run(argv=["/bin/sh", "-c", f"exec {hull} 7<fd7"])
    assert r.rc == 0, r
    assert fds_of(r.json_lines()[-1]) == [0, 1, 2]


def test_cwd_cannot_escape_root(h):
    for cwd in ("/../../", "/.."):
        b = h.bundle(["/probe", "ls", "probe"])
        b.config["process"]["cwd"] = cwd
        b.write()
        r = h.run_container(b)
        assert r.rc == 0, (cwd, r)
        assert r.json_lines()[-1]["type"] == "f", (cwd, r)
    b = h.bundle()
    b.config["process"]["cwd"] = "/../../tmp"
    b.write()
    assert h.report(b)["cwd"] == "/tmp"


def test_cwd_symlink_out_of_root(h):
    """A cwd through an absolute symlink to a host dir resolves inside the rootfs."""
    outside = h.tmp / "outside-cwd"
    outside.mkdir()
    (outside / "probe").write_text("host file")
    b = h.bundle()
    os.symlink(str(outside), b.rootfs / "away")
    inner = b.rootfs / str(outside).lstrip("/")
    inner.mkdir(parents=True)
    b.config["process"]["cwd"] = "/away"
    b.write()
    report = h.report(b)
    assert report["cwd"] == str(outside)  # the path inside the container


def test_container_cannot_see_host_processes(h):
    b = h.bundle(["/bin/sh", "-c", "ls /proc | grep -c '^[0-9]'"])
    r = h.run_container(b)
    assert r.rc == 0, r
    assert int(r.out.strip()) <= 3, r
    assert pid_alive(os.getpid())
