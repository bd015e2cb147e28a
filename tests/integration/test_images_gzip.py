"""gzip layers, decoded by hull's own igzip reader thread (src/images/gunzip.c, stream.c):
gzip encodings other writers produce (several members, optional header fields), and
every way a gzip blob can be broken, each refused with one line naming the blob and
nothing left behind. The blobs are re-encoded here with zlib, so the tar inside is the
same as imagegen's and only the gzip framing changes."""

import hashlib
import json
import os
import struct
import zlib

import pytest

import imagegen as g
from conftest import BUSYBOX

FHCRC, FEXTRA, FNAME, FCOMMENT = 0x02, 0x04, 0x08, 0x10


@pytest.fixture
def layers():
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not found: install Debian's busybox-static")
    return g.base_layers(BUSYBOX)


def member(data, flags=0, level=6):
    """One gzip member (RFC 1952) of data with the header fields flags asks for."""
    h = bytearray(b"\x1f\x8b\x08") + bytes([flags]) + b"\0\0\0\0\0\xff"
    if flags & FEXTRA:
        h += struct.pack("<H", 9) + b"hl\x05\x00extra"
    if flags & FNAME:
        h += b"layer.tar\0"
    if flags & FCOMMENT:
        h += b"made by test_images_gzip\0"
    if flags & FHCRC:
        h += struct.pack("<H", zlib.crc32(bytes(h)) & 0xFFFF)
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    body = c.compress(data) + c.flush()
    return bytes(h) + body + struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)


def reencode(i, make):
    """An oci_layout mutate: layer i's blob becomes make(tar bytes, blob), its descriptor's
    digest and size follow (so only the gzip itself can be at fault)."""
    def mutate(m, d):
        desc = m["layers"][i]
        path = os.path.join(d, "blobs/sha256", desc["digest"][7:])
        tar = zlib.decompress(open(path, "rb").read(), 16 + 15)
        data = make(tar, open(path, "rb").read())
        desc["digest"], desc["size"] = g._put_blob(d, data), len(data)
    return mutate


def layout(h, layers, mutate=None, name="layout"):
    d = str(h.tmp / name)
    g.oci_layout(d, layers, mutate=mutate)
    return d


def unpack(h, source, bundle):
    return h.run("image", "unpack", source, bundle, root=False, timeout=120)


def leftovers(h):
    return sorted(p.name for p in h.tmp.iterdir()
                  if ".tmp-" in p.name or p.name.startswith(".hull-image"))


def refused(h, source, words):
    b = h.tmp / "refused"
    r = unpack(h, source, b)
    assert r.rc == 1, r
    assert len(r.err.strip().splitlines()) == 1, r.err
    for w in words:
        assert w in r.err, r.err
    assert not b.exists() and leftovers(h) == []
    return r


def test_members_and_header_fields(h, layers):
    """Three members, split at odd offsets, with FEXTRA, FNAME, FCOMMENT and FHCRC: the
    same tree as the plain image."""
    def split(tar, blob):
        a, b = len(tar) // 3 + 7, 2 * len(tar) // 3 + 1
        return (member(tar[:a], FEXTRA | FNAME) + member(tar[a:b], FCOMMENT | FHCRC, 1)
                + member(b"", 0) + member(tar[b:], FEXTRA | FNAME | FCOMMENT | FHCRC, 9))

    assert unpack(h, layout(h, layers), h.tmp / "plain").rc == 0
    r = unpack(h, layout(h, layers, reencode(0, split), "members"), h.tmp / "b-members")
    assert r.rc == 0, r
    assert g.snapshot(h.tmp / "b-members/rootfs") == g.snapshot(h.tmp / "plain/rootfs")


def test_large_layer(h, layers):
    """More decoded bytes than the reader's ring of buffers holds, in one file and in
    many small ones."""
    big = hashlib.sha256(b"seed").digest() * (300 * 1024)  # 9.4 MiB
    lay = g.Layer("gzip").file("big", big)
    for i in range(2000):
        lay.file(f"many/f{i}", (b"%d\n" % i) * (i % 50))
    r = unpack(h, layout(h, layers[:1] + [lay]), h.tmp / "b")
    assert r.rc == 0, r
    root = h.tmp / "b/rootfs"
    assert hashlib.sha256((root / "big").read_bytes()).digest() == hashlib.sha256(big).digest()
    assert len(os.listdir(root / "many")) == 2000
    assert (root / "many/f1999").read_bytes() == b"1999\n" * 49


