"""Test images for `hull image`: layers built in memory with tarfile from a busybox-static
rootfs, written out as an OCI image layout, an OCI archive (a tar of the layout) or a
docker-archive (what `docker save` writes), plus hostile and broken variants.

    layers = base_layers(busybox)            # [Layer, ...] the well-formed image
    oci_layout(dir, layers, ref="test:1")    # -> dir
    oci_archive(path, layers) / docker_archive(path, layers)
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

MTIME = 1_600_000_000
CAP_VALUE = bytes.fromhex("0100000200200000000000000000000000000000")  # v2: cap_net_raw+ep

PASSWD = ("root:x:0:0:root:/root:/bin/sh\n"
          "tester:x:1000:1001:tester:/home/tester:/bin/sh\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
GROUP = "root:x:0:\nwheel:x:10:tester\ntester:x:1001:\nnogroup:x:65534:\n"


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layer:
    """A tar built entry by entry; compression picks the blob's encoding."""

    def __init__(self, compression="gzip"):
        self.buf = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buf, mode="w", format=tarfile.PAX_FORMAT)
        self.compression = compression
        self._tar = None

    def _info(self, name, type_, mode, uid=0, gid=0, mtime=MTIME, xattrs=None):
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = type_, mode, uid, gid, mtime
        if xattrs:
            ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape")
                              for k, v in xattrs.items()}
        return ti

    def dir(self, name, mode=0o755, **kw):
        self.tar.addfile(self._info(name, tarfile.DIRTYPE, mode, **kw))
        return self

    def file(self, name, data=b"", mode=0o644, **kw):
        ti = self._info(name, tarfile.REGTYPE, mode, **kw)
        ti.size = len(data)
        self.tar.addfile(ti, io.BytesIO(data))
        return self

    def symlink(self, name, target, **kw):
        ti = self._info(name, tarfile.SYMTYPE, 0o777, **kw)
        ti.linkname = target
        self.tar.addfile(ti)
        return self

    def hardlink(self, name, target, **kw):
        ti = self._info(name, tarfile.LNKTYPE, 0o644, **kw)
        ti.linkname = target
        self.tar.addfile(ti)
        return self

    def node(self, name, type_, major=0, minor=0, mode=0o666, **kw):
        ti = self._info(name, type_, mode, **kw)
        ti.devmajor, ti.devminor = major, minor
        self.tar.addfile(ti)
        return self

    def whiteout(self, path):
        d, _, base = path.rpartition("/")
        return self.file((d + "/" if d else "") + ".wh." + base)

    def opaque(self, d):
        return self.file(d + "/.wh..wh..opq")

    @property
    def tar_bytes(self):
        if self._tar is None:
            self.tar.close()
            self._tar = self.buf.getvalue()
        return self._tar

    @property
    def blob(self):
        if self.compression == "gzip":
            return gzip.compress(self.tar_bytes, mtime=0)
        if self.compression == "zstd":
            return subprocess.run(["zstd", "-q", "-c"], input=self.tar_bytes,
                                  stdout=subprocess.PIPE, check=True).stdout
        return self.tar_bytes

    @property
    def media_type(self):
        suffix = {"gzip": "+gzip", "zstd": "+zstd"}.get(self.compression, "")
        return "application/vnd.oci.image.layer.v1.tar" + suffix


def base_layers(busybox, zstd=True):
    """Three layers exercising every rule: see the comments per layer. zstd=False keeps
    to gzip and plain tar (what umoci 0.4 reads)."""
    bb = open(busybox, "rb").read()
    l1 = Layer("gzip")
    l1.dir("./", 0o755)
    for d in ("bin", "etc", "home", "root", "data", "var", "var/lib", "var/lib/old", "dev",
              "proc", "sys"):
        l1.dir(d, 0o700 if d == "root" else 0o755)
    l1.dir("tmp", 0o1777)
    l1.dir("home/tester", 0o750, uid=1000, gid=1001)
    l1.file("bin/busybox", bb, 0o755)
    for applet in ("sh", "ls", "cat", "echo", "id", "stat", "true"):
        l1.symlink("bin/" + applet, "busybox")
    l1.file("etc/passwd", PASSWD.encode()).file("etc/group", GROUP.encode())
    l1.file("gone", b"deleted by layer 2\n")
    l1.file("changed", b"version 1\n")
    l1.file("data/x", b"x\n").file("data/y", b"y\n").dir("data/sub").file("data/sub/z", b"z")
    l1.file("var/lib/old/a", b"a").file("var/lib/old/b", b"b")
    l1.file("target1", b"one\n").file("target2", b"two\n").symlink("cur", "target1")
    l1.file("hard-src", b"linked\n", 0o640, uid=7, gid=8)
    l1.file("chmod-me", b"c\n", 0o644)
    l1.node("dev/null2", tarfile.CHRTYPE, 1, 3).node("fifo", tarfile.FIFOTYPE, mode=0o600)

    l2 = Layer("zstd" if zstd and shutil.which("zstd") else "gzip")
    l2.whiteout("gone")
    l2.opaque("data").file("data/new", b"new\n")  # x, y and sub hidden; new kept
    l2.file("changed", b"version 2, longer\n", mtime=MTIME + 5)
    l2.hardlink("hard-dst", "hard-src")
    l2.symlink("cur", "target2")  # re-pointed
    l2.file("chmod-me", b"c\n", 0o600)
    l2.file("bin/suid", b"#!/bin/sh\n", 0o4755)
    l2.file("xattr-file", b"x", xattrs={"user.test": b"hello"})
    l2.file("cap-file", b"cap", 0o755, xattrs={"security.capability": CAP_VALUE})
    l2.file("home/tester/own", b"mine", 0o600, uid=1000, gid=1001)

    l3 = Layer("tar")
    l3.whiteout("var/lib/old/a")
    l3.dir("late", 0o711, mtime=MTIME + 100).file("late/f", b"f", mtime=MTIME + 50)
    return [l1, l2, l3]


