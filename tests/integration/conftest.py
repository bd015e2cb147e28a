"""The harness for hull's integration tests.

Every test gets `h`, a Harness with a private --root, unique container ids, a bundle
factory and a `run` helper; after the test a leak check fails the test when anything
of its containers is left behind (state, mounts, processes, cgroups), after cleaning it
up so one broken test does not poison the next.

Run:  /usr/bin/python3 -m pytest tests/integration -q
Env:  HULL_BIN (default build/hull), HULL_PROBE (default build/tests/hull-probe),
      HULL_BUSYBOX (default /bin/busybox, Debian's busybox-static).
"""

import copy
import ctypes
import errno
import json
import os
import random
import re
import shutil
import signal
import socket
import string
import subprocess
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HULL_BIN = Path(os.environ.get("HULL_BIN") or REPO / "build" / "hull")
PROBE_BIN = Path(os.environ.get("HULL_PROBE") or REPO / "build" / "tests" / "hull-probe")
BUSYBOX = Path(os.environ.get("HULL_BUSYBOX") or "/bin/busybox")
CGROUP_FS = Path("/sys/fs/cgroup")

DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
DEFAULT_ENV = [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "TERM=xterm",
    "HOME=/root",
]
# OCI namespace type -> /proc/PID/ns name
NS_FILES = {
    "pid": "pid",
    "network": "net",
    "ipc": "ipc",
    "uts": "uts",
    "mount": "mnt",
    "cgroup": "cgroup",
    "user": "user",
    "time": "time",
}
CAP_BITS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
    "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
    "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
    "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
    "CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
    "CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
    "CAP_CHECKPOINT_RESTORE": 40,
}


def cap_mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_BITS[n]
    return m


# ---------------------------------------------------------------------------
# Configs


def default_config(args=("/probe", "report")):
    """A runc-like config running /probe report; tests tweak the dict they get.
    Unlike runc's default the root is writable (tests that need read-only set it)."""
    caps = list(DEFAULT_CAPS)
    return {
        "ociVersion": "1.2.0",
        "process": {
            "terminal": False,
            "user": {"uid": 0, "gid": 0},
            "args": list(args),
            "env": list(DEFAULT_ENV),
            "cwd": "/",
            "capabilities": {"bounding": caps[:], "effective": caps[:], "permitted": caps[:]},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": True,
        },
        "root": {"path": "rootfs", "readonly": False},
        "hostname": "hull-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620",
                         "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in
                           ("pid", "network", "ipc", "uts", "mount", "cgroup")],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
            ],
        },
    }


def set_namespace(cfg, ns_type, path=None, present=True):
    """Add (optionally joining `path`) or remove a namespace in cfg."""
    nss = [n for n in cfg["linux"]["namespaces"] if n["type"] != ns_type]
    if present:
        entry = {"type": ns_type}
        if path is not None:
            entry["path"] = str(path)
        nss.append(entry)
    cfg["linux"]["namespaces"] = nss


def drop_mount(cfg, destination):
    cfg["mounts"] = [m for m in cfg["mounts"] if m["destination"] != destination]


class Bundle:
    def __init__(self, path, config):
        self.path = Path(path)
        self.config = config

    @property
    def rootfs(self):
        return self.path / self.config["root"]["path"]

    @property
    def process(self):
        return self.config["process"]

    def write(self):
        (self.path / "config.json").write_text(json.dumps(self.config, indent=2))
        return self

    def __str__(self):
        return str(self.path)


# ---------------------------------------------------------------------------
# Running things


class Result:
    """What a command did: unpacks as (rc, stdout, stderr)."""

    def __init__(self, argv, rc, out, err, out_path=None, elapsed=0.0):
        self.argv, self.rc, self.out, self.err = argv, rc, out, err
        self.out_path, self.elapsed = out_path, elapsed

    def __iter__(self):
        return iter((self.rc, self.out, self.err))

    def json(self):
        return json.loads(self.out)

    def json_lines(self):
        return [json.loads(l) for l in self.out.splitlines() if l.strip().startswith("{")]

    def __repr__(self):
        return (f"$ {' '.join(map(str, self.argv))}\n-> exit {self.rc}\n"
                f"stdout: {self.out[-3000:]!r}\nstderr: {self.err[-3000:]!r}")


