"""Micro-VM mode end to end: this host's /dev/kvm cannot run a Linux guest's user space, so
one QEMU boot (Debian's kernel under TCG, with an AMD CPU model: QEMU emulates SVM with
nested paging in software) makes an L1 guest with a real /dev/kvm once kvm-amd is loaded,
and tests/vm/cases/microvm.sh runs containers with org.hull.vm=true there through the real
hull binary; hull's own VMM then boots the guest kernel (scripts/build-guest-kernel.sh) as
L2. Each HULLTEST line is one test here.

Skips when QEMU or the L1 kernel is missing; fails when the guest kernel or the kvm modules
are (`scripts/install-deps.sh test` puts both in place, so their absence is a broken set-up). Env: HULL_VM_TIMEOUT (seconds, default 420),
HULL_VM_LOG (keep the raw console there), HULL_GUEST_KERNEL (a vmlinux).
"""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import BUSYBOX, HULL_BIN, REPO
from test_vm_cgroup_v2 import check_case, why_not as why_not_qemu

sys.path.insert(0, str(REPO / "tests" / "vm"))
import vmrun  # noqa: E402

CASES = REPO / "tests" / "vm" / "cases" / "microvm.sh"
NAMES = re.findall(r"^\s*run_case (\S+) ", CASES.read_text(), re.M)
GUEST_KERNEL = vmrun.GUEST_KERNEL
kvm_modules = vmrun.kvm_modules


def missing():
    """Why the run cannot happen although QEMU is there, or None."""
    if not GUEST_KERNEL.is_file():
        return (f"no guest kernel at {GUEST_KERNEL}: `scripts/install-deps.sh test` builds it "
                "with scripts/build-guest-kernel.sh")
    if None in kvm_modules(vmrun.find_kernel()):
        return ("no kvm-amd modules for the L1 kernel: `scripts/install-deps.sh test` "
                "fetches them with tests/vm/fetch-kernel.sh")
    return None


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    why = why_not_qemu()
    if why:
        pytest.skip(why)
    why = missing()
    if why:
        pytest.fail(why)
    tmp = tmp_path_factory.mktemp("vm")
    kernel = vmrun.find_kernel()
    img = vmrun.Initramfs()
    vmrun.add_guest_runner(img, [CASES], busybox=BUSYBOX)
    vmrun.add_hull(img, HULL_BIN, busybox=BUSYBOX)
    img.add_file("/hulltest/vmlinux", src=GUEST_KERNEL, mode=0o644)
    for m in kvm_modules(kernel):
        img.add_file(f"/hulltest/kmod/{os.path.basename(m)}", src=m, mode=0o644)
    # -xsave: TCG's SVM does not intercept XSETBV, and an L2 kernel would warn about it
    return vmrun.boot(kernel, img.write(tmp / "initrd.cpio"), cpu="EPYC,-xsave", mem="2G",
                      append="hulltest.timeout=360",
                      timeout=float(os.environ.get("HULL_VM_TIMEOUT") or 420),
                      log=os.environ.get("HULL_VM_LOG") or tmp / "console.log")


@pytest.mark.parametrize("name", NAMES)
def test_microvm(vm, name):
    check_case(vm, name)


@pytest.fixture(scope="module")
def on_host(tmp_path_factory, rootfs_template):
    """The same script straight on this host, when its /dev/kvm can run a Linux guest."""
    from test_vm_mode import can_run_linux_guests
    if not can_run_linux_guests():
        pytest.skip("this host's /dev/kvm cannot run a Linux guest (no vmx/svm, or PVM): "
                    "the cases run in the nested VM above")
    if not GUEST_KERNEL.is_file():
        pytest.fail(missing())
    tmp = tmp_path_factory.mktemp("vmhost")
    (tmp / "ht").mkdir()
    (tmp / "ht" / "vmlinux").symlink_to(GUEST_KERNEL)
    shutil.copytree(rootfs_template, tmp / "ht" / "rootfs", symlinks=True)
    env = dict(os.environ, HULLTEST_LIB=str(REPO / "tests/vm/guest/hulltest.sh"),
               HULLTEST_DIR=str(tmp / "ht"), HULL=str(HULL_BIN), STATE=str(tmp / "state"),
               B=str(tmp / "bundles"), HT_TMP=str(tmp / "logs"))
    r = subprocess.run(["sh", str(CASES)], env=env, capture_output=True, text=True,
                       timeout=600)
    return vmrun.VMResult(argv=["sh", str(CASES)], output=r.stdout, returncode=r.returncode,
                          timed_out=False, elapsed=0.0, begun=True, complete=True,
                          results=vmrun.parse_results(r.stdout))


def test_microvm_on_host(on_host):
    """Every case of the script, run on this host (one test: it rarely runs at all)."""
    got = on_host.by_name()
    bad = [f"{n}: {got[n].status} {got[n].detail}" if n in got else f"{n}: no result"
           for n in NAMES if n not in got or got[n].status == "FAIL"]
    assert not bad, "\n".join(bad) + "\n" + on_host.tail(30)
