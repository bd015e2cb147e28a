#!/usr/bin/env python3
"""Boot a throwaway QEMU guest from an initramfs built here and collect its test lines.

The guest is Debian's kernel plus an initramfs holding busybox, tests/vm/guest/init as
/init, the case scripts, and whatever else the caller adds (hull with its shared
libraries, the probe, a bundle rootfs template). The init prints one line per case:

    HULLTEST <name> PASS|FAIL|SKIP <detail>

between HULLTEST-BEGIN and HULLTEST-END, then powers the guest off. QEMU runs with
-no-reboot, so a poweroff, a reboot, a triple fault or a kernel panic (panic=-1) all end
it; past the timeout it is killed by its pid. See tests/vm/README.md.

Library use (what tests/integration/test_vm_cgroup_v2.py does):

    img = Initramfs()
    add_guest_runner(img, ["tests/vm/cases/cgroup_v2.sh"])
    add_hull(img, "build/hull", probe="build/tests/hull-probe")
    res = boot(find_kernel(), img.write("/tmp/x.cpio"), timeout=240)
    for r in res.results: print(r.name, r.status, r.detail)

Command line: `vmrun.py run --case tests/vm/cases/cgroup_v2.sh` boots and prints the
results (exit 0 when nothing failed); `vmrun.py --help` for the options.
"""

import argparse
import ctypes
import glob
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
GUEST = HERE / "guest"
CACHE = Path(os.environ.get("HULL_VM_CACHE") or "/var/cache/hull-vm")
BUSYBOX = Path(os.environ.get("HULL_BUSYBOX") or "/bin/busybox")
QEMU = os.environ.get("HULL_VM_QEMU") or "qemu-system-x86_64"

# cgroup_no_v1=all: a pure cgroup v2 host whatever the kernel's defaults.
DEFAULT_CMDLINE = "console=ttyS0 quiet panic=-1 reboot=t cgroup_no_v1=all"
RESULT_RE = re.compile(r"^HULLTEST (\S+) (PASS|FAIL|SKIP)(?: (.*))?$")
ESCAPE_RE = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[A-Za-z])")  # SeaBIOS's terminal resets
BEGIN, END = "HULLTEST-BEGIN", "HULLTEST-END"

# ---------------------------------------------------------------------------
# The initramfs: a newc cpio archive written here (no cpio(1) needed)


