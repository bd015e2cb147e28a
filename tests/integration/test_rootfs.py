"""The container's filesystem: root, mounts, symlinks in the rootfs, /dev, masked and
read-only paths. Checked from inside (probe) and from the host (nothing lands outside)."""

import os
import random
import shutil
import string
import subprocess

import pytest


def mount_at(report, point):
    """The last (topmost) mount at a mount point in the probe's mountinfo."""
    found = [m for m in report["mounts"] if m["mount_point"] == point]
    assert found, f"no mount at {point}: {[m['mount_point'] for m in report['mounts']]}"
    return found[-1]


def opts(m):
    return set(m["options"].split(",")) | set(m["super_options"].split(","))


def test_root_readonly(h):
    b = h.bundle(["/probe", "write", "/newfile", "x"])
    b.config["root"]["readonly"] = True
    b.write()
    r = h.run_container(b)
    assert r.rc == 1, r
    assert "Read-only file system" in r.err, r
    assert not (b.rootfs / "newfile").exists()
    b.config["process"]["args"] = ["/probe", "report"]
    b.write()
    report = h.report(b)
    assert "ro" in mount_at(report, "/")["options"].split(",")
    # /dev and the other mounts on top stay writable
    assert "rw" in mount_at(report, "/dev/shm")["options"].split(",")


def test_root_writable(h):
    b = h.bundle(["/probe", "write", "/newfile", "hello"])
    r = h.run_container(b)
    assert r.rc == 0, r
    assert (b.rootfs / "newfile").read_text() == "hello"


def test_root_path_relative_nested(h):
    b = h.bundle(["/probe", "exit", "5"])
    nested = b.path / "sub" / "dir"
    nested.mkdir(parents=True)
    shutil.move(str(b.rootfs), str(nested / "rootfs"))
    b.config["root"]["path"] = "sub/dir/rootfs"
    b.write()
    assert h.run_container(b).rc == 5


def test_root_path_absolute(h):
    b = h.bundle(["/probe", "exit", "6"])
    b.config["root"]["path"] = str(b.rootfs)
    b.write()
    assert h.run_container(b).rc == 6


def test_tmpfs_mount_mode_and_flags(h):
    b = h.bundle(["/bin/sh", "-c", "/probe ls /mnt/t; /probe report"])
    b.config["mounts"].append({"destination": "/mnt/t", "type": "tmpfs", "source": "tmpfs",
                               "options": ["mode=1700", "size=1m", "nosuid", "noexec",
                                           "nodev"]})
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    ls, report = r.json_lines()
    assert ls["type"] == "d" and ls["mode"] == 0o1700, ls
    m = mount_at(report, "/mnt/t")
    assert m["fstype"] == "tmpfs"
    assert {"nosuid", "noexec", "nodev"} <= set(m["options"].split(",")), m
    assert "size=1024k" in m["super_options"], m


def test_tmpfs_tmpcopyup(h):
    """podman --read-only: a tmpfs over /etc starts with the image's /etc (files, dirs,
    symlinks, owners, modes), is writable on a read-only root, and the image is untouched."""
    b = h.bundle(["/bin/sh", "-c",
                  "/probe cat /etc/sub/deep && echo && /probe ls /etc/sub/deep && /probe ls /etc/link"
                  " && /probe ls /etc && /probe write /etc/new x && /probe report"])
    etc = b.rootfs / "etc"
    (etc / "sub").mkdir()
    (etc / "sub" / "deep").write_text("deep file")
    os.chmod(etc / "sub" / "deep", 0o604)
    os.chown(etc / "sub" / "deep", 1000, 1001)
    os.chmod(etc, 0o751)
    os.symlink("/nonexistent/target", etc / "link")
    b.config["root"]["readonly"] = True
    b.config["mounts"].append({"destination": "/etc", "type": "tmpfs", "source": "tmpfs",
                               "options": ["tmpcopyup", "nosuid", "nodev"]})
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    assert r.out.splitlines()[0] == "deep file", r.out
    deep, link, etc_ls, report = r.json_lines()
    assert (deep["mode"], deep["uid"], deep["gid"]) == (0o604, 1000, 1001), deep
    assert link["type"] == "l", link
    assert etc_ls["mode"] == 0o751, etc_ls
    assert mount_at(report, "/etc")["fstype"] == "tmpfs"
    assert not (etc / "new").exists()


