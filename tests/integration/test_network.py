"""Networking (issue 4): --net none|host|bridge, --ip, -p validation, addresses, leases,
/etc files, linux.netDevices, `hull net`, cleanup after crashes. Every test runs hull inside
a network namespace of its own (nsenter --net, so /sys and the cgroup mounts stay as they
are): the bridge, veths and rules live there and vanish with it, and no packet leaves it."""
import json
import os
import random
import signal
import string
import subprocess
import time
from pathlib import Path

import pytest

from conftest import assert_error, default_config, wait_for

ALL_CAPS = "CAP_NET_RAW"


class NetNS:
    def __init__(self, h):
        self.h = h
        self.name = "hulltest-" + "".join(random.choices(string.ascii_lowercase, k=8))
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.sh("ip", "link", "set", "lo", "up")

    def prefix(self):
        return ["nsenter", f"--net=/run/netns/{self.name}"]

    def sh(self, *argv, check=True):
        return subprocess.run(self.prefix() + [str(a) for a in argv], check=check,
                              capture_output=True, text=True, timeout=30)

    def hull(self, *args, timeout=60):
        return self.h.run(argv=self.prefix() + self.h.cmd(*args), timeout=timeout)

    def ok(self, *args, timeout=60):
        r = self.hull(*args, timeout=timeout)
        assert r.rc == 0, r
        return r

    def links(self):
        out = self.sh("ip", "-o", "link", "show").stdout
        return [l.split(":")[1].strip().split("@")[0] for l in out.splitlines()]

    def leases(self):
        d = self.h.root / ".net"
        return "".join(p.read_text() for p in d.glob("*.leases")) if d.exists() else ""

    def leaks(self, wait=5.0):
        # A container's veth pair goes with its network namespace, which the kernel frees
        # in the background after the last process in it exits: allow it a moment.
        deadline = time.monotonic() + wait
        while True:
            left = [l for l in self.links() if l.startswith("hv")]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if self.leases().strip():
            left.append("leases: " + self.leases())
        return left

    def close(self):
        for cid in self.h.ids:
            self.hull("delete", "--force", cid)
        leaks = self.leaks()
        d = self.h.root / ".net"
        if d.exists():
            for p in d.iterdir():
                p.unlink()
            d.rmdir()
        subprocess.run(["ip", "netns", "del", self.name], check=False)
        assert not leaks, f"network leak in {self.name}: {leaks}"


@pytest.fixture
def ns(h):
    n = NetNS(h)
    yield n
    n.close()


def net_bundle(h, args=("sleep", "300"), **extra):
    cfg = default_config(args)
    for k in cfg["process"]["capabilities"].values():
        k.append(ALL_CAPS)
    cfg.update(extra)
    return h.bundle(config=cfg)


def start(ns, b, *flags, tag=""):
    cid = ns.h.new_id(tag)
    ns.ok("run", "-d", *flags, "-b", b, cid)
    return cid


def inspect(ns, cid):
    return json.loads(ns.ok("net", "inspect", cid).out)