class Initramfs:
    """Files, directories, symlinks and device nodes by their path in the guest, written
    as an uncompressed newc archive. Parents are made as needed; adding a path again
    replaces it. Everything is owned by root."""

    def __init__(self):
        self.entries = {}  # guest path without leading '/' -> (mode, data, rdev)
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "run",
                  "etc", "root"):
            self.mkdir(d)
        self.chmod("tmp", 0o1777)
        # Without /dev/console the kernel gives /init no stdio: it would print nothing.
        self.mknod("dev/console", stat.S_IFCHR | 0o600, 5, 1)
        self.mknod("dev/null", stat.S_IFCHR | 0o666, 1, 3)

    @staticmethod
    def _key(path):
        key = os.path.normpath("/" + str(path)).lstrip("/")
        if not key or key.startswith(".."):
            raise ValueError(f"bad guest path {path!r}")
        return key

    def _parents(self, key):
        parts = key.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in self.entries:
                self.entries[d] = (stat.S_IFDIR | 0o755, b"", (0, 0))
            elif not stat.S_ISDIR(self.entries[d][0]):
                raise ValueError(f"{d} is not a directory in the image")

    def _put(self, path, mode, data=b"", rdev=(0, 0)):
        key = self._key(path)
        self._parents(key)
        self.entries.pop(key, None)  # re-added last: after its parents
        self.entries[key] = (mode, data, rdev)
        return "/" + key

    def has(self, path):
        return self._key(path) in self.entries

    def mkdir(self, path, mode=0o755):
        key = self._key(path)
        if key in self.entries and stat.S_ISDIR(self.entries[key][0]):
            return "/" + key
        return self._put(path, stat.S_IFDIR | mode)

    def chmod(self, path, mode):
        key = self._key(path)
        m, data, rdev = self.entries[key]
        self.entries[key] = (stat.S_IFMT(m) | mode, data, rdev)

    def add_file(self, path, data=None, src=None, mode=None):
        """Bytes or text, or the content of the host file src (symlinks followed)."""
        if src is not None:
            data = Path(src).read_bytes()
            if mode is None:
                mode = stat.S_IMODE(os.stat(src).st_mode)
        if isinstance(data, str):
            data = data.encode()
        return self._put(path, stat.S_IFREG | (0o644 if mode is None else mode), data or b"")

    def symlink(self, path, target):
        return self._put(path, stat.S_IFLNK | 0o777, str(target).encode())

    def mknod(self, path, mode, major, minor):
        return self._put(path, mode, b"", (major, minor))

    def add_tree(self, src, dest):
        """A host directory tree as it is: files, symlinks, directories (modes kept)."""
        src = Path(src)
        self.mkdir(dest, stat.S_IMODE(src.stat().st_mode))
        for dirpath, dirnames, filenames in os.walk(src):
            rel = Path(dirpath).relative_to(src)
            for name in sorted(dirnames) + sorted(filenames):
                s, g = Path(dirpath) / name, Path(dest) / rel / name
                st = s.lstat()
                if stat.S_ISLNK(st.st_mode):
                    self.symlink(g, os.readlink(s))
                elif stat.S_ISDIR(st.st_mode):
                    self.mkdir(g, stat.S_IMODE(st.st_mode))
                elif stat.S_ISREG(st.st_mode):
                    self.add_file(g, src=s)
                elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    self.mknod(g, st.st_mode, os.major(st.st_rdev), os.minor(st.st_rdev))

    def add_elf(self, src, dest=None, mode=0o755):
        """An executable and, when it is dynamic, every library ldd lists plus the
        loader, each at the path the loader looks for it."""
        src = Path(src)
        dest = dest or f"/usr/bin/{src.name}"
        self.add_file(dest, src=src, mode=mode)
        for lib in shared_libs(src):
            if not self.has(lib):
                self.add_file(lib, src=lib, mode=0o755)
        return dest

    def add_busybox(self, busybox=BUSYBOX, root="/"):
        """busybox at <root>/bin/busybox and a symlink for each applet where busybox
        itself puts it (bin/sh, sbin/poweroff, usr/bin/head...)."""
        root = Path(root)
        self.add_file(root / "bin/busybox", src=busybox, mode=0o755)
        out = subprocess.run([str(busybox), "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
        for rel in out:
            if Path(rel).name != "busybox" and not self.has(root / rel):
                self.symlink(root / rel, "/bin/busybox")

    def write(self, path):
        """Write the archive to path (returned as a str)."""
        with open(path, "wb") as f:
            ino = 1000
            for key, (mode, data, rdev) in self.entries.items():
                ino += 1
                nlink = 2 if stat.S_ISDIR(mode) else 1
                f.write(_newc_header(key, ino, mode, nlink, len(data), rdev))
                f.write(data)
                f.write(b"\0" * (-len(data) % 4))
            f.write(_newc_header("TRAILER!!!", 0, 0, 1, 0, (0, 0)))
        return str(path)


def _newc_header(name, ino, mode, nlink, size, rdev):
    name_b = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1], len(name_b), 0)
    hdr = b"070701" + b"".join(b"%08X" % v for v in fields) + name_b
    return hdr + b"\0" * (-len(hdr) % 4)


def shared_libs(binary):
    """Host paths of the libraries and loader a dynamic executable needs ([] if static)."""
    r = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    if r.returncode != 0:  # "not a dynamic executable"
        return []
    libs = []
    for line in r.stdout.splitlines():
        line = line.strip()
        if "=>" in line:
            target = line.split("=>", 1)[1].strip().split(" (")[0].strip()
            if target == "not found":
                raise RuntimeError(f"{binary}: {line}")
            if target.startswith("/"):
                libs.append(target)
        elif line.startswith("/"):  # the loader
            libs.append(line.split(" (")[0])
    return libs


# ---------------------------------------------------------------------------
# What the hull guests hold


def add_guest_runner(img, cases, busybox=BUSYBOX, lib=GUEST / "hulltest.sh"):
    """busybox, /init (tests/vm/guest/init), /hulltest/lib.sh and the case scripts as
    /hulltest/cases/NN-<name>, run by /init in the order given."""
    img.add_busybox(busybox)
    img.add_file("/init", src=GUEST / "init", mode=0o755)
    img.add_file("/hulltest/lib.sh", src=lib, mode=0o644)
    img.mkdir("/hulltest/cases")
    for i, c in enumerate(cases):
        img.add_file(f"/hulltest/cases/{i:02d}-{Path(c).name}", src=c, mode=0o755)