def test_tmpcopyup_only_for_tmpfs(h):
    b = h.bundle()
    b.config["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(h.tmp),
                               "options": ["rbind", "tmpcopyup"]})
    b.write()
    r = h.run_container(b)
    assert r.rc == 1 and "tmpcopyup applies to tmpfs" in r.err, r


def test_bind_file_and_dir(h):
    src_file = h.tmp / "hostfile.txt"
    src_file.write_text("from the host\n")
    src_dir = h.tmp / "hostdir"
    src_dir.mkdir()
    (src_dir / "inner").write_text("inner\n")
    b = h.bundle(["/bin/sh", "-c",
                  "/probe cat /etc/bound.txt && /probe cat /mnt/dir/inner && "
                  "/probe write /mnt/dir/new written && /probe report"])
    b.config["mounts"] += [
        {"destination": "/etc/bound.txt", "type": "bind", "source": str(src_file),
         "options": ["bind"]},
        {"destination": "/mnt/dir", "type": "none", "source": str(src_dir),
         "options": ["rbind", "rw"]},
    ]
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    assert r.out.startswith("from the host\ninner\n"), r
    assert (src_dir / "new").read_text() == "written"


def test_bind_relative_source(h):
    b = h.bundle(["/probe", "cat", "/mnt/rel/data"])
    (b.path / "reldir").mkdir()
    (b.path / "reldir" / "data").write_text("relative-ok")
    b.config["mounts"].append({"destination": "/mnt/rel", "type": "bind", "source": "reldir",
                               "options": ["bind"]})
    b.write()
    r = h.run_container(b)
    assert r.rc == 0 and r.out == "relative-ok", r


def test_ro_bind(h):
    src = h.tmp / "rodir"
    src.mkdir()
    b = h.bundle(["/bin/sh", "-c", "/probe write /mnt/ro/x y; echo rc=$?; /probe report"])
    b.config["mounts"].append({"destination": "/mnt/ro", "type": "bind", "source": str(src),
                               "options": ["bind", "ro", "nosuid", "nodev"]})
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    assert "rc=1" in r.out and "Read-only file system" in r.err, r
    assert not (src / "x").exists()
    m = mount_at(r.json_lines()[-1], "/mnt/ro")
    assert {"ro", "nosuid", "nodev"} <= set(m["options"].split(",")), m


@pytest.fixture
def dir_with_submount(h):
    src = h.tmp / "withsub"
    (src / "sub").mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "hulltest-sub", str(src / "sub")],
                   check=True)
    try:
        (src / "sub" / "marker").write_text("in submount")
        yield src
    finally:
        subprocess.run(["umount", "-l", str(src / "sub")], check=True)


def test_rbind_includes_submounts_bind_does_not(h, dir_with_submount):
    b = h.bundle(["/bin/sh", "-c", "/probe ls /mnt/r/sub/marker; /probe ls /mnt/b/sub/marker;"
                  " /probe report"])
    b.config["mounts"] += [
        {"destination": "/mnt/r", "type": "bind", "source": str(dir_with_submount),
         "options": ["rbind"]},
        {"destination": "/mnt/b", "type": "bind", "source": str(dir_with_submount),
         "options": ["bind"]},
    ]
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    r_ls, b_ls, report = r.json_lines()
    assert r_ls.get("type") == "f", r_ls
    assert "errno" in b_ls, b_ls
    assert mount_at(report, "/mnt/r/sub")["fstype"] == "tmpfs"
    assert not [m for m in report["mounts"] if m["mount_point"] == "/mnt/b/sub"]


