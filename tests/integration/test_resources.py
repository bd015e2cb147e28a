"""linux.resources on this host: each value set in config.json is read back from the
container's cgroup (in the v1 hierarchy that has the controller, else cgroup2), device
rules are probed from inside the container, and a value the host cannot apply fails
create with the field named and nothing left behind (the harness's leak check)."""

import os
import stat
from pathlib import Path

import pytest

from conftest import assert_error, cgroup_mounts, read_text

MiB = 1024 * 1024


def host_mounts():
    return [m for m in cgroup_mounts() if m[0].startswith("/sys/fs/cgroup")]


def v1_mount(ctrl):
    for mnt, fstype, opts in host_mounts():
        if fstype == "cgroup" and ctrl in opts.split(","):
            return Path(mnt)
    return None


def v2_mount():
    for mnt, fstype, _ in host_mounts():
        if fstype == "cgroup2":
            return Path(mnt)
    return None


def controller_home(ctrl):
    """'v1' or 'v2' where the host has the controller, or None."""
    if v1_mount(ctrl):
        return "v1"
    m = v2_mount()
    if m and ctrl in (read_text(m / "cgroup.controllers") or "").split():
        return "v2"
    return None


def cg_dir(ctrl, cid):
    """The container's directory for ctrl (default cgroupsPath /hull/<id>)."""
    m = v1_mount(ctrl) if controller_home(ctrl) == "v1" else v2_mount()
    return m / "hull" / cid


def cg_read(ctrl, cid, file):
    text = read_text(cg_dir(ctrl, cid) / file)
    assert text is not None, f"{cg_dir(ctrl, cid) / file} is missing"
    return text.strip()


def need(ctrl):
    home = controller_home(ctrl)
    if home is None:
        pytest.skip(f"this host has no {ctrl} controller")
    return home


def with_resources(h, resources, args=("/probe", "sleep", "60")):
    b = h.bundle(list(args))
    b.config["linux"]["resources"] = resources
    b.write()
    return b


def created(h, resources):
    """A created container with these resources; returns its id."""
    return h.create(with_resources(h, resources)).cid


def fails_to_create(h, resources, *needles):
    b = with_resources(h, resources)
    cid = h.new_id()
    r = h.run("create", "-b", b, cid)
    assert_error(r, *needles)
    assert h.run("state", cid).rc != 0, "a failed create left its state"
    return r


def test_memory(h):
    home = need("memory")
    res = {"memory": {"limit": 64 * MiB, "reservation": 32 * MiB}}
    swap_file = "memory.memsw.limit_in_bytes" if home == "v1" else "memory.swap.max"
    has_swap = (v1_mount("memory") if home == "v1" else v2_mount() / "hull") / swap_file
    if has_swap.exists():
        res["memory"]["swap"] = 96 * MiB
    if home == "v1":
        res["memory"].update({"swappiness": 30, "disableOOMKiller": True})
    cid = created(h, res)
    if home == "v1":
        assert cg_read("memory", cid, "memory.limit_in_bytes") == str(64 * MiB)
        assert cg_read("memory", cid, "memory.soft_limit_in_bytes") == str(32 * MiB)
        if has_swap.exists():
            assert cg_read("memory", cid, swap_file) == str(96 * MiB)
        assert cg_read("memory", cid, "memory.swappiness") == "30"
        assert "oom_kill_disable 1" in cg_read("memory", cid, "memory.oom_control")
    else:
        assert cg_read("memory", cid, "memory.max") == str(64 * MiB)
        assert cg_read("memory", cid, "memory.low") == str(32 * MiB)
        if has_swap.exists():  # memory+swap minus memory
            assert cg_read("memory", cid, swap_file) == str(32 * MiB)
    # the container's process is in that very cgroup
    pid = h.pid(cid)
    key = "memory" if home == "v1" else ""
    lines = [l for l in read_text(f"/proc/{pid}/cgroup").splitlines()
             if key in l.split(":")[1].split(",") or (not key and l.startswith("0::"))]
    assert lines and lines[0].endswith(f"/hull/{cid}"), lines
    h.ok("delete", "-f", cid)


