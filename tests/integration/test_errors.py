"""Failures: one line `hull: ...` naming what is wrong, exit 1, and nothing left behind
(the autouse leak check looks for state, mounts, processes and cgroups)."""

import pytest

from conftest import assert_error


def test_missing_cwd(h):
    b = h.bundle()
    b.config["process"]["cwd"] = "/does/not/exist"
    b.write()
    line = assert_error(h.run_container(b), "/does/not/exist")
    assert "No such file or directory" in line
    assert not (b.rootfs / "does").exists()


@pytest.mark.parametrize("cmd", ["run", "create"])
def test_exec_missing_file(h, cmd):
    b = h.bundle(["/no/such/binary", "arg"])
    cid = h.new_id()
    r = h.run(cmd, "-b", b, cid)
    line = assert_error(r, "/no/such/binary")
    assert "No such file or directory" in line
    assert h.run("state", cid).rc == 1


def test_exec_not_executable(h):
    b = h.bundle(["/etc/passwd"])
    line = assert_error(h.run_container(b), "/etc/passwd")
    assert "Permission denied" in line


def test_exec_not_in_path(h):
    b = h.bundle(["no-such-command"])
    assert_error(h.run_container(b), "no-such-command")


BAD_CONFIGS = {
    "invalid-json": ("{\"ociVersion\": ", "config.json"),
    "not-an-object": ("[1, 2]", "config.json"),
    "args-empty": ({"process": {"args": []}}, "process.args"),
    "args-not-strings": ({"process": {"args": [1, 2]}}, "process.args"),
    "root-missing": ({"root": None}, "root"),
    "uid-string": ({"process": {"user": {"uid": "zero", "gid": 0}}}, "uid"),
    "namespace-type": ({"linux": {"namespaces": [{"type": "bogus"}]}}, "bogus"),
    "namespace-duplicate": ({"linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]}},
                            "pid"),
    "mount-no-destination": ({"mounts": [{"type": "tmpfs", "source": "tmpfs"}]},
                             "destination"),
    "rlimit-type": ({"process": {"rlimits": [{"type": "RLIMIT_NOPE", "soft": 1, "hard": 1}]}},
                    "RLIMIT_NOPE"),
    "umask-negative": ({"process": {"user": {"uid": 0, "gid": 0, "umask": -1}}}, "umask"),
    "oci-version-missing": ({"ociVersion": None}, "ociVersion"),
}


def merge(cfg, patch):
    for k, v in patch.items():
        if v is None:
            cfg.pop(k, None)
        elif isinstance(v, dict) and isinstance(cfg.get(k), dict):
            merge(cfg[k], v)
        else:
            cfg[k] = v


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config(h, case):
    patch, needle = BAD_CONFIGS[case]
    b = h.bundle()
    if isinstance(patch, str):
        (b.path / "config.json").write_text(patch)
    else:
        merge(b.config, patch)
        b.write()
    for cmd in ("create", "run"):
        cid = h.new_id()
        line = assert_error(h.run(cmd, "-b", b, cid), needle)
        assert "config.json" in line or needle in line
        assert h.run("state", cid).rc == 1
    assert not any(h.root.iterdir())


def test_missing_bundle(h):
    r = h.run("create", "-b", h.tmp / "no-bundle", h.new_id())
    assert_error(r, "no-bundle")


def test_bundle_without_config(h):
    b = h.bundle()
    (b.path / "config.json").unlink()
    assert_error(h.run("create", "-b", b, h.new_id()), "config.json")


def test_missing_rootfs(h):
    b = h.bundle()
    b.config["root"]["path"] = "no-rootfs-here"
    b.write()
    assert_error(h.run("run", "-b", b, h.new_id()), "no-rootfs-here")


def test_rootfs_is_a_file(h):
    b = h.bundle()
    (b.path / "file-root").write_text("x")
    b.config["root"]["path"] = "file-root"
    b.write()
    assert_error(h.run("run", "-b", b, h.new_id()), "file-root")


def test_bad_mount_source(h):
    b = h.bundle()
    b.config["mounts"].append({"destination": "/mnt/x", "type": "bind",
                               "source": str(h.tmp / "missing-src"), "options": ["bind"]})
    b.write()
    assert_error(h.run("run", "-b", b, h.new_id()), "missing-src")


def test_bad_mount_type(h):
    b = h.bundle()
    b.config["mounts"].append({"destination": "/mnt/x", "type": "nosuchfs", "source": "x"})
    b.write()
    assert_error(h.run("run", "-b", b, h.new_id()), "/mnt/x")


def test_error_from_child_after_partial_setup_cleans_up(h):
    """A failure late in the child's setup (after mounts, cgroup, devices): all undone."""
    b = h.bundle()
    b.config["linux"]["devices"] = [{"path": "/dev/hullnull", "type": "c", "major": 1,
                                     "minor": 3}]
    b.config["process"]["cwd"] = "/missing-cwd"
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/true"}]}
    b.write()
    assert_error(h.run("run", "-b", b, h.new_id()), "/missing-cwd")


def test_no_command(h):
    r = h.run()
    assert r.rc in (0, 1), r
    assert "usage" in (r.out + r.err).lower(), r


def test_missing_id_argument(h):
    b = h.bundle()
    assert_error(h.run("create", "-b", b))
    assert_error(h.run("state"))
    assert_error(h.run("delete"))
    assert_error(h.run("kill"))


def test_hostname_too_long(h):
    """Fails inside the child (sethostname) after namespaces and mounts exist."""
    b = h.bundle()
    b.config["hostname"] = "h" * 100
    b.write()
    assert_error(h.run("run", "-b", b, h.new_id()), "hostname")


def test_user_not_mapped_in_user_namespace(h):
    h.make_traversable()
    b = h.bundle()
    b.config["linux"]["namespaces"].append({"type": "user"})
    b.config["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}]
    b.config["linux"]["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 1000}]
    b.config["mounts"] = [m for m in b.config["mounts"] if m["type"] != "cgroup"]
    b.config["process"]["user"] = {"uid": 5000, "gid": 0}
    b.write()
    assert_error(h.run("run", "-b", b, h.new_id()), "5000")


def test_console_socket_missing(h):
    b = h.bundle()
    b.config["process"]["terminal"] = True
    b.write()
    sock = h.tmp / "no-such.sock"
    assert_error(h.run("create", "--console-socket", sock, "-b", b, h.new_id()), "no-such.sock")


def test_pid_file_in_missing_dir(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    r = h.run("create", "--pid-file", h.tmp / "nodir" / "x.pid", "-b", b, cid)
    assert_error(r, "x.pid")
    assert h.run("state", cid).rc == 1
