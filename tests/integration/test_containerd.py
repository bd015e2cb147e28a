"""containerd (its runc v2 shim, containerd-shim-runc-v2) driving hull as its "runc",
from Debian 12's packages, through `ctr`.

Each test starts a containerd of its own: its own config (root, state, gRPC and ttrpc
sockets in a private directory, the CRI plugin disabled), its own namespace, and a TMPDIR
of its own (the shim writes exec process files and console sockets there). Containers run
from a plain directory (`ctr run --rootfs`, no image, no snapshotter) with the shim told
BinaryName = hull and Root = a private hull --root (ctr's --runc-binary/--runc-root set the
runc v2 runtime options). At teardown the tasks and containers are deleted, the shims must
exit, the daemon is stopped, and the test fails if hull left anything: state under its
--root, a container cgroup, a process, a mount; nothing of containerd's is left either.

What the shim sends to hull is in CLIENTS.md beside this file. Set HULL_ARGV_LOG=FILE to
have every call logged.

Run:  /usr/bin/python3 -m pytest tests/integration/test_containerd.py -q
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import pid_alive, read_text, wait_for
from test_podman import (HOG, HostPaths, cgroup_children, freezer_state, memory_limit_of,
                         mounts_under, oom_kills, processes_mentioning, rand_tag, remove_top_cgroup,
                         rooted_in, run_in_pty, runtime_binary, wait_gone)

CONTAINERD = shutil.which("containerd") or "/usr/bin/containerd"
CTR = shutil.which("ctr") or "/usr/bin/ctr"
SHIM = shutil.which("containerd-shim-runc-v2") or "/usr/bin/containerd-shim-runc-v2"
# The shim's sockets go to /run/containerd/s whatever the config says.
SHIM_SOCKETS = Path("/run/containerd/s")


class Containerd:
    def __init__(self, h, rootfs_template):
        self.h = h
        self.template = rootfs_template
        # short: the shim's console sockets live in TMPDIR (108-byte socket addresses)
        self.dir = Path(tempfile.mkdtemp(prefix="hc-", dir="/tmp"))
        h.host_paths.append(str(self.dir))
        self.ns = "hull-ctr-" + rand_tag()
        h.cgroup_names.append(self.ns)
        self.host_paths = HostPaths(["/run/containerd"])
        self.sockets_before = self._sockets()
        d = self.dir
        for sub in ("root", "state", "tmp", "fifo", "runc", "opt"):
            (d / sub).mkdir()
        self.sock = d / "containerd.sock"
        self.runtime = runtime_binary(d)
        self.hull_root = d / "runc"
        (d / "config.toml").write_text(f"""\
version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{self.sock}"

[ttrpc]
  address = "{self.sock}.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