def add_bundle_rootfs(img, dest="/hulltest/rootfs", busybox=BUSYBOX, probe=None):
    """A container rootfs template: busybox with applet links in /bin, /probe, /etc."""
    img.mkdir(dest)
    for d in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "run", "var", "mnt"):
        img.mkdir(f"{dest}/{d}")
    img.chmod(f"{dest}/tmp", 0o1777)
    img.chmod(f"{dest}/root", 0o700)
    img.add_file(f"{dest}/bin/busybox", src=busybox, mode=0o755)
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for a in applets:
        if a != "busybox":
            img.symlink(f"{dest}/bin/{a}", "busybox")
    if probe is not None:
        img.add_file(f"{dest}/probe", src=probe, mode=0o755)
    img.add_file(f"{dest}/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
                 "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    img.add_file(f"{dest}/etc/group", "root:x:0:\ntty:x:5:\nnogroup:x:65534:\n")
    return dest


def add_hull(img, hull, probe=None, busybox=BUSYBOX):
    """hull (with its libraries when dynamic) as /usr/bin/hull, the probe as
    /usr/bin/hull-probe, and the bundle rootfs template at /hulltest/rootfs."""
    img.add_elf(hull, "/usr/bin/hull")
    if probe is not None:
        img.add_elf(probe, "/usr/bin/hull-probe")
    add_bundle_rootfs(img, busybox=busybox, probe=probe)


# ---------------------------------------------------------------------------
# The kernel


def _version_key(path):
    return [int(x) if x.isdigit() else x for x in re.split(r"(\d+)", Path(path).name)]


def find_kernel():
    """$HULL_VM_KERNEL, else the newest Debian vmlinuz-*-amd64 in /boot or in the cache
    that tests/vm/fetch-kernel.sh fills; None when there is none. (The sandbox's own
    kernel is not a Debian -amd64 one and is never picked.)"""
    env = os.environ.get("HULL_VM_KERNEL")
    if env:
        return env if Path(env).is_file() else None
    found = glob.glob("/boot/vmlinuz-*-amd64") + glob.glob(str(CACHE / "boot/vmlinuz-*-amd64"))
    found = [k for k in found if os.access(k, os.R_OK)]
    return max(found, key=_version_key) if found else None


# The micro-VM's guest kernel (scripts/build-guest-kernel.sh) and what an L1 guest needs
# for a real /dev/kvm on QEMU's emulated SVM (tests/vm/fetch-kernel.sh fetches them).
GUEST_KERNEL = Path(os.environ.get("HULL_GUEST_KERNEL") or CACHE / "guest-kernel" / "vmlinux")
KVM_MODULES = ("irqbypass.ko", "ccp.ko", "kvm.ko", "kvm-amd.ko")


def kvm_modules(kernel):
    """Paths of KVM_MODULES for the L1 kernel's version, None for each one missing."""
    ver = Path(kernel).name.replace("vmlinuz-", "")
    found = {}
    for base in (CACHE / "lib/modules" / ver, Path("/lib/modules") / ver):
        for path in glob.glob(f"{base}/kernel/**/*.ko", recursive=True):
            found.setdefault(os.path.basename(path), path)
    return [found.get(m) for m in KVM_MODULES]


def modules_dir(kernel):
    """/lib/modules/<version> that goes with a kernel found by find_kernel (in the cache
    when fetch-kernel.sh extracted modules), or None."""
    ver = Path(kernel).name.removeprefix("vmlinuz-")
    for base in (CACHE / "lib/modules", Path("/lib/modules")):
        if (base / ver).is_dir():
            return base / ver
    return None


# ---------------------------------------------------------------------------
# Booting


@dataclass
class CaseResult:
    name: str
    status: str  # PASS, FAIL or SKIP
    detail: str = ""


@dataclass
class VMResult:
    argv: list
    output: str  # the serial console, \r\n made \n
    returncode: int  # QEMU's, or None when it had to be killed
    timed_out: bool
    elapsed: float
    begun: bool  # the guest runner started
    complete: bool  # it printed HULLTEST-END
    results: list = field(default_factory=list)

    def by_name(self):
        return {r.name: r for r in self.results}

    def problem(self):
        """Why the run as a whole is not to be trusted, or None."""
        if self.timed_out:
            return f"the guest did not finish within the timeout ({self.elapsed:.0f} s)"
        if not self.begun:
            return "the guest runner never started (kernel or /init trouble)"
        if not self.complete:
            return f"the guest stopped before {END} (QEMU exit {self.returncode})"
        return None

    def tail(self, n=60):
        return "\n".join(self.output.splitlines()[-n:])


def parse_results(output):
    out = []
    for line in output.splitlines():
        m = RESULT_RE.match(line.strip())
        if m:
            out.append(CaseResult(m.group(1), m.group(2), m.group(3) or ""))
    return out


def _die_with_parent():
    # QEMU goes with us if this process is killed before it can end QEMU itself.
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def qemu_argv(kernel, initrd, cmdline=DEFAULT_CMDLINE, append="", cpu="max", mem="1G", smp=1,
              accel="tcg", extra=()):
    full = " ".join(x for x in (cmdline, append) if x)
    return [QEMU, "-accel", accel, "-cpu", cpu, "-m", str(mem), "-smp", str(smp),
            "-nographic", "-no-reboot", "-kernel", str(kernel), "-initrd", str(initrd),
            "-append", full, *extra]


def boot(kernel, initrd, cmdline=DEFAULT_CMDLINE, append="", cpu="max", mem="1G", smp=1,
         accel="tcg", extra=(), timeout=240, log=None, echo=False, grace=20):
    """Boot, wait for the guest to end (or `timeout` seconds), kill QEMU by its pid if it
    is still there, and return a VMResult. After HULLTEST-END the guest gets `grace`
    seconds to power off. log: a path for the raw console; echo: copy it to stderr."""
    argv = qemu_argv(kernel, initrd, cmdline, append, cpu, mem, smp, accel, extra)
    buf = bytearray()
    ended = threading.Event()
    start = time.monotonic()
    logf = open(log, "wb") if log else None
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)

    def reader():
        while True:
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                break
            buf.extend(chunk)
            if logf:
                logf.write(chunk)
                logf.flush()
            if echo:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
            if END.encode() in buf[-len(chunk) - len(END):]:
                ended.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    timed_out = False
    try:
        deadline = start + timeout
        while proc.poll() is None:
            now = time.monotonic()
            if ended.is_set():
                deadline = min(deadline, now + grace)
                ended.clear()
            if now >= deadline:
                timed_out = not END.encode() in buf
                break
            time.sleep(0.05)
    finally:
        if proc.poll() is None:
            proc.kill()  # by its own pid, nothing else
        rc = proc.wait()
        t.join(5)
        proc.stdout.close()
        if logf:
            logf.close()
    killed = rc == -signal.SIGKILL
    out = buf.decode(errors="replace").replace("\r\n", "\n").replace("\r", "\n")
    out = ESCAPE_RE.sub("", out)
    return VMResult(argv=argv, output=out, returncode=None if killed else rc,
                    timed_out=timed_out, elapsed=time.monotonic() - start,
                    begun=BEGIN in out, complete=END in out, results=parse_results(out))