def test_memory_swap_needs_accounting(h):
    home = need("memory")
    swap_file = "memory.memsw.limit_in_bytes" if home == "v1" else "memory.swap.max"
    if ((v1_mount("memory") if home == "v1" else v2_mount() / "hull") / swap_file).exists():
        pytest.skip("the error for a kernel without swap accounting cannot occur here: "
                    "this kernel accounts swap")
    fails_to_create(h, {"memory": {"limit": 64 * MiB, "swap": 96 * MiB}},
                    "linux.resources.memory.swap: this kernel has no swap accounting")


def test_kernel_memory_is_applied_or_ignored(h):
    """Deprecated by the spec: written where the kernel still has the file (since 5.16 the
    kernel takes the write and enforces nothing), ignored elsewhere; never an error."""
    home = need("memory")
    cid = created(h, {"memory": {"limit": 64 * MiB, "kernel": 32 * MiB, "kernelTCP": 16 * MiB}})
    limit = "memory.limit_in_bytes" if home == "v1" else "memory.max"
    assert cg_read("memory", cid, limit) == str(64 * MiB)
    h.ok("delete", "-f", cid)


def test_cpu(h):
    home = need("cpu")
    cid = created(h, {"cpu": {"shares": 512, "quota": 50000, "period": 100000}})
    if home == "v1":
        assert cg_read("cpu", cid, "cpu.shares") == "512"
        assert cg_read("cpu", cid, "cpu.cfs_quota_us") == "50000"
        assert cg_read("cpu", cid, "cpu.cfs_period_us") == "100000"
    else:
        assert cg_read("cpu", cid, "cpu.weight") == "20"  # 1 + (510 * 9999) / 262142
        assert cg_read("cpu", cid, "cpu.max") == "50000 100000"
    h.ok("delete", "-f", cid)


def test_cpu_burst_and_idle(h):
    home = need("cpu")
    burst = "cpu.cfs_burst_us" if home == "v1" else "cpu.max.burst"
    m = v1_mount("cpu") if home == "v1" else v2_mount()
    # the root cgroup has neither file on v2; hull/ (a child) shows what children get
    probe_dir = m if home == "v1" else m / "hull"
    if not (probe_dir / burst).exists() or not (probe_dir / "cpu.idle").exists():
        pytest.skip(f"this kernel has no {burst} or cpu.idle")
    cid = created(h, {"cpu": {"quota": 50000, "period": 100000, "burst": 10000, "idle": 1}})
    assert cg_read("cpu", cid, burst) == "10000"
    assert cg_read("cpu", cid, "cpu.idle") == "1"
    h.ok("delete", "-f", cid)


def test_cpuset(h):
    need("cpuset")
    cid = created(h, {"cpu": {"cpus": "0", "mems": "0"}})
    assert cg_read("cpuset", cid, "cpuset.cpus") == "0"
    assert cg_read("cpuset", cid, "cpuset.mems") == "0"
    h.ok("delete", "-f", cid)


def test_pids(h):
    need("pids")
    cid = created(h, {"pids": {"limit": 10}})
    assert cg_read("pids", cid, "pids.max") == "10"
    h.ok("delete", "-f", cid)
    cid = created(h, {"pids": {"limit": -1}})
    assert cg_read("pids", cid, "pids.max") == "max"
    h.ok("delete", "-f", cid)


def a_block_device():
    """(major, minor) of a whole disk on this host, or None."""
    for d in sorted(Path("/sys/block").iterdir()):
        if d.name.startswith(("loop", "ram", "zram")):
            continue
        text = read_text(d / "dev")
        if text:
            return tuple(int(x) for x in text.strip().split(":"))
    return None