def test_two_containers_ping_tcp_ipv6_and_host(h, ns):
    b1, b2 = net_bundle(h), net_bundle(h)
    c1, c2 = start(ns, b1, "--net", "bridge"), start(ns, b2, "--net", "bridge")
    i1, i2 = inspect(ns, c1), inspect(ns, c2)
    assert i1["bridge"] == "hull0" and i1["subnet"] == "10.89.0.0/16"
    assert i1["ipv4"] != i2["ipv4"]
    assert ns.ok("exec", c1, "ping", "-c1", "-W3", i2["ipv4"]).rc == 0
    assert ns.ok("exec", c2, "ping", "-c1", "-W3", i1["ipv6"]).rc == 0
    # TCP from c1 to a listener in c2
    ns.ok("exec", "-d", c2, "sh", "-c", "while :; do nc -l -p 5000 >> /tmp/got; done")
    # A connect can win the race with the listener's restart and lose the line: send
    # again until it has arrived (a loaded 2-core machine made that visible).
    def sent_and_arrived():
        ns.hull("exec", c1, "sh", "-c", f"echo hello | nc -w1 {i2['ipv4']} 5000")
        return "hello" in ns.hull("exec", c2, "cat", "/tmp/got").out
    wait_for(sent_and_arrived, 30, "a line sent over TCP from c1 to arrive in c2",
             interval=0.2)
    # the host (the test namespace) reaches a container
    ns.sh("busybox", "ping", "-c1", "-W3", i1["ipv4"])
    # inside: eth0 with the address, the default routes, the files
    addr = ns.ok("exec", c1, "ip", "addr", "show", "eth0").out
    assert i1["ipv4"] + "/16" in addr and i1["ipv6"] + "/64" in addr
    # the MAC follows the address, so a reused address does not meet a stale neighbour
    mac = "02:68:" + ":".join("%02x" % int(x) for x in i1["ipv4"].split("."))
    assert "link/ether " + mac in addr
    assert "default via 10.89.0.1" in ns.ok("exec", c1, "ip", "route").out
    assert "default via " + i1["gateway6"] in ns.ok("exec", c1, "ip", "-6", "route").out
    hosts = ns.ok("exec", c1, "cat", "/etc/hosts").out
    assert i1["ipv4"] in hosts and "hull-test" in hosts
    assert ns.ok("exec", c1, "cat", "/etc/hostname").out.strip() == "hull-test"
    resolv = ns.ok("exec", c1, "cat", "/etc/resolv.conf").out
    assert "nameserver 127." not in resolv
    assert (b1.rootfs / "etc/hostname").read_text() == "template\n"
    table = ns.ok("net", "ls").out
    assert c1 in table and i2["ipv4"] in table
    rows = json.loads(ns.ok("net", "ls", "--format", "json").out)
    assert {r["id"] for r in rows} == {c1, c2}
    for c in (c1, c2):
        ns.ok("delete", "--force", c)
    assert not ns.leaks()


def test_parallel_creates_get_unique_addresses(h, ns):
    b = net_bundle(h)
    ids = [h.new_id(str(i)) for i in range(50)]
    # Output to files: the containers' inits keep their stdio open.
    errs = [h.tmp / f"create{i}.err" for i in range(len(ids))]
    procs = []
    for c, e in zip(ids, errs):
        with open(e, "wb") as f:
            procs.append(subprocess.Popen(
                ns.prefix() + h.cmd("create", "--net", "bridge", "-b", b, c),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f))
    rcs = [p.wait(timeout=120) for p in procs]
    assert rcs == [0] * len(ids), [e.read_text() for e in errs]
    rows = json.loads(ns.ok("net", "ls", "--format", "json").out)
    addrs = [r["ipv4"] for r in rows]
    assert len(addrs) == 50 and len(set(addrs)) == 50
    assert len(set(r["ipv6"] for r in rows)) == 50
    for c in ids:
        ns.ok("delete", "--force", c)
    assert not ns.leaks()


def test_released_address_is_reused(h, ns):
    b = net_bundle(h)
    a = start(ns, b, "--net", "bridge")
    first = inspect(ns, a)["ipv4"]
    c = start(ns, b, "--net", "bridge")
    ns.ok("delete", "--force", a)
    d = start(ns, b, "--net", "bridge")
    assert inspect(ns, d)["ipv4"] == first
    ns.ok("delete", "--force", c)
    ns.ok("delete", "--force", d)


def test_requested_ip(h, ns):
    b = net_bundle(h)
    a = start(ns, b, "--net", "bridge", "--ip", "10.89.3.4")
    assert inspect(ns, a)["ipv4"] == "10.89.3.4"
    assert "10.89.3.4/16" in ns.ok("exec", a, "ip", "addr", "show", "eth0").out