""")
        env = dict(os.environ, TMPDIR=str(d / "tmp"))
        self.log = d / "daemon.log"
        with open(self.log, "wb") as log:
            self.daemon = subprocess.Popen([CONTAINERD, "--config", str(d / "config.toml")],
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                           env=env, start_new_session=True)
        deadline = time.monotonic() + 30
        while self.run("version", timeout=10).rc != 0:
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail(f"containerd did not come up:\n{read_text(self.log, '')[-3000:]}")
            time.sleep(0.1)

    @staticmethod
    def _sockets():
        try:
            return set(os.listdir(SHIM_SOCKETS))
        except OSError:
            return set()

    # -- running ctr
    def argv(self, *args):
        return [CTR, "--address", str(self.sock), "--namespace", self.ns] + [str(a) for a in args]

    def run(self, *args, timeout=60, stdin=None):
        return self.h.run(argv=self.argv(*args), timeout=timeout, stdin=stdin)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.rc == 0, r
        return r

    def rootfs(self, cid):
        root = self.dir / f"rootfs-{cid}"
        shutil.copytree(self.template, root, symlinks=True)
        return root

    def run_args(self, cid, cmd, opts=(), detach=False, rm=True, tty=False):
        """ctr run's argv for a container from a fresh rootfs."""
        args = ["run"]
        args += ["-d"] if detach else (["--rm"] if rm else [])
        args += ["-t"] if tty else []
        args += ["--runc-binary", self.runtime, "--runc-root", self.hull_root,
                 "--fifo-dir", self.dir / "fifo", "--env", PATH_ENV, *opts,
                 "--rootfs", self.rootfs(cid), cid, *cmd]
        return args

    def run_fg(self, *cmd, opts=(), timeout=60):
        cid = "t-" + rand_tag()
        r = self.run(*self.run_args(cid, cmd, opts), timeout=timeout)
        r.cid = cid
        return r

    def run_detached(self, *cmd, opts=()):
        cid = "t-" + rand_tag()
        self.ok(*self.run_args(cid, cmd, opts, detach=True))
        self.wait_status(cid, "RUNNING")
        return cid

    def tasks(self):
        """{id: (pid, STATUS)} from ctr task ls."""
        out = {}
        for line in self.ok("task", "ls").out.splitlines()[1:]:
            f = line.split()
            if len(f) >= 3:
                out[f[0]] = (int(f[1]), f[2])
        return out

    def status(self, cid):
        return self.tasks().get(cid, (0, None))[1]

    def pid(self, cid):
        return self.tasks()[cid][0]

    def wait_status(self, cid, want, timeout=20):
        last = {}

        def check():
            last["s"] = self.status(cid)
            return last["s"] == want

        wait_for(check, timeout, f"{cid} to be {want} (last: {last.get('s')})", 0.1)

    def exec(self, cid, *cmd, opts=(), timeout=60):
        return self.run("task", "exec", "--exec-id", "e-" + rand_tag(), *opts, cid, *cmd,
                        timeout=timeout)

    def delete(self, cid):
        """Delete a stopped task and its container; returns ctr task rm's result."""
        r = self.run("task", "rm", cid)
        self.ok("container", "rm", cid)
        return r

    # -- teardown
    def close(self):
        problems = []
        if self.daemon.poll() is None:
            # kill, wait, delete: `task rm --force` is tested on its own
            for cid in self.run("task", "ls", "-q").out.split():
                self.run("task", "kill", "--all", "--signal", "SIGKILL", cid)
                deadline = time.monotonic() + 10
                while self.status(cid) not in ("STOPPED", None) and \
                        time.monotonic() < deadline:
                    time.sleep(0.1)
                r = self.run("task", "rm", cid)
                if r.rc != 0:
                    problems.append(f"ctr task rm {cid} failed: {r}")
            for cid in self.run("container", "ls", "-q").out.split():
                r = self.run("container", "rm", cid)
                if r.rc != 0:
                    problems.append(f"ctr container rm {cid} failed: {r}")
        for pid, cmd in wait_gone(f"-address {self.sock}", 15).items():
            problems.append(f"shim still running after its tasks were deleted: {pid} {cmd}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if self.daemon.poll() is None:
            self.daemon.terminate()
            try:
                self.daemon.wait(15)
            except subprocess.TimeoutExpired:
                problems.append("containerd ignored SIGTERM")
                self.daemon.kill()
                self.daemon.wait()
        left = processes_mentioning(str(self.dir))
        left.update(rooted_in(self.dir))
        for pid, cmd in left.items():
            problems.append(f"process left: {pid} {cmd}")
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for nsdir in self.hull_root.iterdir() if self.hull_root.exists() else ():
            for e in nsdir.iterdir():
                problems.append(f"hull state left: {e}")
                self.h.run("--root", nsdir, "delete", "--force", e.name, root=False)
        for d in cgroup_children(self.ns):
            problems.append(f"container cgroup left: {d}")
        remove_top_cgroup(self.ns)
        for m in sorted(mounts_under(self.dir), key=len, reverse=True):
            problems.append(f"mount left: {m}")
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
        for s in sorted(self._sockets() - self.sockets_before):
            problems.append(f"shim socket left: {SHIM_SOCKETS / s}")
            try:
                os.unlink(SHIM_SOCKETS / s)
            except OSError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
        self.host_paths.cleanup()
        return problems


PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="session")
def containerd_installed():
    for tool in (CONTAINERD, CTR, SHIM):
        if not os.access(tool, os.X_OK):
            pytest.skip(f"{tool} not installed: scripts/install-deps.sh test installs "
                        "containerd")
    return CONTAINERD


