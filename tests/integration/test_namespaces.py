"""Every namespace type: new, shared with the host, joined by path; user and time ns."""

import os
import subprocess
import time

import pytest

from conftest import NS_FILES, drop_mount, host_ns, proc_status, read_text, set_namespace, \
    wait_for

USERNS_MAP = [{"containerID": 0, "hostID": 100000, "size": 65536}]


def make_userns(h, cfg):
    h.make_traversable()
    set_namespace(cfg, "user")
    cfg["linux"]["uidMappings"] = list(USERNS_MAP)
    cfg["linux"]["gidMappings"] = list(USERNS_MAP)
    # cgroup v1 hierarchies cannot be mounted from a non-initial user namespace.
    drop_mount(cfg, "/sys/fs/cgroup")


def for_children(name):
    return {"pid": "pid_for_children", "time": "time_for_children"}.get(name)


@pytest.mark.parametrize("ns_type", list(NS_FILES))
def test_new_namespace(h, ns_type):
    name = NS_FILES[ns_type]
    b = h.bundle()
    set_namespace(b.config, ns_type)
    if ns_type == "user":
        make_userns(h, b.config)
    b.write()
    r = h.create(b)
    pid = h.pid(r.cid)
    # From the host, while the init is blocked before exec.
    seen = {os.readlink(f"/proc/{pid}/ns/{name}")}
    if for_children(name):
        seen.add(os.readlink(f"/proc/{pid}/ns/{for_children(name)}"))
    seen.discard(host_ns(name))
    assert seen, f"{ns_type}: the init at {pid} is still in the host's namespace"
    h.ok("start", r.cid)
    h.wait_status(r.cid, "stopped")
    report = h.wait_json(r.out_path)[-1]
    inside = report["namespaces"][name]
    assert inside != host_ns(name)
    assert inside in seen
    h.ok("delete", r.cid)


@pytest.mark.parametrize("ns_type", [t for t in NS_FILES if t != "mount"])
def test_host_namespace(h, ns_type):
    name = NS_FILES[ns_type]
    b = h.bundle()
    set_namespace(b.config, ns_type, present=False)
    if ns_type == "uts":
        del b.config["hostname"]  # a hostname needs a private UTS namespace
    b.write()
    report = h.report(b)
    assert report["namespaces"][name] == host_ns(name)
    # and the others stay private
    for other in ("mount", "ipc", "network", "pid"):
        if other != ns_type:
            assert report["namespaces"][NS_FILES[other]] != host_ns(NS_FILES[other])


def test_pid_namespace_sees_itself_as_1(h):
    report = h.report(h.bundle())
    assert report["pid"] == 1
    assert report["ppid"] == 0


@pytest.fixture
def unshared():
    """A sleeping process in a new net+uts namespace, made with unshare(1)."""
    if not os.path.exists("/usr/bin/unshare"):
        pytest.skip("unshare(1) (util-linux) is not installed")
    p = subprocess.Popen(["unshare", "--net", "--uts", "sh", "-c",
                          "hostname joined-uts && exec sleep 120"])
    try:
        wait_for(lambda: os.readlink(f"/proc/{p.pid}/ns/uts") != host_ns("uts")
                 and read_text(f"/proc/{p.pid}/comm", "").strip() == "sleep",
                 10, "unshare to set up its namespaces")
        yield p
    finally:
        p.kill()
        p.wait()


def test_join_namespace_by_path(h, unshared):
    b = h.bundle()
    set_namespace(b.config, "network", path=f"/proc/{unshared.pid}/ns/net")
    set_namespace(b.config, "uts", path=f"/proc/{unshared.pid}/ns/uts")
    del b.config["hostname"]
    b.write()
    report = h.report(b)
    assert report["namespaces"]["net"] == os.readlink(f"/proc/{unshared.pid}/ns/net")
    assert report["namespaces"]["uts"] == os.readlink(f"/proc/{unshared.pid}/ns/uts")
    assert report["hostname"] == "joined-uts"
    assert report["namespaces"]["ipc"] != host_ns("ipc")


def test_join_namespace_bad_path(h):
    b = h.bundle()
    set_namespace(b.config, "network", path="/proc/self/ns/nonexistent")
    b.write()
    r = h.run_container(b)
    assert r.rc == 1 and "/proc/self/ns/nonexistent" in r.err, r


def test_join_namespace_wrong_type(h, unshared):
    b = h.bundle()
    set_namespace(b.config, "ipc", path=f"/proc/{unshared.pid}/ns/net")
    b.write()
    r = h.run_container(b)
    assert r.rc == 1 and r.err.startswith("hull: "), r


def test_user_namespace_mapping(h):
    b = h.bundle(["/bin/sh", "-c", "/probe report; exec /probe sleep 60"])
    make_userns(h, b.config)
    b.write()
    cid = h.new_id()
    r = h.ok("run", "-d", "-b", b, cid)
    report = h.wait_json(r.out_path)[-1]
    assert report["uid"] == 0 and report["gid"] == 0 and report["euid"] == 0
    assert report["namespaces"]["user"] != host_ns("user")
    pid = h.pid(cid)
    wait_for(lambda: "sleep" in read_text(f"/proc/{pid}/cmdline", ""), 5, "exec of sleep")
    st = proc_status(pid)
    assert st["Uid"].split() == ["100000"] * 4, st["Uid"]
    assert st["Gid"].split() == ["100000"] * 4, st["Gid"]
    assert read_text(f"/proc/{pid}/uid_map").split() == ["0", "100000", "65536"]
    assert read_text(f"/proc/{pid}/gid_map").split() == ["0", "100000", "65536"]
    h.ok("delete", "-f", cid)


def test_user_namespace_probe_sees_unmapped_root_owned_files(h):
    b = h.bundle(["/probe", "ls", "/etc/passwd"])
    make_userns(h, b.config)
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    st = r.json_lines()[-1]
    assert st["uid"] == 65534, st  # host root is outside the mapping


def test_time_namespace_offsets(h):
    if not os.path.exists("/proc/self/ns/time"):
        pytest.skip("kernel without time namespaces")
    mono, boot = 10 * 86400, 3600
    b = h.bundle(["/bin/sh", "-c", "/probe report; /probe cat /proc/uptime"])
    set_namespace(b.config, "time")
    b.config["linux"]["timeOffsets"] = {"monotonic": {"secs": mono, "nanosecs": 0},
                                        "boottime": {"secs": boot, "nanosecs": 0}}
    b.write()
    r = h.run_container(b)
    host_mono = time.clock_gettime(time.CLOCK_MONOTONIC)
    host_boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    host_uptime = float(read_text("/proc/uptime").split()[0])
    assert r.rc == 0, r
    report = r.json_lines()[0]
    assert report["namespaces"]["time"] != host_ns("time")
    assert abs(report["clocks"]["monotonic"] - host_mono - mono) < 30, report["clocks"]
    assert abs(report["clocks"]["boottime"] - host_boot - boot) < 30, report["clocks"]
    uptime = float(r.out.strip().splitlines()[-1].split()[0])
    assert abs(uptime - host_uptime - boot) < 30, (uptime, host_uptime)


def test_time_offsets_need_time_namespace(h):
    b = h.bundle()
    b.config["linux"]["timeOffsets"] = {"monotonic": {"secs": 100, "nanosecs": 0}}
    b.write()
    r = h.run_container(b)
    assert r.rc == 1 and r.err.startswith("hull: ") and "time" in r.err, r