@pytest.mark.parametrize("flags,needle", [
    (["--net", "bridge", "-p", "80:banana"], "banana"),
    (["--net", "bridge", "--ip", "10.90.0.5"], "10.90.0.5"),
    (["--net", "bridge", "--ip", "10.89.0.1"], "10.89.0.1"),
    (["--net", "bridge:hullbad"], "hullbad"),
    (["--net", "wifi"], "wifi"),
    (["--net", "none", "-p", "80:80"], "--net bridge"),
])
def test_bad_requests_leave_nothing(h, ns, flags, needle):
    ns.sh("ip", "link", "add", "hullbad", "type", "veth", "peer", "name", "hullbad1")
    b = net_bundle(h)
    cid = h.new_id()
    assert_error(ns.hull("create", *flags, "-b", b, cid), needle)
    assert ns.hull("state", cid).rc != 0
    assert not ns.leaks()


def test_taken_ip(h, ns):
    b = net_bundle(h)
    start(ns, b, "--net", "bridge", "--ip", "10.89.0.9")
    cid = h.new_id()
    assert_error(ns.hull("create", "--net", "bridge", "--ip", "10.89.0.9", "-b", b, cid),
                 "10.89.0.9", "taken")
    assert ns.hull("state", cid).rc != 0


def test_ipv6_forwarding_keeps_router_advertisements(h, ns):
    """Turning IPv6 forwarding on would make interfaces with accept_ra=1 ignore router
    advertisements (and lose an RA-learned default route): hull moves them to 2 first."""
    def sysctl(name):
        return ns.sh("cat", f"/proc/sys/net/ipv6/conf/{name}").stdout.strip()
    ns.sh("ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink1")
    ns.sh("sysctl", "-qw", "net.ipv6.conf.uplink0.accept_ra=1")
    ns.sh("sysctl", "-qw", "net.ipv6.conf.lo.accept_ra=0")
    assert sysctl("all/forwarding") == "0" and sysctl("uplink0/accept_ra") == "1"
    start(ns, net_bundle(h), "--net", "bridge")
    assert sysctl("all/forwarding") == "1"
    assert sysctl("uplink0/accept_ra") == "2" and sysctl("default/accept_ra") == "2"
    assert sysctl("lo/accept_ra") == "0"


def test_same_id_again_right_after_delete(h, ns):
    """The old veth pair goes with its namespace in the background: a new container of the
    same id (a `run --rm` loop) must not trip over its name."""
    b = net_bundle(h)
    cid = start(ns, b, "--net", "bridge")
    # Keep the old namespace (and so its veth pair) alive, as a slow background clean-up
    # or someone's bind mount would.
    pid = json.loads(ns.ok("state", cid).out)["pid"]
    held = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY)
    try:
        ns.ok("delete", "--force", cid)
        ns.ok("run", "-d", "--net", "bridge", "-b", b, cid)
        ns.ok("delete", "--force", cid)
    finally:
        os.close(held)


def test_bridge_is_owned_by_one_root(h, ns):
    """Leases live under --root: a second root on the same bridge would hand out the same
    addresses, so its create is refused while the first root has containers there."""
    cid = start(ns, net_bundle(h), "--net", "bridge")
    other_root = h.tmp / "other-root"
    def other(*args):
        return h.run(argv=ns.prefix() + [str(h.hull_bin), "--root", str(other_root)] +
                     [str(a) for a in args])
    b = net_bundle(h)
    oid = h.new_id("other")
    assert_error(other("create", "--net", "bridge", "-b", b, oid), "bridge:hull0",
                 "another --root", str(h.root))
    assert other("state", oid).rc != 0 and not (other_root / ".net" / "hull0.leases").exists()
    ns.ok("delete", "--force", cid)
    r = other("run", "-d", "--net", "bridge", "-b", b, oid)
    assert r.rc == 0, r
    assert other("delete", "--force", oid).rc == 0
    # and the other way round
    assert other("run", "-d", "--net", "bridge", "-b", b, oid).rc == 0
    assert_error(ns.hull("create", "--net", "bridge", "-b", net_bundle(h), h.new_id()),
                 "another --root", str(other_root))
    assert other("delete", "--force", oid).rc == 0