@pytest.fixture
def cd(h, rootfs_template, containerd_installed):
    c = Containerd(h, rootfs_template)
    yield c
    problems = c.close()
    if problems:
        pytest.fail("containerd test left behind:\n  " + "\n  ".join(problems),
                    pytrace=False)


def marker(path, timeout=10):
    """Wait for a file a container writes into a bind mount; returns its text."""
    return wait_for(lambda: read_text(path, "").strip(), timeout, f"{path} to be written")


def bind(host, dest, ro=False):
    return ["--mount", f"type=bind,src={host},dst={dest},options=rbind:{'ro' if ro else 'rw'}"]


# ---------------------------------------------------------------------------
# Foreground runs


def test_ctr_run_output_and_exit_status(cd):
    r = cd.run_fg("/bin/sh", "-c", "echo to-out; echo to-err >&2; exit 3")
    assert r.rc == 3, r
    assert r.out == "to-out\n", r
    assert "to-err" in r.err, r
    r = cd.run_fg("/bin/true")
    assert r.rc == 0 and r.out == "", r
    assert not (cd.hull_root / cd.ns / r.cid).exists()


def test_ctr_run_stdin(cd):
    # ctr closes the task's stdin on EOF only once the task exists (it sets its stdin
    # closer after NewTask, with runc too): write the input when the task runs.
    cid = "t-" + rand_tag()
    out, err = cd.dir / "stdin.out", cd.dir / "stdin.err"
    with open(out, "wb") as o, open(err, "wb") as e:
        p = subprocess.Popen(cd.argv(*cd.run_args(cid, ["/bin/sh", "-c",
                                                         "cat; echo end-of-input"])),
                             stdin=subprocess.PIPE, stdout=o, stderr=e)
    try:
        cd.wait_status(cid, "RUNNING")
        p.stdin.write(b"line one\nline two\n")
        p.stdin.close()
        rc = p.wait(30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 0, read_text(err)
    assert read_text(out) == "line one\nline two\nend-of-input\n", read_text(err)


# ctr sets the pty's size only after the process started (with runc too): wait for it
SIZED = ("n=0; while [ \"$(stty size 2>/dev/null)\" = '' -a $n -lt 50 ]; do "
         "sleep 0.1; n=$((n+1)); done; ")


def test_ctr_run_tty(cd):
    cid = "t-" + rand_tag()
    rc, out = run_in_pty(cd.argv(*cd.run_args(cid, ["/bin/sh", "-c",
                                                    SIZED + "tty; stty size; exit 6"],
                                              tty=True)))
    assert rc == 6, out
    lines = out.splitlines()
    assert "/dev/pts/0" in lines, out
    assert "33 101" in lines, out


def test_ctr_env_cwd_read_only_cap_drop_mounts(cd):
    rw = cd.dir / "vol-rw"
    ro = cd.dir / "vol-ro"
    rw.mkdir()
    ro.mkdir()
    (rw / "in").write_text("from-host\n")
    (ro / "in").write_text("read-only\n")
    r = cd.run_fg("/bin/sh", "-c",
                  'echo "FOO=$FOO"; pwd; '
                  "touch /newfile 2>/dev/null && echo root-writable || echo root-ro; "
                  "cat /data/in /ro/in; echo from-container > /data/out; "
                  "touch /ro/x 2>/dev/null && echo ro-writable || echo ro-denied; "
                  "grep ^CapBnd /proc/self/status",
                  opts=["--env", "FOO=bar baz", "--cwd", "/tmp", "--read-only",
                        "--cap-drop", "CAP_NET_RAW", *bind(rw, "/data"),
                        *bind(ro, "/ro", ro=True)])
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[:6] == ["FOO=bar baz", "/tmp", "root-ro", "from-host", "read-only",
                         "ro-denied"], r
    bnd = int(lines[6].split()[1], 16)
    assert not bnd & (1 << 13) and bnd & (1 << 0), r  # no CAP_NET_RAW, CAP_CHOWN kept
    assert (rw / "out").read_text() == "from-container\n"


def test_ctr_memory_limit_and_oom_kill(cd):
    r = cd.run_fg("/bin/sh", "-c", HOG, opts=["--memory-limit", str(32 << 20)], timeout=90)
    assert r.rc == 137, f"a 200 MB string fit in 32m\n{r}"
    # a child hogs while pid 1 stays to show its cgroup's limit and count (the kernel at
    # times kills pid 1 too, a moment after the hog: then the task just stops)
    out = cd.dir / "out"
    out.mkdir()
    cid = cd.run_detached("/bin/sh", "-c",
                          'sh -c "$0"; echo $? > /out/child-exit; exec sleep 1000', HOG,
                          opts=["--memory-limit", str(32 << 20), *bind(out, "/out")])
    pid = cd.pid(cid)
    assert memory_limit_of(pid) == str(32 << 20), "memory limit not applied"
    wait_for(lambda: read_text(out / "child-exit", "").strip() or
             cd.status(cid) == "STOPPED", 60, "the memory hog to end")
    if cd.status(cid) != "STOPPED":
        assert read_text(out / "child-exit").strip() == "137"
        assert oom_kills(pid) >= 1


# ---------------------------------------------------------------------------
# Detached tasks


def test_ctr_detached_task_and_exec(cd):
    cid = cd.run_detached("/bin/sleep", "1000")
    pid = cd.pid(cid)
    assert pid_alive(pid)
    # hull's state, under the root the shim was given, agrees
    st = cd.h.run("--root", cd.hull_root / cd.ns, "state", cid, root=False)
    assert st.rc == 0, st
    assert st.json()["status"] == "running" and st.json()["pid"] == pid, st
    r = cd.exec(cid, "/bin/sh", "-c", "echo exec-out; echo exec-err >&2")
    assert r.rc == 0, r
    assert r.out == "exec-out\n" and "exec-err" in r.err, r
    r = cd.exec(cid, "/bin/sh", "-c", "exit 7")
    assert r.rc == 7, r
    r = cd.exec(cid, "/bin/sh", "-c", "id -u; id -g; pwd", opts=["--user", "1000",
                                                                  "--cwd", "/tmp"])
    assert r.rc == 0, r
    assert r.out.splitlines() == ["1000", "1000", "/tmp"], r
    r = cd.exec(cid, "/bin/cat", "/proc/1/cmdline")
    assert r.rc == 0 and r.out.replace("\0", " ").strip() == "/bin/sleep 1000", r
    rc, out = run_in_pty(cd.argv("task", "exec", "--tty", "--exec-id", "e-tty", cid,
                                 "/bin/sh", "-c", SIZED + "tty; stty size; exit 4"))
    assert rc == 4, out
    assert any(l.startswith("/dev/pts/") for l in out.splitlines()), out
    assert "33 101" in out.splitlines(), out
    assert cd.status(cid) == "RUNNING"


def test_ctr_task_ps(cd):
    cid = cd.run_detached("/bin/sh", "-c", "sleep 1001 & exec sleep 1002")
    pid = cd.pid(cid)

    def listed():
        r = cd.ok("task", "ps", cid)
        return {int(l.split()[0]) for l in r.out.splitlines()[1:] if l.split()}

    pids = wait_for(lambda: len(listed()) == 2 and listed(), 10, "two processes in ps")
    assert pid in pids
    other = (pids - {pid}).pop()
    assert read_text(f"/proc/{other}/cmdline").replace("\0", " ").strip() == "sleep 1001"


def test_ctr_kill_all(cd):
    out = cd.dir / "out"
    out.mkdir()
    cid = cd.run_detached(
        "/bin/sh", "-c",
        'trap "echo 1 > /out/parent" USR1; '
        '(trap "echo 1 > /out/child" USR1; while :; do sleep 0.1; done) & '
        "echo 1 > /out/ready; while :; do sleep 0.1; done", opts=bind(out, "/out"))
    marker(out / "ready")
    time.sleep(0.2)  # the subshell sets its trap
    cd.ok("task", "kill", "--all", "--signal", "SIGUSR1", cid)
    marker(out / "parent")
    marker(out / "child")
    pid = cd.pid(cid)
    cd.ok("task", "kill", "--all", "--signal", "SIGKILL", cid)
    cd.wait_status(cid, "STOPPED")
    assert not pid_alive(pid)
    r = cd.delete(cid)
    assert "137" in r.err, r


def test_ctr_kill_signals(cd):
    out = cd.dir / "out"
    out.mkdir()
    cid = cd.run_detached(
        "/bin/sh", "-c",
        'trap "echo 1 > /out/hup" HUP; trap "echo 1 > /out/usr1" USR1; '
        'trap "echo 1 > /out/usr2" USR2; trap "exit 42" TERM; echo 1 > /out/ready; '
        "while :; do sleep 0.1; done", opts=bind(out, "/out"))
    marker(out / "ready")
    for sig, name in (("SIGHUP", "hup"), ("SIGUSR1", "usr1"), ("12", "usr2")):
        cd.ok("task", "kill", "--signal", sig, cid)
        marker(out / name)
    assert cd.status(cid) == "RUNNING"
    cd.ok("task", "kill", cid)  # SIGTERM
    cd.wait_status(cid, "STOPPED")
    r = cd.delete(cid)
    assert "exit code 42" in r.err, r


def test_ctr_pause_resume(cd):
    out = cd.dir / "out"
    out.mkdir()
    cid = cd.run_detached("/bin/sh", "-c",
                          "i=0; while :; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done",
                          opts=bind(out, "/out"))
    pid = cd.pid(cid)
    marker(out / "n")
    cd.ok("task", "pause", cid)
    assert cd.status(cid) == "PAUSED"
    assert freezer_state(pid) == "FROZEN"
    time.sleep(0.2)
    n1 = read_text(out / "n")
    time.sleep(0.5)
    assert read_text(out / "n") == n1, "the task ran while paused"
    cd.ok("task", "resume", cid)
    assert cd.status(cid) == "RUNNING"
    assert freezer_state(pid) == "THAWED"
    wait_for(lambda: read_text(out / "n") != n1, 10, "the counter to move again")


def test_ctr_kill_and_force_delete_of_stopped_task(cd):
    # The shim maps the runtime's kill error to "not found" only by its text: runc's
    # "container not running" (or "does not exist"); anything else is "unknown error
    # after kill" and `ctr task rm --force` of a stopped task fails.
    cid = cd.run_detached("/bin/sleep", "1000")
    cd.ok("task", "kill", "--signal", "SIGKILL", cid)
    cd.wait_status(cid, "STOPPED")
    r = cd.run("task", "kill", "--signal", "SIGKILL", cid)
    assert r.rc != 0, r
    assert "process already finished" in r.err and "unknown error" not in r.err, r
    r = cd.run("task", "rm", "--force", cid)
    assert r.rc == 0, r
    cd.ok("container", "rm", cid)


def test_ctr_delete_running_task(cd):
    cid = cd.run_detached("/bin/sh", "-c", "sleep 1001 & exec sleep 1002")
    pid = cd.pid(cid)
    cd.ok("task", "rm", "--force", cid)
    cd.ok("container", "rm", cid)
    wait_for(lambda: not pid_alive(pid), 10, "the task's process to go")
    assert not (cd.hull_root / cd.ns / cid).exists(), "hull's state survived"
    assert not [d for d in cgroup_children(cd.ns) if d.endswith("/" + cid)]
    assert cid not in cd.run("container", "ls", "-q").out.split()


def test_ctr_shim_cleanup_of_a_gone_id_fails_without_harm(cd):
    # After a task is deleted the shim's cleanup runs `delete --force` on the id again.
    # hull answers it with a clear one-line error (the issue asks for a failure without
    # harm; runc exits 0 there), which containerd only logs as a warning: the next task
    # must still run, and nothing of the first one may remain.
    cid = "t-" + rand_tag()
    cd.ok(*cd.run_args(cid, ["/bin/sleep", "1000"], detach=True))
    cd.ok("task", "kill", "--signal", "SIGKILL", cid)
    cd.wait_status(cid, "STOPPED")
    cd.delete(cid)
    time.sleep(0.5)
    log = read_text(cd.log, "")
    failed = [l for l in log.splitlines() if "failed to remove runc container" in l]
    assert all("does not exist" in l for l in failed), "\n".join(failed)
    r = cd.run_fg("/bin/true")
    assert r.rc == 0, r
