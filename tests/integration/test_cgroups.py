"""Cgroups on this host's layout (v1, v2 or hybrid): the container's process is in
/hull/<id> (or its cgroupsPath) in every hierarchy, and nothing remains after delete."""

import os
from pathlib import Path

from conftest import cgroup_dir_for, cgroup_mounts, read_text, wait_for


def host_hierarchies():
    """The hierarchy keys ("memory", "name=systemd", "" for v2) of this process."""
    return {line.split(":", 2)[1] for line in read_text("/proc/self/cgroup").splitlines()}


def container_cgroups(pid):
    return {l.split(":", 2)[1]: l.split(":", 2)[2]
            for l in read_text(f"/proc/{pid}/cgroup").splitlines()}


def dirs_named(name):
    found = []
    for mnt, _, _ in cgroup_mounts():
        for dirpath, dirnames, _ in os.walk(mnt):
            found += [os.path.join(dirpath, d) for d in dirnames if d == name]
    return found


def check_in_every_hierarchy(pid, path):
    cgs = container_cgroups(pid)
    assert set(cgs) == host_hierarchies(), cgs
    for key, p in cgs.items():
        assert p == path, f"hierarchy {key or 'v2'}: {p} != {path}"
        d = cgroup_dir_for(f"0:{key}:{p}")
        assert d is not None and d.is_dir(), (key, d)
        assert str(pid) in (d / "cgroup.procs").read_text().split(), (key, d)
    # and seen from the mount table: every cgroup hierarchy mounted on the host
    for mnt, fstype, opts in cgroup_mounts():
        d = Path(mnt + path)
        assert d.is_dir(), f"{fstype} {opts} at {mnt}: no {d}"
        assert str(pid) in (d / "cgroup.procs").read_text().split(), d


def test_default_cgroup_path(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.create(b).cid
    pid = h.pid(cid)
    check_in_every_hierarchy(pid, f"/hull/{cid}")
    h.ok("start", cid)
    h.wait_status(cid, "running")
    check_in_every_hierarchy(pid, f"/hull/{cid}")
    assert dirs_named(cid)
    h.ok("delete", "-f", cid)
    assert dirs_named(cid) == []


def test_cgroups_path(h):
    parent = "hulltest-" + h.new_id().rsplit("-", 1)[1]
    h.cgroup_names.append(parent)
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    b.config["linux"]["cgroupsPath"] = f"/{parent}/{cid}"
    b.write()
    h.ok("run", "-d", "-b", b, cid)
    pid = h.pid(cid)
    check_in_every_hierarchy(pid, f"/{parent}/{cid}")
    assert not [d for d in dirs_named(cid) if "/hull/" in d]
    h.ok("delete", "-f", cid)
    assert dirs_named(cid) == []
    # hull made the parent too; it may leave it only if something else lives there
    for d in dirs_named(parent):
        os.rmdir(d)


def test_cgroup_removed_after_run(h):
    b = h.bundle(["/probe", "exit", "0"])
    r = h.run_container(b)
    assert r.rc == 0, r
    assert dirs_named(r.cid) == []


def test_cgroup_namespace_view(h):
    """With a cgroup namespace the process sees itself at the root of each hierarchy."""
    report = h.report(h.bundle())
    for line in report["cgroup"]:
        assert line.split(":", 2)[2] == "/", report["cgroup"]


def test_children_stay_in_cgroup(h):
    b = h.bundle(["/bin/sh", "-c", "/probe sleep 60 & exec /probe sleep 61"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    pid = h.pid(cid)
    d = cgroup_dir_for(f"0::{container_cgroups(pid)['']}")
    procs = wait_for(lambda: (d / "cgroup.procs").read_text().split()
                     if len((d / "cgroup.procs").read_text().split()) == 2 else None,
                     10, "two processes in the cgroup")
    assert str(pid) in procs
    h.ok("delete", "-f", cid)
    wait_for(lambda: not Path(d).exists(), 5, "the cgroup to go")
