"""Paths that try to leave the rootfs: "..", symlinks planted in the image, a /dev/null
that is not a device. Whatever hull does (refuse, or act inside the rootfs), the host
must stay untouched; the leak check also watches the host paths registered here."""

import os
import random
import string

from conftest import drop_mount


def unique(prefix):
    return prefix + "".join(random.choices(string.ascii_lowercase, k=8))


def refused_or_ok(r):
    """hull may refuse a suspicious config, but only the documented way."""
    if r.rc != 0:
        assert r.rc == 1 and r.err.startswith("hull: ") and \
            len(r.err.strip().splitlines()) == 1, r
    return r.rc == 0


def test_mount_destination_dotdot(h):
    name = unique("hull-dotdot-")
    h.host_paths.append("/" + name)
    b = h.bundle(["/probe", "ls", "/" + name])
    b.config["mounts"].append({"destination": f"/../../../../{name}", "type": "tmpfs",
                               "source": "tmpfs", "options": ["size=1m"]})
    b.write()
    r = h.run_container(b)
    assert not os.path.lexists("/" + name)
    if refused_or_ok(r):
        assert (b.rootfs / name).is_dir()


def test_device_path_dotdot(h):
    name = unique("hull-dev-")
    h.host_paths.append("/tmp/" + name)
    b = h.bundle(["/probe", "ls", f"/tmp/{name}"])
    b.config["linux"]["devices"] = [{"path": f"/dev/../../../../../tmp/{name}", "type": "c",
                                     "major": 1, "minor": 3}]
    b.write()
    r = h.run_container(b)
    assert not os.path.lexists("/tmp/" + name), "hull made a device node on the host"
    if refused_or_ok(r):
        st = r.json_lines()[-1]
        assert st["type"] == "c" and (st["major"], st["minor"]) == (1, 3), st


def test_proc_is_a_symlink_in_the_image(h):
    """A rootfs whose /proc points at a host directory (CVE-2019-19921 class)."""
    target = h.tmp / "host-proc-target"
    target.mkdir()
    b = h.bundle()
    (b.rootfs / "proc").rmdir()
    os.symlink(str(target), b.rootfs / "proc")
    r = h.run_container(b)
    assert list(target.iterdir()) == []
    if refused_or_ok(r):
        report = r.json_lines()[-1]
        assert [m for m in report["mounts"] if m["fstype"] == "proc"]


def test_dev_null_planted_symlink_does_not_unmask(h):
    """Without a /dev tmpfs the image's own /dev is used; a /dev/null symlink to a file must
    not become what masks /proc/kcore (masking must still hide, never expose)."""
    b = h.bundle(["/bin/sh", "-c", "/probe cat /proc/kcore | wc -c; /probe ls /dev/null"])
    drop_mount(b.config, "/dev")
    drop_mount(b.config, "/dev/pts")
    drop_mount(b.config, "/dev/shm")
    drop_mount(b.config, "/dev/mqueue")
    (b.rootfs / "etc" / "secret").write_text("SECRET-CONTENT")
    os.symlink("/etc/secret", b.rootfs / "dev" / "null")
    b.write()
    r = h.run_container(b)
    if refused_or_ok(r):
        assert r.out.splitlines()[0].strip() == "0", r
        assert "SECRET" not in r.out


def test_root_path_is_a_symlink(h):
    b = h.bundle(["/probe", "exit", "9"])
    os.rename(b.rootfs, b.path / "real-rootfs")
    os.symlink("real-rootfs", b.path / "rootfs")
    assert h.run_container(b).rc == 9


def test_readonly_path_through_symlink(h):
    """readonlyPaths entry that is a symlink to a host path: the remount stays inside."""
    outside = h.tmp / "ro-outside"
    outside.mkdir()
    b = h.bundle(["/probe", "write", str(outside / "f"), "x"])
    inner = b.rootfs / str(outside).lstrip("/")
    inner.mkdir(parents=True)
    os.symlink(str(outside), b.rootfs / "rolink")
    b.config["linux"]["readonlyPaths"].append("/rolink")
    b.write()
    r = h.run_container(b)
    assert not (outside / "f").exists()
    assert not (inner / "f").exists(), "the read-only path was writable"
    assert r.rc == 1 and ("Read-only file system" in r.err or r.err.startswith("hull: ")), r
    # and the host directory was not made read-only
    (outside / "probe-write").write_text("ok")