def test_mount_destination_through_symlink_to_root(h):
    """`evil -> /` in the rootfs: a mount at /evil/<name> must land in the rootfs."""
    name = "hull-escape-" + "".join(random.choices(string.ascii_lowercase, k=8))
    host_target = "/" + name
    h.host_paths.append(host_target)
    b = h.bundle(["/bin/sh", "-c", f"/probe ls /{name}; /probe report"])
    os.symlink("/", b.rootfs / "evil")
    b.config["mounts"].append({"destination": f"/evil/{name}", "type": "tmpfs",
                               "source": "tmpfs", "options": ["size=1m"]})
    b.write()
    r = h.run_container(b)
    assert not os.path.lexists(host_target), f"hull created {host_target} on the host"
    assert r.rc == 0, r
    ls, report = r.json_lines()
    assert ls["type"] == "d"
    assert (b.rootfs / name).is_dir()
    assert mount_at(report, "/" + name)["fstype"] == "tmpfs"


def test_mount_destination_through_symlink_to_host_dir(h):
    """An absolute symlink to a host path is resolved inside the rootfs, not on the host."""
    outside = h.tmp / "outside"
    outside.mkdir()
    b = h.bundle(["/probe", "report"])
    os.symlink(str(outside), b.rootfs / "link")
    os.symlink("../../../../../../../../" + str(outside).lstrip("/"), b.rootfs / "rel")
    b.config["mounts"] += [
        {"destination": "/link/a", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        {"destination": "/rel/b", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
    ]
    b.write()
    r = h.run_container(b)
    assert list(outside.iterdir()) == [], "a mount target was created outside the rootfs"
    assert r.rc == 0, r
    assert (b.rootfs / str(outside).lstrip("/") / "a").is_dir()
    assert (b.rootfs / str(outside).lstrip("/") / "b").is_dir()


def test_bind_source_symlink_escape_in_destination_file(h):
    """A file destination that is a symlink pointing out of the rootfs."""
    victim = h.tmp / "victim.txt"
    victim.write_text("untouched")
    src = h.tmp / "payload.txt"
    src.write_text("payload")
    b = h.bundle(["/probe", "cat", "/etc/target"])
    os.symlink(str(victim), b.rootfs / "etc" / "target")
    b.config["mounts"].append({"destination": "/etc/target", "type": "bind",
                               "source": str(src), "options": ["bind"]})
    b.write()
    r = h.run_container(b)
    assert victim.read_text() == "untouched"
    # Either hull refuses, or it mounted inside the rootfs.
    if r.rc == 0:
        assert r.out == "payload"
    else:
        assert r.rc == 1 and r.err.startswith("hull: "), r


DEFAULT_DEVICES = {"/dev/null": (1, 3), "/dev/zero": (1, 5), "/dev/full": (1, 7),
                   "/dev/random": (1, 8), "/dev/urandom": (1, 9), "/dev/tty": (5, 0)}
DEFAULT_LINKS = {"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
                 "/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2"}


def test_default_devices_and_links(h):
    paths = list(DEFAULT_DEVICES) + list(DEFAULT_LINKS) + ["/dev/ptmx"]
    b = h.bundle(["/bin/sh", "-c", "for p in " + " ".join(paths) + "; do /probe ls $p; done;"
                  " echo data > /dev/null && head -c 4 /dev/zero | wc -c"])
    r = h.run_container(b)
    assert r.rc == 0, r
    got = {e["path"]: e for e in r.json_lines()}
    for p, (major, minor) in DEFAULT_DEVICES.items():
        e = got[p]
        assert e.get("type") == "c" and (e["major"], e["minor"]) == (major, minor), e
        assert e["mode"] == 0o666, e
    for p, target in DEFAULT_LINKS.items():
        assert got[p].get("type") == "l" and got[p]["target"] == target, got[p]
    ptmx = got["/dev/ptmx"]
    assert (ptmx.get("type") == "l" and ptmx["target"] in ("pts/ptmx", "/dev/pts/ptmx")) or \
        (ptmx.get("type") == "c" and (ptmx["major"], ptmx["minor"]) == (5, 2)), ptmx
    assert r.out.strip().splitlines()[-1].strip() == "4"


def test_linux_devices(h):
    b = h.bundle(["/bin/sh", "-c", "/probe ls /dev/hullnull; /probe ls /dev/sub/hullzero;"
                  " echo hi > /dev/hullnull && echo wrote"])
    b.config["linux"]["devices"] = [
        {"path": "/dev/hullnull", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640,
         "uid": 1000, "gid": 1000},
        {"path": "/dev/sub/hullzero", "type": "c", "major": 1, "minor": 5},
    ]
    # root without CAP_DAC_OVERRIDE could not write to a 0640 device owned by 1000
    b.config["process"]["capabilities"]["effective"].append("CAP_DAC_OVERRIDE")
    b.config["process"]["capabilities"]["permitted"].append("CAP_DAC_OVERRIDE")
    b.config["process"]["capabilities"]["bounding"].append("CAP_DAC_OVERRIDE")
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    dev, zero = r.json_lines()
    assert dev["type"] == "c" and (dev["major"], dev["minor"]) == (1, 3), dev
    assert dev["mode"] == 0o640 and dev["uid"] == 1000 and dev["gid"] == 1000, dev
    assert zero["type"] == "c" and (zero["major"], zero["minor"]) == (1, 5), zero
    assert "wrote" in r.out


def test_linux_devices_bad_type(h):
    b = h.bundle()
    b.config["linux"]["devices"] = [{"path": "/dev/x", "type": "q", "major": 1, "minor": 3}]
    b.write()
    r = h.run_container(b)
    assert r.rc == 1 and "devices" in r.err, r


def test_masked_paths(h):
    b = h.bundle(["/bin/sh", "-c", "/probe cat /proc/kcore | wc -c; ls -A /sys/firmware | wc -l;"
                  " /probe cat /proc/keys | wc -c"])
    r = h.run_container(b)
    assert r.rc == 0, r
    # each: empty, or unreadable (then nothing reaches wc either)
    assert [l.strip() for l in r.out.splitlines()] == ["0", "0", "0"], r


def test_masked_path_custom_and_missing(h):
    b = h.bundle(["/bin/sh", "-c", "cat /etc/secret; echo rc=$?"])
    (b.rootfs / "etc" / "secret").write_text("SECRET")
    b.config["linux"]["maskedPaths"] += ["/etc/secret", "/does/not/exist"]
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    assert "SECRET" not in r.out


def test_readonly_paths(h):
    b = h.bundle(["/bin/sh", "-c", "/probe write /proc/sys/kernel/domainname x; echo rc=$?;"
                  " /probe write /proc/sysrq-trigger h; echo rc=$?; /probe report"])
    r = h.run_container(b)
    assert r.rc == 0, r
    assert r.out.count("rc=1") == 2, r
    assert "Read-only file system" in r.err, r
    report = r.json_lines()[-1]
    assert "ro" in mount_at(report, "/proc/sys")["options"].split(",")
    assert report["domainname"] != "x"


def test_readonly_path_custom(h):
    b = h.bundle(["/bin/sh", "-c", "/probe write /data/f x; echo rc=$?"])
    (b.rootfs / "data").mkdir()
    b.config["linux"]["readonlyPaths"] = ["/data"]
    b.write()
    r = h.run_container(b)
    assert "rc=1" in r.out and not (b.rootfs / "data" / "f").exists(), r


def test_dev_pts_shm_mqueue(h):
    report = h.report(h.bundle())
    assert mount_at(report, "/dev")["fstype"] == "tmpfs"
    pts = mount_at(report, "/dev/pts")
    assert pts["fstype"] == "devpts"
    assert "ptmxmode=666" in pts["super_options"] or "ptmxmode=0666" in pts["super_options"]
    assert mount_at(report, "/dev/shm")["fstype"] == "tmpfs"
    assert mount_at(report, "/dev/mqueue")["fstype"] == "mqueue"
    assert mount_at(report, "/proc")["fstype"] == "proc"
    sysfs = mount_at(report, "/sys")
    assert sysfs["fstype"] == "sysfs" and "ro" in sysfs["options"].split(",")
    cg = [m for m in report["mounts"] if m["mount_point"].startswith("/sys/fs/cgroup")]
    assert cg and all("ro" in m["options"].split(",") for m in cg), cg


def test_no_host_mounts_leak_in(h):
    report = h.report(h.bundle())
    points = {m["mount_point"] for m in report["mounts"]}
    assert not [p for p in points if p.startswith(("/work", "/tmp/pytest", "/home"))], points
