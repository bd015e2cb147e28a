"""Container breakouts that have hit runtimes before: overwriting the runtime binary
through /proc/PID/exe (CVE-2019-5736), leaked file descriptors (CVE-2024-21626), a cwd
outside the root."""

import hashlib
import json
import os
import shlex
import shutil

import pytest

from conftest import assert_error, cap_mask, default_config, pid_alive, read_text, \
    set_namespace


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


# ---------------------------------------------------------------------------
# Session keyrings (as runc: one per container, joined again by `exec`)

KEY_USR_SEARCH, KEY_OTH_SEARCH = 0x00080000, 0x00000008


def keyring_of(r):
    """The `probe keyring` line of a finished command."""
    assert r.rc == 0, r
    return r.json_lines()[-1]


def host_keyring(h):
    """The session keyring of a process started from here (what a container would share)."""
    return keyring_of(h.run(argv=[str(h.probe_bin), "keyring"]))


def keyring_fields(ring):
    kind, uid, gid, perm, name = ring["description"].split(";", 4)
    return kind, int(perm, 16), name


def test_session_keyring_new_per_container(h):
    """Keys the caller holds in its session keyring must not reach the container."""
    host = host_keyring(h)
    r = h.run_container(h.bundle(["/probe", "keyring"]))
    ring = keyring_of(r)
    kind, perm, name = keyring_fields(ring)
    assert ring["id"] != host["id"], (ring, host)
    assert (kind, name) == ("keyring", f"_ses.{r.cid}"), ring
    # searchable by its owner, so that `exec` finds it by name (runc sets the same bit)
    assert perm & KEY_USR_SEARCH, ring


def test_session_keyring_user_namespace(h):
    b = h.bundle(["/probe", "keyring"])
    h.make_traversable()
    set_namespace(b.config, "user")
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/sys/fs/cgroup"]
    b.write()
    r = h.run_container(b)
    ring = keyring_of(r)
    kind, perm, name = keyring_fields(ring)
    assert name == f"_ses.{r.cid}" and ring["id"] != host_keyring(h)["id"], ring
    assert perm & KEY_OTH_SEARCH, ring  # runc's choice with a user namespace


def test_no_new_keyring_keeps_callers(h):
    host = host_keyring(h)
    r = h.run_container(h.bundle(["/probe", "keyring"]), extra=["--no-new-keyring"])
    assert keyring_of(r) == host
    c = h.create(h.bundle(["/probe", "keyring"]), extra=["--no-new-keyring"])
    h.ok("start", c.cid)
    assert h.wait_json(c.out_path)[-1] == host
    h.wait_status(c.cid, "stopped")
    h.ok("delete", c.cid)


@pytest.mark.parametrize("no_new", [False, True], ids=["new-keyring", "no-new-keyring"])
def test_exec_joins_the_containers_session_keyring(h, no_new):
    host = host_keyring(h)
    extra = ["--no-new-keyring"] if no_new else []
    c = h.create(h.bundle(["/bin/sh", "-c", "/probe keyring; exec /probe sleep 60"]),
                 extra=extra)
    h.ok("start", c.cid)
    init_ring = h.wait_json(c.out_path)[-1]
    assert (init_ring == host) == no_new, (init_ring, host)
    # Without a keyring of its own a process of another uid gets that uid's user-session
    # keyring from the kernel, so only root can show the caller's there.
    for user in ("0",) if no_new else ("0", "1000"):
        ring = keyring_of(h.run("exec", "--user", user, c.cid, "/probe", "keyring"))
        assert ring == (host if no_new else init_ring), (user, ring, init_ring, host)
    h.ok("delete", "--force", c.cid)


# ---------------------------------------------------------------------------
# Capabilities hull or the kernel does not know: ignored with a warning, as runc does

def test_unknown_capabilities_are_ignored_with_one_warning(h):
    b = h.bundle()
    for s in ("bounding", "effective", "permitted"):
        b.config["process"]["capabilities"][s] += ["CAP_FOO", "CAP_BAR"]
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    caps = r.json_lines()[-1]["caps"]
    want = cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    assert int(caps["bounding"], 16) == want and int(caps["effective"], 16) == want, caps
    warnings = [l for l in r.err.splitlines() if l.strip()]
    assert len(warnings) == 1, r
    assert warnings[0].startswith("hull: warning: ignoring unknown or unavailable "
                                  "capabilities:"), r
    assert "CAP_FOO" in warnings[0] and "CAP_BAR" in warnings[0], r

    log = h.tmp / "caps.log"
    r = h.run("--log", log, "--log-format", "json", "run", "-b", b, h.new_id())
    assert r.rc == 0, r
    entries = [json.loads(l) for l in log.read_text().splitlines()]
    assert [e["level"] for e in entries] == ["warning"], entries
    assert "CAP_FOO" in entries[0]["msg"] and "CAP_BAR" in entries[0]["msg"], entries


