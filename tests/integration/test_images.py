"""hull image unpack / inspect: OCI layouts, OCI archives and docker-archives made by
imagegen.py; results compared file by file, with umoci when installed; hostile and broken
images refused with one line and nothing left behind."""

import json
import os
import shutil
import subprocess
import tarfile

import pytest

import imagegen as g
from conftest import BUSYBOX


@pytest.fixture
def layers():
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not found: install Debian's busybox-static")
    return g.base_layers(BUSYBOX)


def make_source(h, kind, layers, **kw):
    t = str(h.tmp)
    if kind == "layout":
        d = os.path.join(t, "layout")
        g.oci_layout(d, layers, **kw)
        return d
    if kind == "oci-archive":
        return g.oci_archive(os.path.join(t, "image.oci.tar"), layers, t, **kw)
    return g.docker_archive(os.path.join(t, "image.docker.tar"), layers, t)


def unpack(h, source, bundle, *extra):
    return h.run("image", "unpack", *extra, source, bundle, root=False, timeout=120)


def leftovers(h):
    return sorted(p.name for p in h.tmp.iterdir() if ".tmp-" in p.name or p.name.startswith(".hull-image"))


def check_tree(snap):
    assert "gone" not in snap
    assert sorted(k for k in snap if k.startswith("data/")) == ["data/new"]
    assert snap["changed"][4] == len(b"version 2, longer\n")
    assert snap["cur"][6] == "target2"
    assert snap["chmod-me"][1] == 0o600
    assert snap["bin/suid"][1] == 0o4755
    assert snap["hard-src"][2:4] == (7, 8) and snap["hard-src"][1] == 0o640
    assert snap["home/tester/own"][2:4] == (1000, 1001)
    assert dict(snap["xattr-file"][7]) == {"user.test": b"hello"}
    assert dict(snap["cap-file"][7]) == {"security.capability": g.CAP_VALUE}
    assert snap["dev/null2"][0] == "chr" and snap["dev/null2"][8] == os.makedev(1, 3)
    assert snap["fifo"][0] == "fifo"
    assert snap["tmp"][1] == 0o1777
    assert "var/lib/old/a" not in snap and "var/lib/old/b" in snap
    assert snap["late"][1] == 0o711


@pytest.mark.parametrize("kind", ["layout", "oci-archive", "docker-archive"])
def test_unpack_formats(h, layers, kind):
    src = make_source(h, kind, layers)
    bundle = h.tmp / "bundle"
    r = unpack(h, src, bundle)
    assert r.rc == 0, r
    snap = g.snapshot(bundle / "rootfs")
    check_tree(snap)
    rootfs = bundle / "rootfs"
    assert os.stat(rootfs / "hard-src").st_ino == os.stat(rootfs / "hard-dst").st_ino
    assert os.stat(rootfs / "late").st_mtime == g.MTIME + 100
    assert os.stat(rootfs / "changed").st_mtime == g.MTIME + 5
    cfg = json.loads((bundle / "config.json").read_text())
    p = cfg["process"]
    assert p["args"] == ["/bin/sh", "-c", "echo from-image; id -u; id -g; pwd"]
    assert p["user"] == {"uid": 1000, "gid": 1001, "additionalGids": [10]}
    assert p["cwd"] == "/home/tester" and p["terminal"] is False
    assert "PATH=/bin" in p["env"] and "IMAGE_VAR=1" in p["env"]
    assert "HOME=/home/tester" in p["env"]
    assert cfg["annotations"]["org.example.label"] == "yes"
    assert cfg["annotations"]["org.opencontainers.image.stopSignal"] == "SIGQUIT"
    assert leftovers(h) == []
    # a container runs from it
    cid = h.new_id()
    r = h.run("run", "-b", bundle, cid)
    assert r.rc == 0, r
    assert r.out.split() == ["from-image", "1000", "1001", "/home/tester"]


def test_formats_agree(h, layers):
    snaps = []
    for kind in ("layout", "oci-archive", "docker-archive"):
        b = h.tmp / ("b-" + kind)
        assert unpack(h, make_source(h, kind, layers), b).rc == 0
        snaps.append(g.snapshot(b / "rootfs"))
    assert snaps[0] == snaps[1] == snaps[2]