def test_block_io_throttle(h):
    home = need("blkio" if v1_mount("blkio") else "io")
    dev = a_block_device()
    if dev is None:
        pytest.skip("no block device on this host")
    major, minor = dev
    cid = created(h, {"blockIO": {
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": MiB}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}]}})
    if home == "v1":
        assert cg_read("blkio", cid, "blkio.throttle.read_bps_device") == \
            f"{major}:{minor} {MiB}"
        assert cg_read("blkio", cid, "blkio.throttle.write_iops_device") == \
            f"{major}:{minor} 100"
    else:
        line = cg_read("io", cid, "io.max")
        assert f"{major}:{minor} rbps={MiB} wbps=max riops=max wiops=100" in line, line
    h.ok("delete", "-f", cid)


def test_block_io_weight(h):
    """Applied where CFQ or BFQ (v1) or iocost or BFQ (v2) gives the cgroup a weight file,
    else refused with the field named: which one a new cgroup gets shows only in it."""
    home = need("blkio" if v1_mount("blkio") else "io")
    b = with_resources(h, {"blockIO": {"weight": 500}})
    cid = h.new_id()
    r = h.run("create", "-b", b, cid)
    if r.rc != 0:
        assert_error(r, "linux.resources.blockIO.weight", "no blkio weight file" if
                     home == "v1" else "no io.weight")
        return
    d = cg_dir("blkio" if home == "v1" else "io", cid)
    if home == "v1":
        f = "blkio.weight" if (d / "blkio.weight").exists() else "blkio.bfq.weight"
        want = "500"
    else:
        f = "io.bfq.weight" if (d / "io.bfq.weight").exists() else "io.weight"
        want = "500" if f == "io.bfq.weight" else "4950"
    assert read_text(d / f).split()[-1] == want, read_text(d / f)
    h.ok("delete", "-f", cid)


def hugetlb_sizes():
    return [d.name for d in Path("/sys/kernel/mm/hugepages").iterdir()] \
        if Path("/sys/kernel/mm/hugepages").is_dir() else []


def test_hugepage_limits(h):
    if "hugepages-2048kB" not in hugetlb_sizes():
        pytest.skip("no 2 MB huge pages on this host")
    if controller_home("hugetlb") is None:
        fails_to_create(h, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}]},
                        "linux.resources.hugepageLimits[0]: no hugetlb controller")
        return
    home = controller_home("hugetlb")
    cid = created(h, {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 * MiB}]})
    f = "hugetlb.2MB.limit_in_bytes" if home == "v1" else "hugetlb.2MB.max"
    assert cg_read("hugetlb", cid, f) == str(4 * MiB)
    h.ok("delete", "-f", cid)


def test_hugepage_size_unknown(h):
    if controller_home("hugetlb") is None:
        pytest.skip("no hugetlb controller")
    fails_to_create(h, {"hugepageLimits": [{"pageSize": "3MB", "limit": MiB}]},
                    "linux.resources.hugepageLimits[0]: page size 3MB is not supported")


def test_network_class_id(h):
    if v1_mount("net_cls") is None:
        fails_to_create(h, {"network": {"classID": 0x100001}},
                        "linux.resources.network.classID: no net_cls controller on this host")
        return
    cid = created(h, {"network": {"classID": 0x100001}})
    assert cg_read("net_cls", cid, "net_cls.classid") == str(0x100001)
    h.ok("delete", "-f", cid)