def test_truncated_after_the_tar(h, layers):
    """The tar inside is whole but the gzip trailer is cut: only the end check sees it."""
    src = layout(h, layers, reencode(0, lambda tar, blob: blob[:-4]))
    refused(h, src, ["truncated", "sha256:"])


def test_truncated_mid_member(h, layers):
    src = layout(h, layers, reencode(0, lambda tar, blob: member(tar)[: len(blob) // 3]))
    refused(h, src, ["truncated", "sha256:"])


def test_corrupt_deflate_data(h, layers):
    def corrupt(tar, blob):
        data = bytearray(member(tar))
        data[len(data) // 2] ^= 0x55
        return bytes(data)

    refused(h, layout(h, layers, reencode(0, corrupt)), ["gzip", "sha256:"])


def test_crc_mismatch(h, layers):
    def bad_crc(tar, blob):
        data = bytearray(member(tar))
        data[-8] ^= 1
        return bytes(data)

    refused(h, layout(h, layers, reencode(0, bad_crc)), ["CRC", "sha256:"])


@pytest.mark.parametrize("tail", [b"garbage", b"\0" * 1024])
def test_trailing_garbage(h, layers, tail):
    src = layout(h, layers, reencode(0, lambda tar, blob: blob + tail))
    refused(h, src, ["trailing garbage", "sha256:"])


def test_wrong_digest_wins(h, layers):
    """A damaged blob whose descriptor was not updated: named by its digest mismatch,
    whatever the damaged deflate data made the decoder say first."""
    def damage(m, d):
        p = os.path.join(d, "blobs/sha256", m["layers"][0]["digest"][7:])
        data = bytearray(open(p, "rb").read())
        for k in range(100, len(data) - 100, 997):
            data[k] ^= 0xA5
        open(p, "wb").write(data)

    refused(h, layout(h, layers, damage), ["digest mismatch"])


def test_fs_error_stops_the_reader(h, layers):
    """An entry fails early while the reader still has megabytes to decode: the error
    comes back at once and the reader thread does not hold the unpack up."""
    lay = g.Layer("gzip").hardlink("shadow", "/etc/shadow")
    lay.file("big", hashlib.sha256(b"x").digest() * (400 * 1024))
    refused(h, layout(h, layers[:1] + [lay]), ["hard link"])


def docker_archive_gz(path, layers, tmp, corrupt_layer=None):
    """A docker-archive whose layer.tar files are gzip: checked against the diff_ids,
    the digests of the tars inside."""
    d = os.path.join(tmp, os.path.basename(path) + ".dir")
    os.makedirs(d)
    conf = g.image_config(layers)
    conf_name = hashlib.sha256(conf).hexdigest() + ".json"
    open(os.path.join(d, conf_name), "wb").write(conf)
    paths = []
    for i, layer in enumerate(layers):
        tar = layer.tar_bytes
        if corrupt_layer == i:
            tar = tar[:600] + bytes([tar[600] ^ 1]) + tar[601:]
        data = member(tar[:1000], FNAME) + member(tar[1000:])
        ld = hashlib.sha256(data).hexdigest()
        os.makedirs(os.path.join(d, ld))
        open(os.path.join(d, ld, "layer.tar"), "wb").write(data)
        paths.append(ld + "/layer.tar")
    json.dump([{"Config": conf_name, "RepoTags": ["test:1"], "Layers": paths}],
              open(os.path.join(d, "manifest.json"), "w"))
    return g.tar_dir(d, path)


def test_docker_archive_gzip_layers(h, layers):
    t = str(h.tmp)
    assert unpack(h, layout(h, layers), h.tmp / "plain").rc == 0
    src = docker_archive_gz(os.path.join(t, "gz.tar"), layers, t)
    r = unpack(h, src, h.tmp / "b")
    assert r.rc == 0, r
    assert g.snapshot(h.tmp / "b/rootfs") == g.snapshot(h.tmp / "plain/rootfs")
    bad = docker_archive_gz(os.path.join(t, "bad.tar"), layers, t, corrupt_layer=0)
    refused(h, bad, ["digest mismatch"])
