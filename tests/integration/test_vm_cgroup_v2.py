"""hull on a pure cgroup v2 host, for real: one QEMU boot (Debian's kernel under TCG, with
cgroup_no_v1=all) per module runs tests/vm/cases/cgroup_v2.sh in the guest, and each
HULLTEST line it prints is one test here (PASS, FAIL or SKIP with the guest's reason).

The whole module skips when QEMU or a Debian kernel is missing (scripts/install-deps.sh
test installs qemu-system-x86 and fetches the kernel with tests/vm/fetch-kernel.sh).
Env: HULL_VM_KERNEL (a vmlinuz), HULL_VM_TIMEOUT (seconds, default 240),
HULL_VM_LOG (keep the raw console there). See tests/vm/README.md.
"""

import os
import re
import shutil
import sys

import pytest

from conftest import BUSYBOX, HULL_BIN, PROBE_BIN, REPO

sys.path.insert(0, str(REPO / "tests" / "vm"))
import vmrun  # noqa: E402

CASES = REPO / "tests" / "vm" / "cases" / "cgroup_v2.sh"
NAMES = re.findall(r"^run_case (\S+) ", CASES.read_text(), re.M)


def why_not():
    if shutil.which(vmrun.QEMU) is None:
        return (f"{vmrun.QEMU} not found: `scripts/install-deps.sh test` installs "
                "qemu-system-x86")
    if vmrun.find_kernel() is None:
        return ("no Debian kernel (/boot/vmlinuz-*-amd64 or "
                f"{vmrun.CACHE}/boot/vmlinuz-*-amd64): `scripts/install-deps.sh test` "
                "runs tests/vm/fetch-kernel.sh, or set HULL_VM_KERNEL")
    for what, path in (("hull", HULL_BIN), ("the probe", PROBE_BIN), ("busybox", BUSYBOX)):
        if not path.is_file():
            return f"{what} not found at {path}"
    return None


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    why = why_not()
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("vm")
    img = vmrun.Initramfs()
    vmrun.add_guest_runner(img, [CASES], busybox=BUSYBOX)
    vmrun.add_hull(img, HULL_BIN, probe=PROBE_BIN, busybox=BUSYBOX)
    initrd = img.write(tmp / "initrd.cpio")
    return vmrun.boot(vmrun.find_kernel(), initrd,
                      timeout=float(os.environ.get("HULL_VM_TIMEOUT") or 240),
                      log=os.environ.get("HULL_VM_LOG") or tmp / "console.log")


def case_log(vm, name):
    prefix = f"HULLTEST-LOG {name}: "
    return "\n".join(l[len(prefix):] for l in vm.output.splitlines() if l.startswith(prefix))


def test_vm_run(vm):
    """The guest booted, ran every script to its end and powered off; it reported
    exactly the cases the script declares."""
    problem = vm.problem()
    assert problem is None, f"{problem}\n--- console (tail):\n{vm.tail()}"
    broken = [f"{r.name}: {r.detail}" for r in vm.results if r.name.startswith("script:")]
    assert not broken, broken
    got = [r.name for r in vm.results]
    assert sorted(got) == sorted(NAMES), f"reported {got}, declared {NAMES}"


def check_case(vm, name):
    """One HULLTEST line as a test: PASS passes, SKIP skips with the guest's reason."""
    r = vm.by_name().get(name)
    if r is None:
        pytest.fail(f"the guest printed no result for {name} "
                    f"({vm.problem() or 'the run was complete'})\n{vm.tail(30)}")
    if r.status == "SKIP":
        pytest.skip(r.detail)
    assert r.status == "PASS", f"{r.detail}\n--- guest log:\n{case_log(vm, name)}"


@pytest.mark.parametrize("name", NAMES)
def test_v2(vm, name):
    check_case(vm, name)