def image_config(layers, cfg=None):
    cfg = cfg if cfg is not None else {
        "Entrypoint": ["/bin/sh", "-c"],
        "Cmd": ["echo from-image; id -u; id -g; pwd"],
        "Env": ["PATH=/bin", "IMAGE_VAR=1"],
        "WorkingDir": "/home/tester",
        "User": "tester",
        "Labels": {"org.example.label": "yes"},
        "StopSignal": "SIGQUIT",
    }
    return json.dumps({
        "architecture": "amd64", "os": "linux", "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [sha(layer.tar_bytes) for layer in layers]},
    }).encode()


def _put_blob(d, data):
    digest = sha(data)
    p = os.path.join(d, "blobs", "sha256", digest[7:])
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    return digest


def oci_layout(d, layers, ref="test:1", cfg=None, mutate=None):
    """Write the layout; mutate(manifest_dict) may change the manifest before it is
    stored. Returns the manifest dict."""
    os.makedirs(d, exist_ok=True)
    conf = image_config(layers, cfg)
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _put_blob(d, conf), "size": len(conf)},
        "layers": [],
    }
    for layer in layers:
        blob = layer.blob
        manifest["layers"].append({"mediaType": layer.media_type,
                                   "digest": _put_blob(d, blob), "size": len(blob)})
    if mutate:
        mutate(manifest, d)
    mdata = json.dumps(manifest).encode()
    desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": _put_blob(d, mdata), "size": len(mdata),
            "platform": {"architecture": "amd64", "os": "linux"}}
    if ref:
        desc["annotations"] = {"org.opencontainers.image.ref.name": ref}
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [desc]}, f)
    with open(os.path.join(d, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return manifest


def add_ref(d, other_layout, ref):
    """Add the image of another layout to d's index under a second name."""
    idx_path = os.path.join(d, "index.json")
    idx = json.load(open(idx_path))
    other = json.load(open(os.path.join(other_layout, "index.json")))["manifests"][0]
    other["annotations"] = {"org.opencontainers.image.ref.name": ref}
    for root, _, files in os.walk(os.path.join(other_layout, "blobs")):
        for f in files:
            dst = os.path.join(d, "blobs", "sha256", f)
            if not os.path.exists(dst):
                shutil.copy(os.path.join(root, f), dst)
    idx["manifests"].append(other)
    json.dump(idx, open(idx_path, "w"))


def tar_dir(src, path):
    with tarfile.open(path, "w") as t:
        for name in sorted(os.listdir(src)):
            t.add(os.path.join(src, name), arcname=name)
    return path


def oci_archive(path, layers, tmp, **kw):
    d = os.path.join(tmp, os.path.basename(path) + ".layout")
    oci_layout(d, layers, **kw)
    return tar_dir(d, path)


def docker_archive(path, layers, tmp, tags=("test:1",), cfg=None, corrupt_layer=None):
    d = os.path.join(tmp, os.path.basename(path) + ".dir")
    os.makedirs(d)
    conf = image_config(layers, cfg)
    conf_name = hashlib.sha256(conf).hexdigest() + ".json"
    open(os.path.join(d, conf_name), "wb").write(conf)
    paths = []
    for i, layer in enumerate(layers):
        data = layer.tar_bytes
        if corrupt_layer == i:
            data = data[:600] + bytes([data[600] ^ 1]) + data[601:]
        ld = hashlib.sha256(data).hexdigest()
        os.makedirs(os.path.join(d, ld))
        open(os.path.join(d, ld, "layer.tar"), "wb").write(data)
        paths.append(ld + "/layer.tar")
    json.dump([{"Config": conf_name, "RepoTags": list(tags), "Layers": paths}],
              open(os.path.join(d, "manifest.json"), "w"))
    return tar_dir(d, path)


def snapshot(root):
    """path -> (type, mode, uid, gid, size, sha256, link target, xattrs) of a tree."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            kind = {0o040000: "dir", 0o100000: "file", 0o120000: "symlink", 0o020000: "chr",
                    0o060000: "blk", 0o010000: "fifo"}.get(st.st_mode & 0o170000, "other")
            digest = None
            if kind == "file":
                digest = hashlib.sha256(open(p, "rb").read()).hexdigest()
            link = os.readlink(p) if kind == "symlink" else None
            xattrs = {}
            if kind in ("file", "dir"):
                for x in os.listxattr(p, follow_symlinks=False):
                    xattrs[x] = os.getxattr(p, x, follow_symlinks=False)
            out[rel] = (kind, st.st_mode & 0o7777, st.st_uid, st.st_gid,
                        st.st_size if kind == "file" else None, digest, link,
                        tuple(sorted(xattrs.items())), st.st_rdev if kind == "chr" else None)
    return out


# ---- a large image from a directory tree: tests/images/debootstrap-image.sh packs a
# Debian minbase tree with this for test_images_large.py and bench/unpack.

# Bump when tree_layers or pack_tree change what they write: the cached image is remade.
PACK_REV = 2
TREE_CONFIG = {"Cmd": ["/bin/bash"],
               "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}


class TreeLayer(Layer):
    """Entries copied from a directory tree; gzip at level 6 (what Go's and most
    registries' writers use), compressed once: these layers are tens of MB."""

    def __init__(self):
        super().__init__("gzip")
        self._blob = None

    @property
    def blob(self):
        if self._blob is None:
            self._blob = gzip.compress(self.tar_bytes, compresslevel=6, mtime=0)
        return self._blob

    def add(self, path, arcname):
        ti = self.tar.gettarinfo(path, arcname)
        if ti is None:  # a socket: not in images
            return
        if ti.isreg() or ti.isdir():
            xattrs = {x: os.getxattr(path, x, follow_symlinks=False)
                      for x in os.listxattr(path, follow_symlinks=False)}
            if xattrs:
                ti.pax_headers = {"SCHILY.xattr." + k: v.decode("utf-8", "surrogateescape")
                                  for k, v in xattrs.items()}
        if ti.isreg():
            with open(path, "rb") as f:
                self.tar.addfile(ti, f)
        else:
            self.tar.addfile(ti)


def tree_layers(src):
    """Four layers: everything but /usr, /usr/lib, the rest of /usr, and a small last
    layer that changes files, deletes some (whiteouts), makes /var/log opaque, re-points
    a symlink and changes a mode, as an image built in steps would."""

    def which(rel):
        if rel == "usr/lib" or rel.startswith("usr/lib/"):
            return 1
        return 2 if rel.startswith("usr/") else 0

    layers = [TreeLayer(), TreeLayer(), TreeLayer()]
    layers[0].add(src, ".")
    for dirpath, dirs, files in os.walk(src):
        dirs.sort()
        for name in dirs + sorted(files):
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, src)
            layers[which(rel)].add(p, rel)
    top = TreeLayer()
    top.file("etc/hostname", b"hull-minbase\n")
    top.file("etc/motd", b"a hull test image\n", 0o600)
    for d in sorted(os.listdir(os.path.join(src, "usr/share/doc")))[:5]:
        top.whiteout("usr/share/doc/" + d)
    top.whiteout("etc/issue.net")
    top.opaque("var/log").file("var/log/minbase.log", b"fresh\n")
    top.symlink("etc/localtime", "/usr/share/zoneinfo/UTC")
    return layers + [top]


def pack_tree(src, layout, docker, ref="minbase", tag="minbase:latest"):
    """The tree as an OCI layout (gzip layers) and as a docker-archive (plain layer
    tars, as `docker save` writes) of the same four layers."""
    layers = tree_layers(src)
    oci_layout(layout, layers, ref=ref, cfg=TREE_CONFIG)
    tmp = docker + ".parts"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        docker_archive(docker, layers, tmp, tags=(tag,), cfg=TREE_CONFIG)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return layers


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["pack-rev"]:
        print(PACK_REV)
    elif sys.argv[1:2] == ["pack-tree"] and len(sys.argv) == 5:
        packed = pack_tree(*sys.argv[2:5])
        print("imagegen: %d layers, %.1f MB gzip, %.1f MB tar" % (
            len(packed), sum(len(x.blob) for x in packed) / 1e6,
            sum(len(x.tar_bytes) for x in packed) / 1e6), file=sys.stderr)
    else:
        sys.exit("usage: imagegen.py pack-rev | pack-tree SRC LAYOUT DOCKER_TAR")