def read_text(path, default=None):
    try:
        return Path(path).read_text()
    except OSError:
        return default


def pid_alive(pid):
    """True for a live process; a zombie counts as dead."""
    st = read_text(f"/proc/{pid}/stat")
    if st is None:
        return False
    return st[st.rindex(")") + 2] not in "ZX"


def wait_nft_closers(timeout=5.0):
    """hull leaves its nftables sockets to a child named hull-nft-close, which closes them
    (waiting out an RCU grace period, some ms) after hull exits; it is not a leak unless it
    stays."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(read_text(f"/proc/{d}/comm", "").strip() == "hull-nft-close" and pid_alive(d)
                   for d in os.listdir("/proc") if d.isdigit()):
            return
        time.sleep(0.01)


def proc_status(pid):
    out = {}
    for line in (read_text(f"/proc/{pid}/status") or "").splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def wait_for(pred, timeout=10.0, what="condition", interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# We are a child subreaper (see pytest_configure), so orphaned container processes
# become our children and must be reaped, as containerd-shim or systemd would: a zombie
# left in a pid namespace keeps that namespace's init from ever finishing its exit.
# subprocess reaps its own children; those are never touched behind its back.
_SPAWNED = set()
_SPAWN_LOCK = threading.Lock()
_popen_init = subprocess.Popen.__init__


def _tracking_popen_init(self, *args, **kwargs):
    with _SPAWN_LOCK:
        _popen_init(self, *args, **kwargs)
        _SPAWNED.add(self.pid)


def reap_children():
    """Collect exited orphans (not subprocess's children)."""
    me = os.getpid()
    with _SPAWN_LOCK:
        zombies = set()
        for d in os.listdir("/proc"):
            st = read_text(f"/proc/{d}/stat") if d.isdigit() else None
            if st:
                fields = st[st.rindex(")") + 2:].split()
                if fields[0] == "Z" and int(fields[1]) == me:
                    zombies.add(int(d))
        for pid in zombies - _SPAWNED:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _reaper_loop():
    while True:
        reap_children()
        time.sleep(0.1)


def cgroup_mounts():
    """(mount point, fstype, super options) of every cgroup hierarchy on the host."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype, _, super_opts = right.split(" ")[:3]
        if fstype in ("cgroup", "cgroup2"):
            out.append((left.split(" ")[4], fstype, super_opts))
    return out


def cgroup_dir_for(line):
    """The host directory of one /proc/PID/cgroup line ("N:controllers:/path")."""
    _, ctrls, path = line.split(":", 2)
    for mnt, fstype, opts in cgroup_mounts():
        if not ctrls and fstype == "cgroup2":
            return Path(mnt + path)
        if ctrls and fstype == "cgroup" and set(ctrls.split(",")) <= set(opts.split(",")):
            return Path(mnt + path)
    return None


def image_store_leaks(store):
    """--root/images (run --image) may keep layers and records; a container directory,
    a temporary directory or a half-written record left in it is a leak."""
    leaks = [("image container", p) for p in sorted((store / "containers").glob("*"))]
    for sub in ("layers", "refs", "tmp"):
        for p in sorted((store / sub).glob("*")):
            if sub == "tmp" or ".tmp" in p.name:
                leaks.append(("image store temp", p))
    return leaks


class ConsoleSocket:
    """A --console-socket server: receives the pty master over SCM_RIGHTS and keeps
    reading the container's output from it until the container's side closes."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.master = None
        self.output = bytearray()
        self.got_fd = threading.Event()
        self.done = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            conn, _ = self.sock.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
            if not fds:
                raise RuntimeError("no fd received on the console socket")
            self.master = fds[0]
            for extra in fds[1:]:
                os.close(extra)
            self.got_fd.set()
            while True:
                try:
                    data = os.read(self.master, 65536)
                except OSError as e:
                    if e.errno == errno.EIO:  # every slave fd closed
                        break
                    raise
                if not data:
                    break
                self.output += data
        except Exception as e:  # reported by wait()
            self.error = e
        finally:
            self.got_fd.set()
            self.done.set()

    def wait(self, timeout=20):
        if not self.done.wait(timeout):
            pytest.fail(f"console: no EOF from the pty within {timeout}s; "
                        f"got {bytes(self.output)!r}")
        if self.error:
            raise self.error
        return self.output.decode(errors="replace").replace("\r\n", "\n")

    def close(self):
        self.sock.close()
        if self.master is not None:
            try:
                os.close(self.master)
            except OSError:
                pass


# ---------------------------------------------------------------------------
# The per-test harness


class Harness:
    def __init__(self, hull, probe, template, tmp, name):
        self.hull_bin, self.probe_bin, self.template = hull, probe, template
        self.tmp = Path(tmp)
        self.root = self.tmp / "root"
        self.root.mkdir(mode=0o700)
        self.logs = self.tmp / "logs"
        self.logs.mkdir()
        self.name = re.sub(r"[^a-z0-9]+", "-", name.lower().replace("test_", "", 1))[:22]
        self.name = self.name.strip("-")
        self.ids = []
        self.cgroup_names = []  # extra cgroup directory names to look for (cgroupsPath)
        self.host_paths = []  # host paths that must not exist after the test
        self._n = 0
        self._bundles = 0

    # -- ids and bundles
    def new_id(self, tag=""):
        rnd = "".join(random.choices(string.ascii_lowercase + string.digits, k=6))
        cid = f"t-{self.name}-{tag + '-' if tag else ''}{rnd}"
        self.ids.append(cid)
        return cid

    def bundle(self, args=None, config=None, name=None, write=True):
        """A fresh bundle: its own copy of the rootfs template and a default config.
        Change b.config and call b.write() again before using it."""
        self._bundles += 1
        path = self.tmp / (name or f"bundle{self._bundles}")
        path.mkdir()
        cfg = copy.deepcopy(config) if config is not None else default_config()
        if args is not None:
            cfg["process"]["args"] = list(args)
        b = Bundle(path, cfg)
        shutil.copytree(self.template, path / "rootfs", symlinks=True)
        if write:
            b.write()
        return b

    # -- running hull
    def cmd(self, *args, root=True):
        argv = [str(self.hull_bin)]
        if root:
            argv += ["--root", str(self.root)]
        return argv + [str(a) for a in args]

    def _files(self):
        self._n += 1
        return self.logs / f"{self._n}.out", self.logs / f"{self._n}.err"

    def run(self, *args, timeout=30, root=True, argv=None, stdin=None, env=None, cwd=None,
            out_path=None):
        """Run hull (or argv) to completion. Output goes through files, not pipes, so a
        detached container holding stdout open cannot hang us."""
        argv = argv or self.cmd(*args, root=root)
        op, ep = self._files()
        op = Path(out_path) if out_path else op
        t0 = time.monotonic()
        with open(op, "wb") as o, open(ep, "wb") as e:
            p = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                 stdout=o, stderr=e, env=env, cwd=cwd or self.tmp)
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            pytest.fail(f"timed out after {timeout}s: {' '.join(map(str, argv))}\n"
                        f"stderr: {read_text(ep)}")
        return Result(argv, rc, read_text(op, ""), read_text(ep, ""), op,
                      time.monotonic() - t0)

    def popen(self, *args, root=True, argv=None):
        """Start hull in the background; returns (Popen, stdout path, stderr path)."""
        argv = argv or self.cmd(*args, root=root)
        op, ep = self._files()
        with open(op, "wb") as o, open(ep, "wb") as e:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                 cwd=self.tmp)
        return p, op, ep

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.rc == 0, r
        return r

    # -- lifecycle shortcuts
    def create(self, bundle, cid=None, extra=()):
        cid = cid or self.new_id()
        r = self.ok("create", *extra, "-b", bundle, cid)
        r.cid = cid
        return r

    def state(self, cid):
        r = self.ok("state", cid)
        return r.json()

    def pid(self, cid):
        return self.state(cid)["pid"]

    def wait_status(self, cid, status, timeout=10):
        last = {}

        def check():
            r = self.run("state", cid, timeout=10)
            if r.rc == 0:
                last["s"] = r.json()["status"]
            return r.rc == 0 and last["s"] == status

        wait_for(check, timeout, f"{cid} to be {status} (last: {last.get('s')})", 0.05)

    def run_container(self, bundle, extra=(), timeout=30):
        """hull run in the foreground; returns the Result."""
        cid = self.new_id()
        r = self.run("run", *extra, "-b", bundle, cid, timeout=timeout)
        r.cid = cid
        return r

    def report(self, bundle, extra=()):
        """Run /probe report (or whatever the bundle runs that prints it) and parse it."""
        r = self.run_container(bundle, extra)
        assert r.rc == 0, r
        lines = r.json_lines()
        assert lines, r
        return lines[-1]

    def make_traversable(self):
        """Let a user namespace's root (an unprivileged host uid) reach the bundle:
        pytest makes its temporary directories 0700."""
        p = self.tmp
        while str(p) not in ("/", "/tmp"):
            os.chmod(p, os.stat(p).st_mode | 0o011)
            p = p.parent

    def wait_json(self, path, n=1, timeout=10):
        """Wait until the file holds n complete JSON lines (a detached container's
        stdout); returns them."""

        def lines():
            objs = []
            for line in read_text(path, "").splitlines():
                if line.strip().startswith("{"):
                    try:
                        objs.append(json.loads(line))
                    except ValueError:
                        return None  # still being written
            return objs if len(objs) >= n else None

        return wait_for(lines, timeout, f"{n} JSON line(s) in {path}")

    # -- leak check
    def find_leaks(self):
        reap_children()
        wait_nft_closers()
        tmp = str(self.tmp)
        ids = list(self.ids)
        leaks = []
        for e in self.root.iterdir() if self.root.exists() else ():
            if e.name == "images" and e.is_dir():
                leaks += image_store_leaks(e)
            elif e.is_dir() or any(i in e.name for i in ids):
                leaks.append(("state", e))
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split(" ")
            if tmp in line or any(i in line for i in ids):
                leaks.append(("mount", fields[4].encode().decode("unicode_escape")))
        ours = {os.getpid(), os.getppid()}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit() or int(d.name) in ours or not pid_alive(d.name):
                continue
            why = None
            try:
                cmdline = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if tmp in cmdline or any(i in cmdline for i in ids):
                    why = cmdline
                cg = read_text(d / "cgroup", "")
                if any(f"/{i}" in cg for i in ids + self.cgroup_names):
                    why = why or f"cgroup {cg.splitlines()[-1] if cg else ''}"
                for link in ("cwd", "root"):
                    try:
                        if os.readlink(d / link).startswith(tmp):
                            why = why or f"{link} in the test dir: {cmdline}"
                    except OSError:
                        pass
            except OSError:
                continue
            if why:
                leaks.append(("process", int(d.name), why.strip()))
        names = set(ids) | set(self.cgroup_names)
        for mnt, _, _ in cgroup_mounts():
            for dirpath, dirnames, _ in os.walk(mnt):
                for dn in dirnames:
                    if dn in names:
                        leaks.append(("cgroup", os.path.join(dirpath, dn)))
        for p in self.host_paths:
            if os.path.lexists(p):
                leaks.append(("host path", p))
        return leaks

    def force_cleanup(self, leaks):
        for cid in self.ids:
            self.run("delete", "--force", cid, timeout=20)
        for leak in leaks:
            if leak[0] == "process":
                try:
                    os.kill(leak[1], signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.05)
        reap_children()
        mounts = sorted({l[1] for l in leaks if l[0] == "mount"}, key=len, reverse=True)
        for m in mounts:
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
        cgs = sorted({l[1] for l in leaks if l[0] == "cgroup"}, key=len, reverse=True)
        for cg in cgs:
            for dirpath, dirnames, _ in sorted(os.walk(cg), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass
        for p in self.host_paths:
            if os.path.lexists(p):
                subprocess.run(["umount", "-l", p], stderr=subprocess.DEVNULL)
                try:
                    os.rmdir(p) if os.path.isdir(p) else os.unlink(p)
                except OSError:
                    pass
        for e in self.root.iterdir() if self.root.exists() else ():
            shutil.rmtree(e, ignore_errors=True) if e.is_dir() else e.unlink()


# ---------------------------------------------------------------------------
# Fixtures


def pytest_configure(config):
    # Orphaned container processes come back to us instead of to a PID 1 that may not
    # reap (a VM's init often does not); containerd-shim does the same.
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
            return
    except OSError:
        return
    subprocess.Popen.__init__ = _tracking_popen_init
    threading.Thread(target=_reaper_loop, name="reaper", daemon=True).start()


def pytest_report_header(config):
    return [f"hull: {HULL_BIN} ({'found' if HULL_BIN.exists() else 'MISSING'})",
            f"probe: {PROBE_BIN} ({'found' if PROBE_BIN.exists() else 'MISSING'})"]


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def hull():
    if os.geteuid() != 0:
        pytest.skip("hull integration tests need root (namespaces, mounts, cgroups)")
    if not HULL_BIN.is_file():
        pytest.skip(f"hull binary not found at {HULL_BIN}: build it with "
                    "`meson setup build && ninja -C build` or set HULL_BIN")
    return HULL_BIN


@pytest.fixture(scope="session")
def probe():
    if not PROBE_BIN.is_file():
        pytest.skip(f"probe not found at {PROBE_BIN}: `ninja -C build` builds "
                    "tests/hull-probe, or set HULL_PROBE")
    return PROBE_BIN


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory, probe):
    """busybox + applet links + /probe + /etc for root, tester (1000) and nobody, once."""
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not found: install Debian's busybox-static")
    root = tmp_path_factory.mktemp("template") / "rootfs"
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/tester", "mnt",
              "run", "var"):
        (root / d).mkdir(parents=True)
    os.chmod(root / "tmp", 0o1777)
    os.chmod(root / "root", 0o700)
    os.chown(root / "home/tester", 1000, 1000)
    shutil.copy2(BUSYBOX, root / "bin/busybox")
    applets = subprocess.run([str(BUSYBOX), "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", root / "bin" / a)
    shutil.copy2(probe, root / "probe")
    os.chmod(root / "probe", 0o755)
    (root / "etc/passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        "tester:x:1000:1000:tester:/home/tester:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (root / "etc/group").write_text(
        "root:x:0:\ntty:x:5:\ntester:x:1000:\nhullextra1:x:1001:tester\n"
        "hullextra2:x:1002:tester\nnogroup:x:65534:\n")
    (root / "etc/hostname").write_text("template\n")
    return root


@pytest.fixture(autouse=True)
def h(request, hull, probe, rootfs_template, tmp_path):
    harness = Harness(hull, probe, rootfs_template, tmp_path, request.node.name)
    yield harness
    call = getattr(request.node, "rep_call", None)
    if call is not None and call.failed:
        # The test stopped half-way: tidy up politely first; what survives that is a
        # leak of hull's own.
        for cid in harness.ids:
            harness.run("delete", "--force", cid, timeout=20)
        time.sleep(0.05)
    leaks = harness.find_leaks()
    if leaks:
        harness.force_cleanup(leaks)
        pytest.fail("leak check: left behind after the test:\n  " +
                    "\n  ".join(map(str, leaks)), pytrace=False)


# ---------------------------------------------------------------------------
# Assertions shared by the tests


def assert_error(r, *needles):
    """hull failed the way the contract says: exit 1, one line `hull: ...` on stderr."""
    assert r.rc == 1, r
    lines = [l for l in r.err.splitlines() if l.strip()]
    assert len(lines) == 1, f"want exactly one stderr line\n{r}"
    assert lines[0].startswith("hull: "), r
    for n in needles:
        assert n in lines[0], f"error does not mention {n!r}\n{r}"
    return lines[0]


def host_ns(name):
    return os.readlink(f"/proc/self/ns/{name}")


# Thin aliases for tests that prefer them to the harness's methods.
@pytest.fixture
def bundle(h):
    """bundle(args=None, config=None) -> a fresh Bundle (see Harness.bundle)."""
    return h.bundle


@pytest.fixture
def run(h):
    """run(*hull_args, timeout=30, ...) -> Result unpacking as (rc, stdout, stderr)."""
    return h.run


@pytest.fixture
def root(h):
    """This test's private --root directory."""
    return h.root