# ---------------------------------------------------------------------------
# Command line


def build_static_hull(builddir=REPO / "build-static"):
    """hull linked statically into builddir (its own meson build dir: the project's
    meson.build is not touched). Debian ships yajl's static library as libyajl_s.a, so a
    libyajl.a link to it goes into builddir/static-libs for -lyajl to find."""
    builddir = Path(builddir)
    libdir = builddir / "static-libs"
    libdir.mkdir(parents=True, exist_ok=True)
    yajl = Path("/usr/lib/x86_64-linux-gnu/libyajl_s.a")
    link = libdir / "libyajl.a"
    if not link.exists():
        link.symlink_to(yajl)
    if not (builddir / "build.ninja").exists():
        subprocess.run(["meson", "setup", str(builddir), "-Dprefer_static=true",
                        f"-Dc_link_args=-static -L{libdir}"], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["ninja", "-C", str(builddir), "hull"], check=True,
                   stdout=subprocess.DEVNULL)
    return builddir / "hull"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="build the initramfs, boot, print the results")
    r.add_argument("--case", action="append", default=[], help="a guest script (repeat)")
    r.add_argument("--kernel", help="default: $HULL_VM_KERNEL or Debian's vmlinuz")
    r.add_argument("--hull", help="hull to put in the guest (default build/hull)",
                   default=os.environ.get("HULL_BIN") or str(REPO / "build/hull"))
    r.add_argument("--static-hull", action="store_true",
                   help="build hull statically in build-static/ and use that")
    r.add_argument("--no-hull", action="store_true", help="a guest without hull")
    r.add_argument("--probe", default=os.environ.get("HULL_PROBE") or
                   str(REPO / "build/tests/hull-probe"))
    r.add_argument("--file", action="append", default=[], metavar="SRC:DEST",
                   help="a host file or directory at DEST in the guest (repeat)")
    r.add_argument("--elf", action="append", default=[], metavar="SRC:DEST",
                   help="an executable and its shared libraries (repeat)")
    r.add_argument("--cmdline", default=DEFAULT_CMDLINE)
    r.add_argument("--append", default="", help="more kernel command line")
    r.add_argument("--cpu", default="max")
    r.add_argument("--mem", default="1G")
    r.add_argument("--smp", type=int, default=1)
    r.add_argument("--accel", default="tcg")
    r.add_argument("--qemu-arg", action="append", default=[], help="passed to QEMU")
    r.add_argument("--timeout", type=float, default=240)
    r.add_argument("--log", help="write the raw console here")
    r.add_argument("--keep-initrd", help="write the initramfs here and keep it")
    r.add_argument("--quiet", action="store_true", help="do not echo the console")
    sub.add_parser("kernel", help="print the kernel find_kernel() picks")
    s = sub.add_parser("static-hull", help="build hull statically in build-static/")
    s.add_argument("--builddir", default=str(REPO / "build-static"))
    a = ap.parse_args(argv)

    if a.cmd == "kernel":
        k = find_kernel()
        print(k or "no Debian kernel found: run tests/vm/fetch-kernel.sh")
        return 0 if k else 1
    if a.cmd == "static-hull":
        print(build_static_hull(a.builddir))
        return 0

    kernel = a.kernel or find_kernel()
    if not kernel:
        print("no Debian kernel found: run tests/vm/fetch-kernel.sh or set HULL_VM_KERNEL",
              file=sys.stderr)
        return 2
    if shutil.which(QEMU) is None:
        print(f"{QEMU} not found: apt-get install qemu-system-x86", file=sys.stderr)
        return 2
    img = Initramfs()
    add_guest_runner(img, a.case)
    if not a.no_hull:
        hull = build_static_hull() if a.static_hull else a.hull
        add_hull(img, hull, probe=a.probe if Path(a.probe).is_file() else None)
    for spec in a.file:
        src, dest = spec.split(":", 1)
        (img.add_tree if Path(src).is_dir() else lambda s, d: img.add_file(d, src=s))(src, dest)
    for spec in a.elf:
        src, dest = spec.split(":", 1)
        img.add_elf(src, dest)
    with tempfile.TemporaryDirectory(prefix="hull-vm-") as tmp:
        initrd = img.write(a.keep_initrd or Path(tmp) / "initrd.cpio")
        if not a.quiet:
            print("+ " + " ".join(qemu_argv(kernel, initrd, a.cmdline, a.append, a.cpu, a.mem,
                                            a.smp, a.accel, a.qemu_arg)), file=sys.stderr)
        res = boot(kernel, initrd, cmdline=a.cmdline, append=a.append, cpu=a.cpu, mem=a.mem,
                   smp=a.smp, accel=a.accel, extra=a.qemu_arg, timeout=a.timeout,
                   log=a.log, echo=not a.quiet)
    for c in res.results:
        print(f"{c.status} {c.name}{': ' + c.detail if c.detail else ''}")
    n = {s: sum(1 for c in res.results if c.status == s) for s in ("PASS", "FAIL", "SKIP")}
    problem = res.problem()
    if problem:
        print(f"VM: {problem}", file=sys.stderr)
    print(f"{n['PASS']} passed, {n['FAIL'] + (1 if problem else 0)} failed, "
          f"{n['SKIP']} skipped ({res.elapsed:.1f} s)")
    return 1 if problem or n["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
