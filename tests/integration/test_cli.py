"""Global flags, spec, features, --version: the CLI surface orchestrators parse."""

import json
import os
import re
import shutil
import subprocess


from conftest import REPO, assert_error, read_text

HOOK_KINDS = {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop"}


def test_root_flag_forms(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    h.ok("--root=" + str(h.root), "create", "-b", b, cid, root=False)
    for form in (["--root", str(h.root)], ["--root=" + str(h.root)], ["-root", str(h.root)]):
        r = h.run(*form, "state", cid, root=False)
        assert r.rc == 0 and r.json()["id"] == cid, r
    # Command flags take both forms as well.
    r = h.ok("list", "--format=json")
    assert [c["id"] for c in json.loads(r.out)] == [cid]
    h.ok("delete", "--force=true", cid)
    assert not any(h.root.iterdir())


def test_other_root_does_not_see_container(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.create(b).cid
    other = h.tmp / "other-root"
    r = h.run("--root", other, "state", cid, root=False)
    assert_error(r, cid)
    h.ok("delete", "-f", cid)


def test_log_json_error(h):
    log = h.tmp / "hull.log"
    cid = h.new_id()
    r = h.run("--log-format=json", "--log", log, "state", cid)
    assert r.rc == 1, r
    lines = [l for l in log.read_text().splitlines() if l.strip()]
    assert lines, f"nothing in the log; stderr: {r.err!r}"
    entries = [json.loads(l) for l in lines]
    errors = [e for e in entries if e.get("level") == "error"]
    assert errors, entries
    assert cid in errors[-1]["msg"]
    assert "time" in errors[-1]


def test_log_text_and_debug(h):
    log = h.tmp / "hull-text.log"
    b = h.bundle(["/probe", "exit", "0"])
    cid = h.new_id()
    r = h.run("--debug", "--log", log, "--log-format", "text", "run", "-b", b, cid)
    assert r.rc == 0, r
    # A text log is not JSON.
    for line in log.read_text().splitlines() if log.exists() else []:
        assert not line.startswith("{"), line


def test_unknown_command_and_flag(h):
    assert_error(h.run("frobnicate"), "frobnicate")
    assert_error(h.run("--no-such-flag", "list"), "--no-such-flag")
    assert_error(h.run("list", "--bogus"), "--bogus")


COMMANDS = ["create", "start", "run", "exec", "state", "kill", "delete", "list", "ps",
            "pause", "resume", "update", "events", "spec", "features", "net", "image"]


def test_command_help(h):
    """`hull CMD --help`, `-h` and `hull help CMD`: a usage for that command on stdout, exit
    0; its options are the ones the command's parser takes."""
    for cmd in COMMANDS:
        for args in ([cmd, "--help"], [cmd, "-h"], ["help", cmd]):
            r = h.run(*args)
            assert r.rc == 0 and r.err == "", r
            assert r.out.startswith(f"usage: hull {cmd}"), r
    delete = h.ok("delete", "--help").out
    assert re.search(r"^\s+-f, --force$", delete, re.M), delete
    assert h.ok("help", "delete").out == delete
    exec_help = h.ok("exec", "--help").out
    for opt in ("--ignore-paused", "--process", "--cap", "--preserve-fds", "--env"):
        assert opt in exec_help, exec_help
    run_help = h.ok("run", "--help").out
    assert "--no-subreaper" in run_help and "-b, --bundle" in run_help, run_help
    # Options before --help are parsed as usual; a command's own arguments may follow.
    assert h.ok("kill", "-a", "--help").out == h.ok("kill", "-h").out
    assert h.ok("image", "unpack", "--help").out.startswith("usage: hull image unpack")
    top = h.ok("--help", root=False).out
    assert h.ok("help", root=False).out == top
    assert_error(h.run("help", "frobnicate"), "frobnicate")
    assert_error(h.run("list", "--bogus", "--help"), "--bogus")


def test_version(h):
    r = h.run("--version", root=False)
    assert r.rc == 0, r
    version = re.search(r"version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text()).group(1)
    first = r.out.splitlines()[0]
    assert first.startswith("hull version"), r.out
    assert version in first, r.out
    assert re.search(r"spec: 1\.\d+\.\d+", r.out), r.out


def test_features(h):
    r = h.ok("features", root=False)
    f = r.json()
    assert re.fullmatch(r"1\.\d+\.\d+", f["ociVersionMin"]), f
    assert re.fullmatch(r"1\.\d+\.\d+(-.*)?", f["ociVersionMax"]), f
    assert HOOK_KINDS <= set(f["hooks"]), f["hooks"]
    assert {"ro", "rw", "bind", "rbind", "nosuid", "noexec", "nodev", "rprivate"} <= \
        set(f["mountOptions"]), f["mountOptions"]
    lx = f["linux"]
    assert {"cgroup", "ipc", "mount", "network", "pid", "user", "uts", "time"} <= \
        set(lx["namespaces"]), lx["namespaces"]
    assert {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_KILL"} <= set(lx["capabilities"])
    sc = lx["seccomp"]
    assert sc["enabled"] is True
    assert {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"} <= set(sc["actions"])
    # hull refuses SCMP_ACT_NOTIFY, so it must not advertise it.
    assert "SCMP_ACT_NOTIFY" not in sc["actions"]
    assert "SCMP_CMP_EQ" in sc["operators"] and "SCMP_CMP_MASKED_EQ" in sc["operators"]
    assert "SCMP_ARCH_X86_64" in sc["archs"]
    assert isinstance(lx.get("cgroup", {}).get("v1"), bool)
    assert isinstance(lx.get("cgroup", {}).get("v2"), bool)
    # what hull implements is advertised (runtime-spec features.md): linux.netDevices, and
    # AppArmor/SELinux labels (applied where the host runs that LSM)
    assert lx.get("netDevices") == {"enabled": True}, lx.get("netDevices")
    assert lx["apparmor"]["enabled"] is True and lx["selinux"]["enabled"] is True
    assert "tmpcopyup" in f["mountOptions"]


def test_spec_default(h):
    d = h.tmp / "spec-default"
    d.mkdir()
    h.ok("spec", root=False, cwd=d)
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["ociVersion"].startswith("1.")
    assert cfg["root"] == {"path": "rootfs", "readonly": True}
    p = cfg["process"]
    assert p["args"] == ["sh"] and p["cwd"] == "/"
    assert p["user"] == {"uid": 0, "gid": 0}
    assert any(e.startswith("PATH=") for e in p["env"])
    assert p["noNewPrivileges"] is True
    for s in ("bounding", "effective", "permitted"):
        assert set(p["capabilities"][s]) == {"CAP_AUDIT_WRITE", "CAP_KILL",
                                             "CAP_NET_BIND_SERVICE"}, p["capabilities"]
    assert {"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024} in p["rlimits"]
    dests = [m["destination"] for m in cfg["mounts"]]
    for d_ in ("/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"):
        assert d_ in dests, dests
    nss = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= nss and "user" not in nss
    assert "/proc/kcore" in cfg["linux"]["maskedPaths"]
    assert "/proc/sys" in cfg["linux"]["readonlyPaths"]


def test_spec_bundle_flag_and_usable(h):
    """A spec-made config runs as is once there is a rootfs."""
    b = h.bundle(write=False)
    r = h.run("spec", "-b", b, root=False)
    assert r.rc == 0, r
    cfg = json.loads((b.path / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/probe", "exit", "4"]
    (b.path / "config.json").write_text(json.dumps(cfg))
    r = h.run_container(b)
    assert r.rc == 4, r


def test_spec_rootless(h):
    d = h.tmp / "spec-rootless"
    d.mkdir()
    h.ok("spec", "--rootless", "--bundle", d, root=False)
    cfg = json.loads((d / "config.json").read_text())
    nss = {n["type"] for n in cfg["linux"]["namespaces"]}
    assert "user" in nss, nss
    uid, gid = os.getuid(), os.getgid()
    assert cfg["linux"]["uidMappings"] == [{"containerID": 0, "hostID": uid, "size": 1}]
    assert cfg["linux"]["gidMappings"] == [{"containerID": 0, "hostID": gid, "size": 1}]


def test_spec_refuses_overwrite(h):
    d = h.tmp / "spec-exists"
    d.mkdir()
    (d / "config.json").write_text("{\"mine\": true}")
    r = h.run("spec", "-b", d, root=False)
    assert_error(r, "config.json")
    assert (d / "config.json").read_text() == "{\"mine\": true}"


def test_spec_missing_dir(h):
    r = h.run("spec", "-b", h.tmp / "nope", root=False)
    assert_error(r)
    assert not (h.tmp / "nope").exists()


def test_busybox_example(h):
    """examples/busybox: make-rootfs.sh builds a rootfs and the committed config runs."""
    example = REPO / "examples" / "busybox"
    b = h.tmp / "example"
    b.mkdir()
    shutil.copy(example / "config.json", b / "config.json")
    mk = subprocess.run([str(example / "make-rootfs.sh"), str(b / "rootfs")],
                        capture_output=True, text=True)
    assert mk.returncode == 0, mk.stderr
    again = subprocess.run([str(example / "make-rootfs.sh"), str(b / "rootfs")],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr  # idempotent
    assert (b / "rootfs" / "bin" / "sh").is_symlink()
    r = h.run("run", "-b", b, h.new_id())
    assert r.rc == 0, r
    assert r.out.startswith("Hello from hull: hull-example, pid 1, uid 0\n"), r
    assert "Linux hull-example" in r.out, r


def test_spec_ambient_caps_like_runc(h):
    """runc 1.1.5's template lists the same three capabilities in ambient too."""
    d = h.tmp / "spec-ambient"
    d.mkdir()
    h.ok("spec", root=False, cwd=d)
    caps = json.loads((d / "config.json").read_text())["process"]["capabilities"]
    assert caps.get("ambient") == ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"], caps
    runc = shutil.which("runc")
    version = subprocess.run([runc, "--version"], capture_output=True, text=True).stdout \
        if runc else ""
    if version.startswith("runc version 1.1."):  # else the fixed list above stands alone
        rd = h.tmp / "runc-spec"
        rd.mkdir()
        subprocess.run([runc, "spec"], cwd=rd, check=True)
        runc_caps = json.loads((rd / "config.json").read_text())["process"]["capabilities"]
        assert caps == runc_caps


def test_state_oci_version_is_the_runtimes(h):
    """state's ociVersion is the runtime-spec version the state follows (hull's), the one
    `features` and `--version` name, not the config's."""
    b = h.bundle(["/probe", "sleep", "60"])
    b.config["ociVersion"] = "1.0.2-dev"
    b.write()
    cid = h.create(b).cid
    spec = re.search(r"^spec: (\S+)$", h.ok("--version", root=False).out, re.M).group(1)
    assert h.ok("features", root=False).json()["ociVersionMax"] == spec
    assert h.state(cid)["ociVersion"] == spec
    h.ok("delete", "--force", cid)


def debug_entries(log):
    """The JSON log's entries; every line must be one."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def init_cgroup_paths(pid):
    """The init's cgroup paths other than the root, from /proc/PID/cgroup."""
    lines = read_text(f"/proc/{pid}/cgroup", "").splitlines()
    return {line.split(":", 2)[2] for line in lines if line.count(":") >= 2} - {"/"}


def test_debug_log_json_lifecycle(h):
    """--debug --log-format json: what each lifecycle command did, as runc logs it for
    podman and containerd (one JSON object a line, level "debug")."""
    log = h.tmp / "debug.json"
    glob = ("--debug", "--log", log, "--log-format", "json")
    b = h.bundle(["/probe", "sleep", "60"])
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/true", "args": ["true", "secret"]}]}
    b.write()
    cid = h.new_id()
    h.ok(*glob, "create", "-b", b, cid)
    pid = h.pid(cid)
    cgroups = init_cgroup_paths(pid)
    h.ok(*glob, "start", cid)
    h.ok(*glob, "exec", cid, "/probe", "exit", "secret2")
    h.ok(*glob, "kill", cid, "KILL")
    h.wait_status(cid, "stopped")
    h.ok(*glob, "delete", cid)
    entries = debug_entries(log)
    debug = [e["msg"] for e in entries if e.get("level") == "debug"]
    assert debug, entries
    assert all("time" in e for e in entries), entries
    text = "\n".join(debug)
    assert cid in text and str(b) in text, text
    assert any(re.search(rf"\bpid {pid}\b", m) for m in debug), text
    assert cgroups and any(c in m for m in debug if "cgroup" in m for c in cgroups), \
        (cgroups, text)
    assert any("createRuntime" in m and "/bin/true" in m for m in debug), text
    assert "secret" not in text  # hook and exec args beyond args[0] stay out
    assert any(m.startswith("exec") and "/probe" in m and re.search(r"\bpid \d+", m)
               for m in debug), text
    assert any("start" in m and str(pid) in m for m in debug), text
    assert any("kill" in m and ("SIGKILL" in m or " 9" in m) for m in debug), text
    assert any(m.startswith("delete") for m in debug), text


def test_debug_log_run_and_quiet_without_debug(h):
    """`run` logs its steps too; without --debug the log holds no debug line."""
    log, quiet = h.tmp / "run.json", h.tmp / "quiet.json"
    b = h.bundle(["/probe", "exit", "0"])
    cid = h.new_id()
    h.ok("--debug", "--log", log, "--log-format", "json", "run", "-b", b, cid)
    debug = [e["msg"] for e in debug_entries(log) if e.get("level") == "debug"]
    assert any(cid in m for m in debug), debug
    assert any(re.search(r"\bpid \d+\b", m) for m in debug), debug
    assert any("namespace" in m for m in debug), debug
    assert any(m.startswith("delete") for m in debug), debug
    h.ok("--log", quiet, "--log-format", "json", "run", "-b", b, h.new_id())
    assert not [e for e in debug_entries(quiet) if e.get("level") == "debug"]


def test_debug_log_text(h):
    """The text log says the same, one "TIME debug: MSG" line each."""
    log = h.tmp / "debug.txt"
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    h.ok("--debug", "--log", log, "create", "-b", b, cid)
    pid = h.pid(cid)
    h.ok("--debug", "--log", log, "delete", "--force", cid)
    lines = log.read_text().splitlines()
    debug = [l for l in lines if " debug: " in l]
    assert debug and not any(l.startswith("{") for l in lines), lines
    assert any(cid in l for l in debug), lines
    assert any(re.search(rf"\bpid {pid}\b", l) for l in debug), lines
    assert any("debug: delete" in l for l in debug), lines