def test_malformed_capability_entry_still_fails(h):
    b = h.bundle()
    b.config["process"]["capabilities"]["bounding"].append(7)
    b.write()
    assert_error(h.run_container(b), "process.capabilities.bounding")


def test_exec_unknown_cap_is_ignored_with_a_warning(h):
    c = h.create(h.bundle(["/probe", "sleep", "60"]))
    h.ok("start", c.cid)
    r = h.run("exec", "--cap", "CAP_FOO", "--cap", "CAP_KILL", c.cid, "/probe", "report")
    assert r.rc == 0, r
    assert int(r.json_lines()[-1]["caps"]["effective"], 16) & cap_mask(["CAP_KILL"]), r
    warnings = [l for l in r.err.splitlines() if l.strip()]
    assert len(warnings) == 1 and "CAP_FOO" in warnings[0], r
    assert "ignoring unknown or unavailable capabilities" in warnings[0], r
    h.ok("delete", "--force", c.cid)


# ---------------------------------------------------------------------------
# AppArmor and SELinux labels: asked for on a host without that LSM, they fail (as in runc)
# instead of being dropped, since the user asked for confinement.

LABELS = {
    "apparmor": ("apparmorProfile", "--apparmor", "unconfined"),
    "selinux": ("selinuxLabel", "--process-label", "system_u:system_r:container_t:s0"),
}


def host_has_lsm(lsm):
    active = read_text("/sys/kernel/security/lsm", "").strip().split(",")
    if lsm == "apparmor":
        return "apparmor" in active or \
            read_text("/sys/module/apparmor/parameters/enabled", "").startswith("Y")
    return "selinux" in active or os.path.exists("/sys/fs/selinux/enforce")


@pytest.mark.parametrize("lsm", sorted(LABELS))
def test_label_without_the_lsm_fails(h, lsm):
    if host_has_lsm(lsm):
        pytest.skip(f"this host runs {lsm}, so the label would apply")
    field, _, value = LABELS[lsm]
    b = h.bundle(["/probe", "exit", "0"])
    b.config["process"][field] = value
    b.write()
    assert_error(h.run_container(b), f"process.{field}", value)
    r = h.run("create", "-b", b, h.new_id())
    assert_error(r, f"process.{field}", value)


@pytest.mark.parametrize("lsm", sorted(LABELS))
def test_exec_label_without_the_lsm_fails(h, lsm):
    if host_has_lsm(lsm):
        pytest.skip(f"this host runs {lsm}, so the label would apply")
    field, flag, value = LABELS[lsm]
    c = h.create(h.bundle(["/probe", "sleep", "60"]))
    h.ok("start", c.cid)
    r = h.run("exec", flag, value, c.cid, "/probe", "exit", "0")
    assert_error(r, f"process.{field}", value)
    p = h.tmp / "process.json"
    p.write_text(json.dumps({**default_config(["/probe", "exit", "0"])["process"], field: value}))
    assert_error(h.run("exec", "--process", p, c.cid), f"process.{field}", value)
    h.ok("delete", "--force", c.cid)


@pytest.mark.parametrize("lsm", sorted(LABELS))
def test_label_with_the_lsm_is_written(h, lsm):
    """Where the host lists the LSM, hull writes the label for the next execve. This host
    may have neither, so securityfs's list is faked in a private mount namespace: the
    kernel then refuses the write, and that refusal is what hull must report."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare(1) is not installed")
    field, _, value = LABELS[lsm]
    b = h.bundle(["/probe", "exit", "0"])
    b.config["process"][field] = value
    b.write()
    if host_has_lsm(lsm):
        r = h.run_container(b)  # a real host: the label applies (or the policy refuses it)
        assert r.rc == 0 or f"process.{field}" in r.err, r
        return
    fake = f"mount -t tmpfs hull-fake /sys/kernel/security && echo capability,{lsm} " \
           f"> /sys/kernel/security/lsm && exec {shlex.join(h.cmd('run', '-b', b, h.new_id()))}"
    r = h.run(argv=["unshare", "-m", "--propagation", "private", "sh", "-c", fake])
    line = assert_error(r, f"process.{field}", value)
    assert "not enabled" not in line, r