def test_rdma(h):
    if controller_home("rdma") is not None:
        pytest.skip("this host has an rdma controller (the absent case is what is tested)")
    fails_to_create(h, {"rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 100}}},
                    "linux.resources.rdma.mlx5_0: no rdma controller on this host")


def test_unified(h):
    need("memory")
    if controller_home("memory") == "v1":
        fails_to_create(h, {"unified": {"memory.high": str(64 * MiB)}},
                        "linux.resources.unified: memory.high: needs cgroup v2",
                        "on cgroup v1")
        return
    cid = created(h, {"unified": {"memory.high": str(64 * MiB)}})
    assert cg_read("memory", cid, "memory.high") == str(64 * MiB)
    h.ok("delete", "-f", cid)


def test_invalid_resources_are_config_errors(h):
    fails_to_create(h, {"memory": {"limit": "1G"}},
                    "config.json: linux.resources.memory.limit: must be an integer")
    fails_to_create(h, {"devices": [{"allow": True, "access": "rwx"}]},
                    "linux.resources.devices[0].access")


# ---- devices, probed from inside ----

LOCAL_MAJOR = 240  # "local/experimental use": no driver, so an allowed open is ENXIO


def free_local_major():
    used = {int(l.split()[0]) for l in (read_text("/proc/devices") or "").splitlines()
            if l.strip() and l.split()[0].isdigit()}
    for major in range(LOCAL_MAJOR, 255):
        if major not in used:
            return major
    pytest.skip("every local major number is taken on this host")


def device_bundle(h, rules, nodes):
    """A container that opens each node (read) and /dev/null (write) and prints what
    happened, one line each."""
    script = "; ".join([f"cat /{n} >/dev/null 2>/tmp/e; echo {n}: $(cat /tmp/e)"
                        for n in nodes] + ["echo null > /dev/null && echo null: ok"])
    b = h.bundle(["/bin/sh", "-c", script])
    b.config["linux"]["resources"] = {"devices": rules}
    b.write()
    return b


def probe_devices(h, rules, nodes):
    b = device_bundle(h, rules, [n for n, _ in nodes])
    for name, (major, minor) in nodes:
        os.mknod(b.rootfs / name, stat.S_IFCHR | 0o666, os.makedev(major, minor))
    r = h.run_container(b)
    assert r.rc == 0, r
    out = dict(l.split(": ", 1) for l in r.out.splitlines() if ": " in l)
    return out


def test_devices_default_deny_keeps_dev_null(h):
    """hull spec's deny-all: /dev/null still works (the standard nodes are allowed after
    the config's rules, as runc does) and any other node is refused."""
    major = free_local_major()
    out = probe_devices(h, [{"allow": False, "access": "rwm"}], [("odd", (major, 0))])
    assert out.get("null") == "ok", out
    assert "Operation not permitted" in out.get("odd", ""), out


def test_devices_allow_then_narrow(h):
    major = free_local_major()
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": major, "access": "rwm"},
             {"allow": False, "type": "c", "major": major, "minor": 0, "access": "rwm"}]
    out = probe_devices(h, rules, [("a0", (major, 0)), ("a1", (major, 1))])
    # a wildcard allow is not carved by a later exact deny (v1 exception semantics)...
    assert "Operation not permitted" not in out.get("a1", ""), out
    assert "No such device" in out.get("a1", ""), out
    # ...but an exact allow is: per-node rules are what narrows
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": major, "minor": 0, "access": "rwm"},
             {"allow": True, "type": "c", "major": major, "minor": 1, "access": "rwm"},
             {"allow": False, "type": "c", "major": major, "minor": 0, "access": "r"}]
    out = probe_devices(h, rules, [("a0", (major, 0)), ("a1", (major, 1))])
    assert "Operation not permitted" in out.get("a0", ""), out
    assert "No such device" in out.get("a1", ""), out
    assert out.get("null") == "ok", out


def test_devices_list_on_v1(h):
    if v1_mount("devices") is None:
        pytest.skip("no v1 devices controller (cgroup2 hosts use a BPF program)")
    cid = created(h, {"devices": [{"allow": False, "access": "rwm"}]})
    listed = cg_read("devices", cid, "devices.list").splitlines()
    assert "a *:* rwm" not in listed, listed
    for rule in ("c 1:3 rwm", "c 1:5 rwm", "c 136:* rwm", "c *:* m", "b *:* m"):
        assert rule in listed, (rule, listed)
    h.ok("delete", "-f", cid)


def test_linux_devices_are_allowed(h):
    """A node listed in linux.devices is usable without a rule of its own."""
    b = h.bundle(["/bin/sh", "-c", "echo x > /dev/hullzero && echo zero: ok"])
    b.config["linux"]["devices"] = [{"path": "/dev/hullzero", "type": "c", "major": 1,
                                     "minor": 5, "fileMode": 0o666}]
    b.config["linux"]["resources"] = {"devices": [{"allow": False, "access": "rwm"}]}
    b.write()
    r = h.run_container(b)
    assert r.rc == 0 and "zero: ok" in r.out, r


def test_nothing_left_after_a_refused_resource(h):
    """create fails after making the cgroup and writing some of it; every directory goes
    again (the harness's leak check looks for the id in every hierarchy)."""
    if controller_home("rdma") is None:
        fails_to_create(h, {"pids": {"limit": 10}, "rdma": {"mlx_x": {"hcaHandles": 1}}},
                        "linux.resources.rdma.mlx_x")
    else:
        fails_to_create(h, {"pids": {"limit": 10},
                            "hugepageLimits": [{"pageSize": "7MB", "limit": 1}]},
                        "page size 7MB")
