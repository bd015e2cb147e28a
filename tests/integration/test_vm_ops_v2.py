"""pause/resume, update, events and ps on a pure cgroup v2 host: one QEMU boot (see
tests/vm/README.md and test_vm_cgroup_v2.py, whose machinery this shares) runs
tests/vm/cases/ops_v2.sh, and each HULLTEST line it prints is one test here. This host's
own layout is covered by test_ops.py."""

import os
import re
import sys

import pytest

from conftest import BUSYBOX, HULL_BIN, PROBE_BIN, REPO
from test_vm_cgroup_v2 import check_case, why_not

sys.path.insert(0, str(REPO / "tests" / "vm"))
import vmrun  # noqa: E402

CASES = REPO / "tests" / "vm" / "cases" / "ops_v2.sh"
NAMES = re.findall(r"^run_case (\S+) ", CASES.read_text(), re.M)


@pytest.fixture(scope="module")
def vm(tmp_path_factory):
    why = why_not()
    if why:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("vm")
    img = vmrun.Initramfs()
    vmrun.add_guest_runner(img, [CASES], busybox=BUSYBOX)
    vmrun.add_hull(img, HULL_BIN, probe=PROBE_BIN, busybox=BUSYBOX)
    return vmrun.boot(vmrun.find_kernel(), img.write(tmp / "initrd.cpio"),
                      timeout=float(os.environ.get("HULL_VM_TIMEOUT") or 240),
                      log=os.environ.get("HULL_VM_LOG") or tmp / "console.log")


@pytest.mark.parametrize("name", NAMES)
def test_ops_v2(vm, name):
    check_case(vm, name)
