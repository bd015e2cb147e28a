"""Micro-VM mode on this host: how it is selected, what create checks up front, and the
refusal on a host whose /dev/kvm cannot run a Linux guest (this machine's is PVM), each a
one-line error with nothing left behind. The VM itself runs in test_vm_microvm.py (nested,
under QEMU)."""

import json
import os
import re

import pytest

from conftest import assert_error, default_config

GUEST_KERNEL = "/var/cache/hull-vm/guest-kernel/vmlinux"


def can_run_linux_guests():
    flags = open("/proc/cpuinfo").read()
    pvm = os.path.exists("/sys/module/kvm_pvm")
    return os.path.exists("/dev/kvm") and re.search(r"\b(vmx|svm)\b", flags) and not pvm


def vm_bundle(h, annotations, args=("true",)):
    cfg = default_config(list(args))
    cfg["annotations"] = annotations
    return h.bundle(config=cfg)


def kernel_file(h):
    """A file that passes create's kernel check (an ELF header), for the checks after it."""
    path = h.tmp / "vmlinux"
    path.write_bytes(b"\x7fELF" + bytes(60))
    return str(path)


def assert_nothing_left(h, cid):
    assert h.run("state", cid).rc != 0
    assert not (h.root / cid).exists()
    for mnt in ("/sys/fs/cgroup/memory", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        assert not os.path.exists(f"{mnt}/hull/{cid}")


@pytest.mark.skipif(can_run_linux_guests(), reason="this host's /dev/kvm can run guests")
def test_refused_on_a_host_without_usable_kvm(h):
    b = vm_bundle(h, {"org.hull.vm": "true", "org.hull.vm.kernel": kernel_file(h)})
    cid = h.new_id()
    line = assert_error(h.run("run", "-b", b, cid), "micro-VM mode needs hardware "
                        "virtualization")
    assert "/dev/kvm" in line
    assert_nothing_left(h, cid)


@pytest.mark.skipif(can_run_linux_guests(), reason="this host's /dev/kvm can run guests")
def test_hull_vm_name_selects_vm_mode(h):
    link = h.tmp / "hull-vm"
    link.symlink_to(h.hull_bin)
    b = vm_bundle(h, {"org.hull.vm.kernel": kernel_file(h)})
    cid = h.new_id()
    r = h.run(argv=[str(link), "--root", str(h.root), "run", "-b", str(b), cid])
    assert_error(r, "micro-VM mode needs hardware virtualization")
    assert_nothing_left(h, cid)
    # org.hull.vm=false wins over the name: an ordinary container
    b2 = vm_bundle(h, {"org.hull.vm": "false"}, args=("sh", "-c", "echo plain"))
    cid2 = h.new_id()
    r = h.run(argv=[str(link), "--root", str(h.root), "run", "-b", str(b2), cid2])
    assert r.rc == 0 and r.out.strip() == "plain", r


@pytest.mark.parametrize("annotations,needle", [
    ({"org.hull.vm": "yes"}, 'annotation org.hull.vm: want "true" or "false"'),
    ({"org.hull.vm": "true", "org.hull.vm.cpus": "0"}, "annotation org.hull.vm.cpus"),
    ({"org.hull.vm": "true", "org.hull.vm.cpus": "2x"}, "annotation org.hull.vm.cpus"),
    ({"org.hull.vm": "true", "org.hull.vm.memory": "8"}, "annotation org.hull.vm.memory"),
    ({"org.hull.vm": "true", "org.hull.vm.memory": "-512"}, "annotation org.hull.vm.memory"),
    ({"org.hull.vm": "true", "org.hull.vm.kernel": "vmlinux"},
     "annotation org.hull.vm.kernel: want an absolute path"),
    ({"org.hull.vm": "true", "org.hull.vm.kernel": "/nonexistent/vmlinux"},
     "annotation org.hull.vm.kernel: guest kernel /nonexistent/vmlinux"),
    ({"org.hull.vm": "true", "org.hull.vm.kernel": "/etc/hostname"}, "not an uncompressed"),
])
def test_bad_vm_annotations(h, annotations, needle):
    b = vm_bundle(h, annotations)
    cid = h.new_id()
    assert_error(h.run("create", "-b", b, cid), needle)
    assert_nothing_left(h, cid)


def test_memory_limit_too_small_for_a_vm(h):
    b = vm_bundle(h, {"org.hull.vm": "true", "org.hull.vm.kernel": kernel_file(h)})
    b.config["linux"].setdefault("resources", {})["memory"] = {"limit": 64 << 20}
    b.write()
    cid = h.new_id()
    assert_error(h.run("create", "-b", b, cid), "linux.resources.memory.limit",
                 "too little for a micro-VM")
    assert_nothing_left(h, cid)


@pytest.mark.parametrize("seccomp", [
    {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/hull-test-agent.sock",
     "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]},
    # a listener without a notifying rule has no meaning in the guest either
    {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/hull-test-agent.sock",
     "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]},
], ids=["notify-rule", "listener-only"])
def test_seccomp_notify_refused_in_vm_mode(h, seccomp):
    b = vm_bundle(h, {"org.hull.vm": "true", "org.hull.vm.kernel": kernel_file(h)})
    b.config["linux"]["seccomp"] = seccomp
    b.write()
    cid = h.new_id()
    assert_error(h.run("create", "-b", b, cid), "linux.seccomp", "SCMP_ACT_NOTIFY",
                 "micro-VM mode")
    assert_nothing_left(h, cid)


def test_seccomp_compile_error_at_create_in_vm_mode(h):
    """The guest's filter is compiled at create: its errors come before anything exists."""
    b = vm_bundle(h, {"org.hull.vm": "true", "org.hull.vm.kernel": kernel_file(h)})
    b.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_ERRNO",
                      "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}] * 1025}]}
    b.write()
    cid = h.new_id()
    assert_error(h.run("create", "-b", b, cid), "linux.seccomp", "getppid")
    assert_nothing_left(h, cid)


def test_annotation_false_is_an_ordinary_container(h):
    b = vm_bundle(h, {"org.hull.vm": "false"}, args=("sh", "-c", "echo plain"))
    r = h.run("run", "-b", b, h.new_id())
    assert r.rc == 0 and r.out.strip() == "plain", r


@pytest.mark.skipif(can_run_linux_guests(), reason="this host's /dev/kvm can run guests")
def test_bind_mounts_warned_about_in_vm_mode(h):
    """The guest gets a copy of the rootfs only: create says which bind mounts it will not
    see (here before it refuses this host's /dev/kvm)."""
    b = vm_bundle(h, {"org.hull.vm": "true", "org.hull.vm.kernel": kernel_file(h)})
    (h.tmp / "vol").mkdir()
    b.config["mounts"].append({"destination": "/data", "type": "bind",
                               "source": str(h.tmp / "vol"), "options": ["rbind", "rw"]})
    b.write()
    log = h.tmp / "hull.log"
    cid = h.new_id()
    r = h.run("--log", log, "--log-format", "json", "run", "-b", b, cid)
    assert r.rc == 1, r
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    warn = [e["msg"] for e in lines if e["level"] == "warning"]
    assert len(warn) == 1 and "not visible in the guest" in warn[0] and "/data" in warn[0], lines
    assert_nothing_left(h, cid)
