"""The large test image: a Debian bookworm `debootstrap --variant=minbase` tree (about
200 MB, 6,700 files) packed as an OCI layout and as a docker-archive of the same four
layers (tests/images/debootstrap-image.sh, cached; scripts/install-deps.sh test makes
it). Each format unpacked by hull is compared file by file with the source tree plus the
last layer's changes, and with `umoci unpack` of the layout; a container runs from each;
`run --image` twice extracts nothing the second time."""

import hashlib
import json
import os
import re
import shutil
import subprocess

import pytest

import imagegen as g
from conftest import HULL_BIN, REPO

SCRIPT = REPO / "tests" / "images" / "debootstrap-image.sh"
# The script bounds its own network steps; this is the backstop for a first build.
BUILD_TIMEOUT = 1500
CMD = "cat /etc/debian_version; /usr/bin/dpkg --version | head -1"
DPKG_LINE = re.compile(r"^Debian 'dpkg' package management program version 1\.21\.\S+ \(amd64\)\.$")
KINDS = ["layout", "docker-archive"]


@pytest.fixture(scope="module")
def big():
    """{ROOTFS, LAYOUT, DOCKER, REF} of the cached image, made first if need be."""
    try:
        r = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.skip(f"{SCRIPT.name} took more than {BUILD_TIMEOUT}s (slow mirror?)")
    why = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
    if r.returncode == 2:  # this machine cannot: no mirror, no debootstrap, not root
        pytest.skip(f"no large test image: {why}")
    assert r.returncode == 0, f"{SCRIPT} failed ({r.returncode}): {r.stderr[-2000:]}"
    out = dict(line.split("=", 1) for line in r.stdout.split())
    assert set(out) == {"ROOTFS", "LAYOUT", "DOCKER", "REF"}, r.stdout
    return out


def hull_unpack(src, dest):
    r = subprocess.run([str(HULL_BIN), "image", "unpack", src, str(dest)], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr


class Trees:
    """Each format unpacked once per module, its snapshot, and umoci's; the trees are
    removed with the module (they are large), the bundles kept until then for runs."""

    def __init__(self, big, tmp):
        self.big, self.tmp = big, tmp
        self.bundles, self.snaps = {}, {}

    def bundle(self, kind):
        if kind not in self.bundles:
            b = self.tmp / ("hull-" + kind)
            hull_unpack(self.big["LAYOUT" if kind == "layout" else "DOCKER"], b)
            self.bundles[kind] = b
        return self.bundles[kind]

    def snapshot(self, kind):
        if kind not in self.snaps:
            if kind == "umoci":
                b = self.tmp / "umoci"
                subprocess.run(["umoci", "unpack", "--image",
                                f"{self.big['LAYOUT']}:{self.big['REF']}", str(b)],
                               check=True, capture_output=True, timeout=300)
                self.snaps[kind] = g.snapshot(b / "rootfs")
                shutil.rmtree(b)
            elif kind == "source":
                self.snaps[kind] = g.snapshot(self.big["ROOTFS"])
            else:
                self.snaps[kind] = g.snapshot(self.bundle(kind) / "rootfs")
        return self.snaps[kind]


@pytest.fixture(scope="module")
def trees(big, tmp_path_factory):
    t = Trees(big, tmp_path_factory.mktemp("large"))
    yield t
    shutil.rmtree(t.tmp, ignore_errors=True)


def file_entry(data, mode=0o644):
    return ("file", mode, 0, 0, len(data), hashlib.sha256(data).hexdigest(), None, (), None)


def expected_tree(source, rootfs):
    """The source tree with what imagegen.tree_layers' last layer does to it."""
    exp = {k: v for k, v in source.items() if v[0] != "other"}  # sockets are not packed
    gone = ["etc/issue.net"] + ["usr/share/doc/" + d for d in
                                sorted(os.listdir(os.path.join(rootfs, "usr/share/doc")))[:5]]
    gone += [k for k in exp if k.startswith("var/log/")]  # opaque: only the new file stays
    for path in gone:
        for k in [k for k in exp if k == path or k.startswith(path + "/")]:
            del exp[k]
    exp["etc/hostname"] = file_entry(b"hull-minbase\n")
    exp["etc/motd"] = file_entry(b"a hull test image\n", 0o600)
    exp["var/log/minbase.log"] = file_entry(b"fresh\n")
    exp["etc/localtime"] = ("symlink", 0o777, 0, 0, None, None, "/usr/share/zoneinfo/UTC", (),
                            None)
    return exp


def differences(a, b):
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return {k: (a.get(k), b.get(k)) for k in keys[:10]}, len(keys)


@pytest.mark.parametrize("kind", KINDS)
def test_unpack_is_source_plus_last_layer(big, trees, kind):
    ours = trees.snapshot(kind)
    assert len(ours) > 5000
    assert differences(ours, expected_tree(trees.snapshot("source"), big["ROOTFS"])) == ({}, 0)


@pytest.mark.skipif(shutil.which("umoci") is None, reason="umoci not installed")
@pytest.mark.parametrize("kind", KINDS)
def test_same_as_umoci(trees, kind):
    assert differences(trees.snapshot(kind), trees.snapshot("umoci")) == ({}, 0)


def debian_version(big):
    with open(os.path.join(big["ROOTFS"], "etc/debian_version")) as f:
        return f.read().strip()


def check_output(big, out):
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert re.fullmatch(r"12\.\d+", lines[0]) and lines[0] == debian_version(big), out
    assert DPKG_LINE.match(lines[1]), out


@pytest.mark.parametrize("kind", KINDS)
def test_container_runs(h, big, trees, kind):
    b = trees.bundle(kind)
    cfg = json.loads((b / "config.json").read_text())
    assert cfg["process"]["args"] == ["/bin/bash"]
    cfg["process"]["args"] = ["/bin/sh", "-c", CMD]
    (b / "config.json").write_text(json.dumps(cfg))
    r = h.run("run", "-b", b, h.new_id(), timeout=60)
    assert r.rc == 0, r
    check_output(big, r.out)


def log_layers(path):
    """[(digest, "cached"|"unpacked")] from a --debug log."""
    return re.findall(r"layer (sha256:[0-9a-f]{64}) (cached|unpacked)", open(path).read())


@pytest.fixture
def drop_store(h):
    """The store's layers are as large as the image: gone with the test, whatever it did."""
    yield
    shutil.rmtree(h.root / "images", ignore_errors=True)


def test_run_image_twice(h, big, drop_store):
    logs = [h.tmp / "run1.log", h.tmp / "run2.log"]
    for log in logs:
        r = h.run("--debug", "--log", log, "run", "--rm", "--image", big["LAYOUT"], h.new_id(),
                  "--", "/bin/sh", "-c", CMD, timeout=120)
        assert r.rc == 0, r
        check_output(big, r.out)
    first, second = log_layers(logs[0]), log_layers(logs[1])
    assert len(first) == 4 and {s for _, s in first} == {"unpacked"}, first
    assert second == [(d, "cached") for d, _ in first], second
    assert not list((h.root / "images" / "containers").iterdir())
    h.ok("image", "rm", big["LAYOUT"])
    assert not list((h.root / "images" / "layers").iterdir())