@pytest.mark.skipif(shutil.which("umoci") is None, reason="umoci not installed")
def test_same_as_umoci(h):
    if not BUSYBOX.is_file():
        pytest.skip("no busybox")
    layers = g.base_layers(BUSYBOX, zstd=False)
    src = make_source(h, "layout", layers)
    assert unpack(h, src, h.tmp / "ours").rc == 0
    subprocess.run(["umoci", "unpack", "--image", src + ":test:1", str(h.tmp / "theirs")],
                   check=True, capture_output=True)
    ours, theirs = g.snapshot(h.tmp / "ours/rootfs"), g.snapshot(h.tmp / "theirs/rootfs")
    diff = {k: (ours.get(k), theirs.get(k)) for k in set(ours) | set(theirs)
            if ours.get(k) != theirs.get(k)}
    assert diff == {}


def test_ref_and_inspect(h, layers):
    src = make_source(h, "layout", layers, ref="one")
    other = str(h.tmp / "other")
    g.oci_layout(other, layers[:1], ref="x")
    g.add_ref(src, other, "two")
    r = unpack(h, src, h.tmp / "b0")
    assert r.rc == 1 and "--ref" in r.err and len(r.err.strip().splitlines()) == 1
    assert not (h.tmp / "b0").exists()
    assert unpack(h, src, h.tmp / "b2", "--ref", "two").rc == 0
    assert (h.tmp / "b2/rootfs/gone").exists()  # layer 1 only: not whited out
    r = unpack(h, src, h.tmp / "b3", "--ref", "nope")
    assert r.rc == 1 and "no image named nope" in r.err
    r = h.run("image", "inspect", "--ref", "one", src, root=False)
    assert r.rc == 0, r
    info = r.json()
    assert info["format"] == "oci-layout" and len(info["layers"]) == 3
    assert [x["size"] for x in info["layers"]] == [len(x.blob) for x in layers]
    assert info["config"]["config"]["User"] == "tester"
    r = h.run("image", "inspect", make_source(h, "docker-archive", layers), root=False)
    assert r.rc == 0 and r.json()["format"] == "docker-archive"
    assert leftovers(h) == []


def test_uid_map(h, layers):
    src = make_source(h, "layout", layers)
    b = h.tmp / "b"
    assert unpack(h, src, b, "--uid-map", "0:100000:65536", "--gid-map", "0:200000:65536").rc == 0
    st = os.lstat(b / "rootfs/home/tester/own")
    assert (st.st_uid, st.st_gid) == (101000, 201001)
    assert os.lstat(b / "rootfs/bin/busybox").st_uid == 100000
    assert os.stat(b / "rootfs/bin/suid").st_mode & 0o7777 == 0o4755
    r = unpack(h, src, h.tmp / "b2", "--uid-map", "0:100000:10")
    assert r.rc == 1 and "outside" in r.err and not (h.tmp / "b2").exists()


# ---- hostile layers


def hostile(h, layers, evil, kind="layout"):
    src = make_source(h, kind, layers[:1] + [evil])
    b = h.tmp / "hb"
    return unpack(h, src, b), b


def refused(h, r, b, words):
    assert r.rc == 1, r
    assert len(r.err.strip().splitlines()) == 1, r.err
    assert words in r.err, r.err
    assert not b.exists() and leftovers(h) == []


def test_dotdot_refused(h, layers):
    outside = h.tmp / "escaped"
    r, b = hostile(h, layers, g.Layer("tar").file("../../escaped", b"x"))
    refused(h, r, b, '".."')
    assert not outside.exists()


def test_absolute_made_relative(h, layers):
    target = h.tmp / "abs-target"
    r, b = hostile(h, layers, g.Layer("tar").file(str(target), b"x"))
    assert r.rc == 0, r
    assert not target.exists()
    assert (b / "rootfs" / str(target).lstrip("/")).read_bytes() == b"x"


