"""NAT and published ports (src/netsetup/nat*.c) on real packets, all inside namespaces of
the test's own: "host" holds a bridge and hull's nftables table, "ctr" plays a container on
that bridge, "out" an outside machine on the host's uplink that has no route back to the
container subnet. Test setup uses iproute2; hull's code (through hull-nattool) talks
netlink. No packet goes to an address outside these namespaces.

  out 198.51.100.2 ── 198.51.100.1 host [br 10.89.0.1] ── 10.89.0.2 ctr
"""

import os
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NATTOOL = Path(os.environ.get("HULL_NATTOOL") or REPO / "build" / "tests" / "hull-nattool")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(not NATTOOL.exists(), reason=f"{NATTOOL} not built"),
    pytest.mark.skipif(shutil.which("nft") is None, reason="nft (nftables) not installed"),
]

# Answers each TCP connection (or UDP datagram) with the peer's address, then goes on.
SERVER = r"""
import socket, sys
kind, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
if kind == "tcp":
    s.listen(8)
print("ready", flush=True)
while True:
    if kind == "tcp":
        c, peer = s.accept()
        c.sendall(peer[0].encode() + b"\n")
        c.close()
    else:
        data, peer = s.recvfrom(100)
        s.sendto(peer[0].encode() + b"\n", peer)
"""
CLIENT = r"""
import socket, sys
kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "tcp":
    s = socket.create_connection((host, port), timeout=3)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(b"hi", (host, port))
print(s.recv(100).decode().strip())
"""


def sh(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, check=check, timeout=30)


class Net:
    def __init__(self):
        tag = f"{os.getpid() % 10000}{random.randrange(1000):03d}"
        self.host, self.ctr, self.out = (f"hulltest-{tag}-{n}" for n in ("host", "ctr", "out"))
        self.bridge = "hb" + tag
        self.servers = []

    def ns(self, name, *args, check=True):
        return sh("ip", "netns", "exec", name, *args, check=check)

    def setup(self):
        for n in (self.host, self.ctr, self.out):
            sh("ip", "netns", "add", n)
            self.ns(n, "ip", "link", "set", "lo", "up")
        h, c, o = self.host, self.ctr, self.out
        self.ns(h, "ip", "link", "add", self.bridge, "type", "bridge")
        self.ns(h, "ip", "addr", "add", "10.89.0.1/24", "dev", self.bridge)
        self.ns(h, "ip", "link", "set", self.bridge, "up")
        self.ns(h, "ip", "link", "add", "vc", "type", "veth", "peer", "name", "eth0", "netns", c)
        self.ns(h, "ip", "link", "set", "vc", "master", self.bridge, "up")
        # With br_netfilter loaded a container reaching its own published port is bridged
        # back out of the port it came in on, which the bridge allows only in hairpin mode.
        self.ns(h, "ip", "link", "set", "vc", "type", "bridge_slave", "hairpin", "on")
        self.ns(c, "ip", "addr", "add", "10.89.0.2/24", "dev", "eth0")
        self.ns(c, "ip", "link", "set", "eth0", "up")
        self.ns(c, "ip", "route", "add", "default", "via", "10.89.0.1")
        self.ns(h, "ip", "link", "add", "up0", "type", "veth", "peer", "name", "eth0", "netns", o)
        self.ns(h, "ip", "addr", "add", "198.51.100.1/24", "dev", "up0")
        self.ns(h, "ip", "link", "set", "up0", "up")
        self.ns(o, "ip", "addr", "add", "198.51.100.2/24", "dev", "eth0")
        self.ns(o, "ip", "link", "set", "eth0", "up")

    def teardown(self):
        for p in self.servers:
            p.kill()
            p.wait()
        for n in (self.host, self.ctr, self.out):
            sh("ip", "netns", "del", n, check=False)

    def tool(self, *args, check=True):
        return self.ns(self.host, str(NATTOOL), *args, check=check)

    def serve(self, ns, kind, port):
        p = subprocess.Popen(["ip", "netns", "exec", ns, "python3", "-c", SERVER, kind,
                              str(port)], stdout=subprocess.PIPE, text=True)
        self.servers.append(p)
        assert p.stdout.readline().strip() == "ready"

    def ask(self, ns, kind, host, port):
        """The peer address the server saw, or None when nothing answered."""
        r = self.ns(ns, "python3", "-c", CLIENT, kind, host, str(port), check=False)
        return r.stdout.strip() if r.returncode == 0 else None

    def ruleset(self):
        return self.ns(self.host, "nft", "list", "ruleset").stdout


@pytest.fixture
def net():
    n = Net()
    try:
        n.setup()
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        n.teardown()
        pytest.skip(f"cannot build the test network: {getattr(e, 'stderr', e)}")
    yield n
    n.teardown()


def publish(net):
    net.tool("ensure", net.bridge, "10.89.0.0/24", "fd89::/64")
    net.tool("add", "c1", "10.89.0.2", "8080:80", "5353:53/udp")
    net.serve(net.ctr, "tcp", 80)
    net.serve(net.ctr, "udp", 53)