def test_net_prune(h, ns):
    """`hull net prune` removes what hull keeps on the host between containers (the bridge,
    the empty nftables table), and nothing while a container uses them; a bridge with a port
    of someone else's stays."""
    def state():
        links = ns.links()
        tables = ns.sh("nft", "list", "tables").stdout
        return "hull0" in links, "inet hull" in tables
    cid = start(ns, net_bundle(h), "--net", "bridge")
    assert ns.ok("net", "prune").out == "" and state() == (True, True)
    ns.ok("delete", "--force", cid)
    ns.sh("ip", "link", "add", "other0", "type", "veth", "peer", "name", "other1")
    ns.sh("ip", "link", "set", "other0", "master", "hull0")
    out = ns.ok("net", "prune").out
    assert out == "removed nftables table inet hull\n", out
    assert state() == (True, False)
    ns.sh("ip", "link", "del", "other0")
    assert ns.ok("net", "prune").out == "removed bridge hull0\n"
    assert state() == (False, False)
    assert ns.ok("net", "prune").out == ""


def test_annotations_carry_the_request(h, ns):
    b = net_bundle(h, annotations={"org.hull.net.mode": "bridge",
                                   "org.hull.net.ip": "10.89.0.77"})
    cid = start(ns, b)
    assert inspect(ns, cid)["ipv4"] == "10.89.0.77"


def test_default_is_loopback_only(h, ns):
    b = net_bundle(h)
    cid = start(ns, b)
    links = ns.ok("exec", cid, "ip", "-o", "link").out
    assert "lo:" in links and "UP" in links and "eth0" not in links
    assert inspect(ns, cid)["mode"] == "lo"


def test_net_host_shares_the_namespace(h, ns):
    b = net_bundle(h)
    cid = start(ns, b, "--net", "host")
    ours = ns.sh("readlink", "/proc/self/ns/net").stdout.strip()
    assert ns.ok("exec", cid, "readlink", "/proc/self/ns/net").out.strip() == ours


def test_joined_netns_is_untouched(h, ns):
    cfg_ns = f"/run/netns/{ns.name}"
    b = net_bundle(h)
    b.config["linux"]["namespaces"] = [
        n for n in b.config["linux"]["namespaces"] if n["type"] != "network"
    ] + [{"type": "network", "path": cfg_ns}]
    b.write()
    cid = start(ns, b)
    assert "hull0" not in ns.links()
    assert_error(ns.hull("create", "--net", "bridge", "-b", b, h.new_id()), cfg_ns)


def test_net_devices_move_in_and_back(h, ns):
    ns.sh("ip", "link", "add", "hdum0", "type", "veth", "peer", "name", "hdum1")
    b = net_bundle(h)
    b.config["linux"]["netDevices"] = {"hdum0": {"name": "ctr0"}}
    b.write()
    cid = start(ns, b)
    assert "hdum0" not in ns.links()
    assert "ctr0" in ns.ok("exec", cid, "ip", "-o", "link").out
    ns.ok("delete", "--force", cid)
    assert "hdum0" in ns.links()


def test_delete_force_after_sigkill_of_the_container(h, ns):
    b = net_bundle(h)
    cid = start(ns, b, "--net", "bridge")
    os.kill(json.loads(ns.ok("state", cid).out)["pid"], signal.SIGKILL)
    time.sleep(0.2)
    ns.ok("delete", "--force", cid)
    assert not ns.leaks()


def test_delete_force_after_sigkill_of_hull_mid_create(h, ns):
    b = net_bundle(h)
    pidfile = h.tmp / "hookpid"
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": [
        "sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"]}]}
    b.write()
    cid = h.new_id()
    p = subprocess.Popen(ns.prefix() + h.cmd("create", "--net", "bridge", "-b", b, cid),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: pidfile.exists() and pidfile.read_text().strip(), 20, "the hook")
    assert any(l.startswith("hv") for l in ns.links())
    p.kill()
    p.wait()
    os.kill(int(pidfile.read_text()), signal.SIGKILL)
    ns.ok("delete", "--force", cid)
    assert not ns.leaks()