@pytest.mark.parametrize("link", ["abs", "rel"])
def test_symlink_write_through(h, layers, link):
    host = h.tmp / "hostdir"
    host.mkdir()
    to = str(host) if link == "abs" else "../../../../../../../../" + str(host).lstrip("/")
    evil = g.Layer("tar").symlink("esc", to).file("esc/pwned", b"x")
    evil.symlink("f", str(host / "file")).file("f", b"replaced")  # a symlink replaced
    r, b = hostile(h, layers, evil)
    assert r.rc == 0, r
    assert list(host.iterdir()) == []
    assert (b / "rootfs" / str(host).lstrip("/") / "pwned").exists()
    assert (b / "rootfs/f").read_bytes() == b"replaced"


def test_symlink_from_earlier_layer(h, layers):
    host = h.tmp / "hostdir2"
    host.mkdir()
    l2 = g.Layer("tar").symlink("etc2", str(host))
    l3 = g.Layer("gzip").file("etc2/pwned", b"x").dir("etc2/sub").file("etc2/sub/y", b"y")
    src = make_source(h, "layout", layers[:1] + [l2, l3])
    r = unpack(h, src, h.tmp / "b")
    assert r.rc == 0, r
    assert list(host.iterdir()) == []


def test_symlink_dir_traversal(h, layers):
    victim = h.tmp / "trav"
    evil = g.Layer("tar").symlink("up", "../../../../../../../../../../")
    evil.file("up" + str(victim), b"x")
    r, b = hostile(h, layers, evil)
    assert r.rc == 0, r
    assert not victim.exists()


def test_hardlink_outside_refused(h, layers):
    r, b = hostile(h, layers, g.Layer("tar").hardlink("shadow", "/etc/shadow"))
    refused(h, r, b, "hard link")
    r, b = hostile(h, layers, g.Layer("tar").hardlink("shadow", "../../../etc/shadow"))
    refused(h, r, b, '".."')


# ---- broken images


def test_corrupt_digest(h, layers):
    def corrupt(m, d):
        p = os.path.join(d, "blobs/sha256", m["layers"][1]["digest"][7:])
        data = bytearray(open(p, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(p, "wb").write(data)

    src = make_source(h, "layout", layers, mutate=corrupt)
    b = h.tmp / "b"
    refused(h, unpack(h, src, b), b, "digest mismatch")


def test_truncated_gzip(h, layers):
    def truncate(m, d):
        desc = m["layers"][0]
        data = open(os.path.join(d, "blobs/sha256", desc["digest"][7:]), "rb").read()
        data = data[: len(data) // 2]
        desc["digest"], desc["size"] = g._put_blob(d, data), len(data)

    b = h.tmp / "b"
    refused(h, unpack(h, make_source(h, "layout", layers, mutate=truncate), b), b, "layer")


def test_unknown_media_type(h, layers):
    def odd(m, d):
        m["layers"][0]["mediaType"] = "application/x-weird"

    b = h.tmp / "b"
    refused(h, unpack(h, make_source(h, "layout", layers, mutate=odd), b), b,
            "unknown media type")


def test_missing_blob(h, layers):
    def drop(m, d):
        os.unlink(os.path.join(d, "blobs/sha256", m["layers"][2]["digest"][7:]))

    b = h.tmp / "b"
    refused(h, unpack(h, make_source(h, "layout", layers, mutate=drop), b), b, "missing blob")


def test_docker_diff_id_mismatch(h, layers):
    t = str(h.tmp)
    src = g.docker_archive(os.path.join(t, "bad.tar"), layers, t, corrupt_layer=1)
    b = h.tmp / "b"
    refused(h, unpack(h, src, b), b, "digest mismatch")


def test_bad_sources(h, layers):
    b = h.tmp / "b"
    refused(h, unpack(h, h.tmp / "nonexistent", b), b, "nonexistent")
    junk = h.tmp / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    refused(h, unpack(h, junk, b), b, "junk.tar")
    empty = h.tmp / "empty"
    empty.mkdir()
    refused(h, unpack(h, empty, b), b, "neither")
    src = make_source(h, "layout", layers)
    (h.tmp / "exists").mkdir()
    r = unpack(h, src, h.tmp / "exists")
    assert r.rc == 1 and "exists" in r.err and leftovers(h) == []