def test_published_port_from_outside(net):
    publish(net)
    # The client's own address arrives: DNAT only, no source rewrite from outside.
    assert net.ask(net.out, "tcp", "198.51.100.1", 8080) == "198.51.100.2"
    assert net.ask(net.out, "udp", "198.51.100.1", 5353) == "198.51.100.2"
    assert "hull port c1 tcp/8080" in net.ruleset()


def test_published_port_from_host_loopback(net):
    publish(net)
    # route_localnet lets 127.0.0.1 leave through the bridge; masquerade gives the bridge's
    # address, which the container can answer.
    assert net.ask(net.host, "tcp", "127.0.0.1", 8080) == "10.89.0.1"
    assert net.ask(net.host, "tcp", "198.51.100.1", 8080) == "198.51.100.1"
    assert net.ns(net.host, "sysctl", "-n", f"net.ipv4.conf.{net.bridge}.route_localnet"
                  ).stdout.strip() == "1"


def test_hairpin_to_own_published_port(net):
    publish(net)
    assert net.ask(net.ctr, "tcp", "198.51.100.1", 8080) == "10.89.0.1"


def test_outbound_is_masqueraded(net):
    net.tool("ensure", net.bridge, "10.89.0.0/24", "-")
    net.serve(net.out, "tcp", 9000)
    # "out" has no route to 10.89.0.0/24: only the masquerade lets it answer.
    assert net.ask(net.ctr, "tcp", "198.51.100.2", 9000) == "198.51.100.1"


def test_port_taken_by_another_container(net):
    publish(net)
    r = net.tool("add", "c2", "10.89.0.3", "9090:90", "8080:81", check=False)
    assert r.returncode == 1
    assert "tcp/8080 is already published by c1" in r.stderr
    assert "c2" not in net.ruleset()
    r = net.tool("add", "c2", "10.89.0.3", "80:80/sctp", check=False)
    assert r.returncode == 1 and '"80:80/sctp"' in r.stderr


def test_removal_leaves_no_rules(net):
    publish(net)
    net.tool("ensure", net.bridge, "10.89.0.0/24", "fd89::/64")  # idempotent
    assert net.ruleset().count("masquerade") == 4
    net.tool("remove", "c1")
    rules = net.ruleset()
    assert "hull port" not in rules and "dnat ip to" not in rules
    assert net.ask(net.out, "tcp", "198.51.100.1", 8080) is None
    net.tool("release", net.bridge, "used")
    assert "masquerade" in net.ruleset()
    net.tool("release", net.bridge, "unused")
    rules = net.ruleset()
    # no rule is left; the table with its empty base chains stays for the next container
    assert "masquerade" not in rules and "comment" not in rules and "dnat" not in rules
    assert "table inet hull" in rules
    net.tool("remove", "c1")
    net.tool("release", net.bridge, "unused")


def test_end_to_end_run_publish(h):
    """`hull run --net bridge -p` (src/runtime/network*.c) on top of these rules: a port
    published from a container answers on the host's 127.0.0.1, and delete removes it."""
    from test_network import NetNS, net_bundle, start
    ns = NetNS(h)
    try:
        b = net_bundle(h, ("sh", "-c", "while :; do echo hello | nc -l -p 80; done"))
        cid = start(ns, b, "--net", "bridge", "-p", "18080:80")
        rules = ns.sh("nft", "list", "ruleset").stdout
        assert f"hull port {cid} tcp/18080" in rules
        got = None
        for _ in range(50):
            r = ns.sh("python3", "-c", CLIENT, "tcp", "127.0.0.1", "18080", check=False)
            got = r.stdout.strip()
            if got == "hello":
                break
            time.sleep(0.1)
        assert got == "hello"
        ns.ok("delete", "--force", cid)
        rules = ns.sh("nft", "list", "ruleset").stdout
        # The last container took every rule with it; the empty table and its base chains
        # stay for the next one (removing the nat hooks costs RCU grace periods).
        assert "hull port" not in rules and "hull bridge" not in rules
        assert "masquerade" not in rules and "dnat" not in rules
    finally:
        ns.close()


def test_end_to_end_container_reaches_its_own_published_port(h):
    """Hairpin: the container connects to the bridge address's published port and the DNAT
    sends it back to itself through the port it came from (br_netfilter is loaded here)."""
    from test_network import NetNS, net_bundle, start
    ns = NetNS(h)
    try:
        b = net_bundle(h, ("sh", "-c", "while :; do echo hairpin | nc -l -p 80; done"))
        cid = start(ns, b, "--net", "bridge", "-p", "18081:80")
        veth = [l for l in ns.links() if l.startswith("hv")]
        assert len(veth) == 1, ns.links()
        detail = ns.sh("ip", "-d", "link", "show", veth[0]).stdout
        assert "hairpin on" in detail, detail
        got = None
        for _ in range(50):
            r = ns.hull("exec", cid, "sh", "-c", "nc -w 2 10.89.0.1 18081 </dev/null")
            got = r.out.strip()
            if got == "hairpin":
                break
            time.sleep(0.1)
        assert got == "hairpin"
        ns.ok("delete", "--force", cid)
    finally:
        ns.close()
