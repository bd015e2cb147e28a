"""hull run --image and the image store under --root/images: layers unpacked once in
overlayfs's format and shared, an overlay root per container, image ls / rm, and
nothing left behind by a failure (conftest's leak check also looks inside the store)."""

import json
import os
import re
import signal
import time

import pytest

import imagegen as g
from conftest import BUSYBOX, assert_error, pid_alive, wait_for

# What the test image's Entrypoint ["/bin/sh", "-c"] + Cmd print (imagegen.image_config).
DEFAULT_OUT = "from-image\n1000\n1001\n/home/tester\n"
# Read from inside: every rule of the three layers, through the overlay.
RULES = ("cat /changed; ls /data; ls /var/lib/old; test -e /gone || echo gone-ok; "
         "stat -c %a /chmod-me /bin/suid; readlink /cur; "
         "test $(stat -c %i /hard-src) = $(stat -c %i /hard-dst) && echo same-inode")
RULES_OUT = "version 2, longer\nnew\nb\ngone-ok\n600\n4755\ntarget2\nsame-inode\n"
# As the image's user (tester): also its own file in its 0750 home.
PROBE = RULES + "; stat -c %u:%g /home/tester/own"
PROBE_OUT = RULES_OUT + "1000:1001\n"


@pytest.fixture
def layers():
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not found: install Debian's busybox-static")
    return g.base_layers(BUSYBOX)


def make_source(h, kind, layers, name="image", **kw):
    t = str(h.tmp)
    if kind == "layout":
        d = os.path.join(t, name)
        g.oci_layout(d, layers, **kw)
        return d
    if kind == "oci-archive":
        return g.oci_archive(os.path.join(t, name + ".oci.tar"), layers, t, **kw)
    return g.docker_archive(os.path.join(t, name + ".docker.tar"), layers, t, **kw)


def store(h):
    return h.root / "images"


def layer_dirs(h):
    d = store(h) / "layers"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def records(h):
    d = store(h) / "refs"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def containers(h):
    d = store(h) / "containers"
    return sorted(p.name for p in d.iterdir()) if d.exists() else []


def our_mounts(h):
    return [line for line in open("/proc/self/mountinfo") if str(h.root) in line]


def run_image(h, image, *cmd, extra=(), cid=None, log=None, timeout=60):
    cid = cid or h.new_id()
    glob = ("--debug", "--log", log) if log else ()
    args = [*glob, "run", *extra, "--image", image, cid]
    if cmd:
        args += ["--", *cmd]
    r = h.run(*args, timeout=timeout)
    r.cid = cid
    return r


def log_layers(path):
    """{digest: "cached"|"unpacked"} from a --debug log."""
    out = {}
    for m in re.finditer(r"layer (sha256:[0-9a-f]{64}) (cached|unpacked)", open(path).read()):
        out[m.group(1)] = m.group(2)
    return out


@pytest.mark.parametrize("kind", ["layout", "oci-archive", "docker-archive"])
def test_run_each_format(h, layers, kind):
    src = make_source(h, kind, layers)
    r = run_image(h, src, extra=["--rm"])
    assert r.rc == 0 and r.out == DEFAULT_OUT, r
    r = run_image(h, src, PROBE, extra=["--rm"])
    assert r.rc == 0 and r.out == PROBE_OUT, r
    assert containers(h) == [] and len(records(h)) == 1
    assert not our_mounts(h)


def test_second_run_unpacks_nothing(h, layers):
    src = make_source(h, "layout", layers)
    log1, log2 = h.tmp / "run1.log", h.tmp / "run2.log"
    r = run_image(h, src, extra=["--rm"], log=log1)
    assert r.rc == 0 and r.out == DEFAULT_OUT, r
    first = log_layers(log1)
    assert len(first) == 3 and set(first.values()) == {"unpacked"}, first
    before = {k: os.stat(store(h) / "layers" / k / "root") for k in layer_dirs(h)}
    assert len(before) == 3
    # The layer blobs are not read again: damaged now, the stored layers still serve.
    manifest = json.load(open(os.path.join(src, "index.json")))["manifests"][0]
    m = json.load(open(os.path.join(src, "blobs/sha256", manifest["digest"][7:])))
    for desc in m["layers"]:
        blob = os.path.join(src, "blobs/sha256", desc["digest"][7:])
        with open(blob, "r+b") as f:
            f.truncate(10)
    r = run_image(h, src, extra=["--rm"], log=log2)
    assert r.rc == 0 and r.out == DEFAULT_OUT, r
    second = log_layers(log2)
    assert second == {d: "cached" for d in first}, second
    after = {k: os.stat(store(h) / "layers" / k / "root") for k in layer_dirs(h)}
    for k, st in before.items():
        assert (after[k].st_ino, after[k].st_mtime_ns) == (st.st_ino, st.st_mtime_ns), k


def test_overlay_rules_and_writes_stay_in_upper(h, layers):
    src = make_source(h, "layout", layers, cfg={"Entrypoint": ["/bin/sh", "-c"]})  # root
    assert run_image(h, src, "true", extra=["--rm"]).rc == 0
    snap_before = g.snapshot(store(h) / "layers")
    cid = h.new_id()
    r = run_image(h, src, RULES + "; echo w > /written; rm /changed; rm -r /data; "
                  "mkdir /data; echo fresh > /data/only", cid=cid)
    assert r.rc == 0 and r.out == RULES_OUT, r
    # Kept (no --rm): stopped, with its root still mounted until `hull delete`.
    assert h.state(cid)["status"] == "stopped"
    bundle = store(h) / "containers" / cid
    upper = bundle / "upper"
    assert (upper / "written").read_text() == "w\n"
    st = os.lstat(upper / "changed")  # overlayfs's whiteout for a deleted lower file
    assert (st.st_mode & 0o170000) == 0o020000 and st.st_rdev == 0
    assert sorted(os.listdir(bundle / "rootfs" / "data")) == ["only"]
    assert g.snapshot(store(h) / "layers") == snap_before
    cfg = json.loads((bundle / "config.json").read_text())
    assert cfg["annotations"]["org.hull.image.source"] == src
    assert cfg["root"]["readonly"] is False
    assert our_mounts(h)
    h.ok("delete", cid)
    assert containers(h) == [] and not our_mounts(h)
    # The next container starts from the image again, not from the last one's writes.
    r = run_image(h, src, "cat /changed; ls /data", extra=["--rm"])
    assert r.out == "version 2, longer\nnew\n", r


def root_mount_options(r):
    """The overlay's super options of the root, from a container's /proc/self/mountinfo."""
    line = next(l for l in r.out.splitlines() if l.split()[4] == "/")
    assert " - overlay " in line, line
    return line.split(" - ")[1].split()[2].split(",")


def test_rm_root_skips_syncs(h, layers):
    """--rm: the upper directory goes with the run, so the overlay is volatile (no sync
    of the upper file system at unmount or on the container's fsync); a kept container's
    root keeps the usual syncs. Kernels say "volatile" (5.10) or "fsync=volatile"."""
    src = make_source(h, "layout", layers)
    r = run_image(h, src, "cat /proc/self/mountinfo", extra=["--rm"])
    assert r.rc == 0, r
    assert any(o in ("volatile", "fsync=volatile") for o in root_mount_options(r)), r.out
    r = run_image(h, src, "cat /proc/self/mountinfo")
    assert r.rc == 0, r
    assert not any("volatile" in o for o in root_mount_options(r)), r.out
    h.ok("delete", r.cid)
    assert containers(h) == [] and not our_mounts(h)


def usrmerge_layers():
    """A top layer writing through a lower symlink (bin -> usr/bin) and below a lower
    directory it does not list (etc, 0700)."""
    bb = open(BUSYBOX, "rb").read()
    l1 = g.Layer("gzip").dir("./").dir("usr").dir("usr/bin").file("usr/bin/busybox", bb, 0o755)
    l1.symlink("bin", "usr/bin").dir("etc", 0o700).file("etc/f", b"f")
    l2 = g.Layer("tar").file("bin/tool", b"tool", 0o755).file("etc/sub/g", b"g")
    l2.hardlink("etc/f-link", "etc/f")
    return [l1, l2]


@pytest.mark.parametrize("image", ["base", "usrmerge"])
def test_merged_tree_matches_unpack(h, image):
    """The overlay of the stored layers shows what `hull image unpack` writes."""
    if not BUSYBOX.is_file():
        pytest.skip(f"{BUSYBOX} not found: install Debian's busybox-static")
    layers = g.base_layers(BUSYBOX) if image == "base" else usrmerge_layers()
    src = make_source(h, "layout", layers, cfg={"Cmd": ["/usr/bin/busybox", "true"]}
                      if image == "usrmerge" else None)
    r = run_image(h, src, "true" if image == "base" else "/usr/bin/busybox")
    assert r.rc == 0, r
    bundle = h.tmp / "unpacked"
    assert h.run("image", "unpack", src, bundle, root=False).rc == 0
    merged = g.snapshot(store(h) / "containers" / r.cid / "rootfs")
    unpacked = g.snapshot(bundle / "rootfs")
    # The container's init made its mount points in its own upper directory.
    assert set(merged) - set(unpacked) <= {"dev", "proc", "sys"}
    merged = {k: v for k, v in merged.items() if k in unpacked}
    assert merged == unpacked
    if image == "usrmerge":
        assert merged["bin"][0] == "symlink" and merged["usr/bin/tool"][0] == "file"
        assert merged["etc"][1] == 0o700
    h.ok("delete", r.cid)


def test_two_containers_in_parallel(h, layers):
    src = make_source(h, "docker-archive", layers)
    ids = [h.new_id("a"), h.new_id("b")]
    for cid in ids:
        r = run_image(h, src, f"echo {cid} > /tmp/mine; exec sleep 60", extra=["-d"], cid=cid)
        assert r.rc == 0, r
    for cid in ids:
        wait_for(lambda: h.state(cid)["status"] == "running", what=f"{cid} running")
        path = store(h) / "containers" / cid / "upper" / "tmp" / "mine"
        wait_for(path.exists, what=f"{cid} wrote /mine")
        assert path.read_text() == cid + "\n"
    assert len(our_mounts(h)) == 2
    for cid in ids:
        h.ok("delete", "--force", cid)
    assert containers(h) == [] and not our_mounts(h)


def test_concurrent_first_runs_unpack_once(h, layers):
    src = make_source(h, "oci-archive", layers)
    procs = []
    for i in range(4):
        log = h.tmp / f"c{i}.log"
        cid = h.new_id(str(i))
        p = h.popen("--debug", "--log", log, "run", "--rm", "--image", src, cid, "--",
                    "echo ok-" + str(i))
        procs.append((p, log, i))
    unpacked = cached = 0
    for p, log, i in procs:
        assert p[0].wait(timeout=120) == 0, open(p[2]).read()
        assert open(p[1]).read() == f"ok-{i}\n"
        states = log_layers(log)
        assert len(states) == 3, states
        unpacked += list(states.values()).count("unpacked")
        cached += list(states.values()).count("cached")
    assert (unpacked, cached) == (3, 9)
    assert len(layer_dirs(h)) == 3 and len(records(h)) == 1


def test_image_ls_and_rm(h, layers):
    src = make_source(h, "layout", layers, ref="test:1")
    # A second image sharing the bottom layer (the same blob) with the first.
    other = g.Layer("gzip").file("other", b"other\n")
    src2 = make_source(h, "layout", [g.base_layers(BUSYBOX)[0], other], name="image2",
                       ref="other:2")
    assert h.ok("image", "ls").out.splitlines()[1:] == []  # only the header
    cid = h.new_id()
    assert run_image(h, src + ":test:1", cid=cid).rc == 0  # kept: uses the image
    assert run_image(h, src2 + ":other:2", "cat /other", extra=["--rm"]).out == "other\n"
    rows = h.ok("image", "ls", "--format", "json").json()
    assert [r["ref"] for r in rows] == ["test:1", "other:2"]
    assert rows[0]["source"] == src and len(rows[0]["layers"]) == 3
    assert rows[0]["layers"][0] == rows[1]["layers"][0]  # the shared base layer
    assert rows[0]["size"] > 1_000_000 and rows[0]["configDigest"].startswith("sha256:")
    table = h.ok("image", "ls").out.splitlines()
    assert table[0].split() == ["IMAGE", "ID", "LAYERS", "SIZE", "CREATED"]
    assert table[1].startswith(src + ":test:1") and rows[0]["configDigest"][7:19] in table[1]
    assert len(layer_dirs(h)) == 4
    # In use by a container (even a stopped one): refused, as podman refuses.
    assert_error(h.run("image", "rm", "test:1"), "in use by container " + cid)
    assert len(records(h)) == 2
    assert_error(h.run("image", "rm", "nosuch"), "nosuch")
    h.ok("delete", cid)
    h.ok("image", "rm", rows[0]["configDigest"][7:19])
    assert len(records(h)) == 1 and layer_dirs(h) == sorted(rows[1]["layers"])
    assert run_image(h, src2, "cat /other", extra=["--rm"]).out == "other\n"
    # --force deletes the containers that use the image first.
    cid2 = h.new_id()
    assert run_image(h, src2, "sleep 60", extra=["-d"], cid=cid2).rc == 0
    h.ok("image", "rm", "--force", src2)
    assert records(h) == [] and layer_dirs(h) == [] and containers(h) == []
    assert h.run("state", cid2).rc == 1 and not our_mounts(h)


def test_entrypoint_kept_cmd_replaced(h, layers):
    cfg = {"Entrypoint": ["/bin/echo", "ep"], "Cmd": ["default"]}
    src = make_source(h, "layout", layers, cfg=cfg)
    assert run_image(h, src, extra=["--rm"]).out == "ep default\n"
    assert run_image(h, src, "x", "y z", extra=["--rm"]).out == "ep x y z\n"
    src2 = make_source(h, "layout", layers, name="noep", cfg={"Cmd": ["/bin/echo", "c"]})
    assert run_image(h, src2, extra=["--rm"]).out == "c\n"
    assert run_image(h, src2, "/bin/echo", "mine", extra=["--rm"]).out == "mine\n"


def test_rm_flag_and_kept_container(h, layers):
    src = make_source(h, "layout", layers)
    r = run_image(h, src, "exit 3", extra=["--rm"])
    assert r.rc == 3 and h.run("state", r.cid).rc == 1 and containers(h) == []
    r = run_image(h, src, "exit 4")
    assert r.rc == 4 and h.state(r.cid)["status"] == "stopped"
    assert containers(h) == [r.cid] and len(our_mounts(h)) == 1
    assert r.cid in h.ok("list", "-q").out.split()
    h.ok("delete", r.cid)
    assert containers(h) == [] and not our_mounts(h)
    assert_error(h.run("run", "--rm", "-d", "--image", src, h.new_id()), "--rm")


def test_tty(h, layers):
    src = make_source(h, "layout", layers)
    r = run_image(h, src, "test -t 1 && echo tty-yes", extra=["--rm", "-it"])
    assert r.rc == 0 and r.out.replace("\r\n", "\n") == "tty-yes\n", r
    r = run_image(h, src, "test -t 1 || echo no-tty", extra=["--rm"])
    assert r.out == "no-tty\n", r


def assert_store_empty(h):
    assert containers(h) == [] and records(h) == [] and layer_dirs(h) == []
    assert not our_mounts(h)


def test_bad_input_leaves_nothing(h, layers):
    src = make_source(h, "layout", layers)
    missing = str(h.tmp / "no-such-image")
    assert_error(run_image(h, missing), missing)
    assert_error(run_image(h, src + ":nope"), "nope")
    # A damaged second layer: the first, unpacked already, goes too.
    def damage(manifest, d):
        blob = os.path.join(d, "blobs/sha256", manifest["layers"][1]["digest"][7:])
        data = bytearray(open(blob, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(blob, "wb").write(bytes(data))
    bad = make_source(h, "layout", layers, name="bad", mutate=damage)
    digest = json.load(open(os.path.join(bad, "index.json")))["manifests"][0]["digest"]
    m = json.load(open(os.path.join(bad, "blobs/sha256", digest[7:])))
    assert_error(run_image(h, bad), m["layers"][1]["digest"])
    assert_store_empty(h)
    docker = g.docker_archive(str(h.tmp / "bad.docker.tar"), layers, str(h.tmp),
                              corrupt_layer=2)
    assert_error(run_image(h, docker), "layer.tar")
    assert_store_empty(h)
    # A create that fails after the root is mounted (here: the pid file) undoes it all.
    assert_error(run_image(h, src, extra=["--pid-file", str(h.tmp / "no/dir/pid")]),
                 "pid-file")
    assert containers(h) == [] and not our_mounts(h)
    assert_error(h.run("run", "--image", src, "images"), "images")
    assert_error(h.run("run", "--image", src, "-b", str(h.tmp), h.new_id()), "--bundle")


def test_killed_hull_cleaned_by_delete_force(h, layers):
    src = make_source(h, "layout", layers)
    cid = h.new_id()
    p, _, err = h.popen("run", "--image", src, cid, "--", "exec sleep 60")
    wait_for(lambda: h.run("state", cid).rc == 0 and h.state(cid)["status"] == "running",
             what="the container running")
    pid = h.pid(cid)
    p.kill()
    p.wait()
    assert pid_alive(pid) and our_mounts(h)
    h.ok("delete", "--force", cid)
    assert containers(h) == [] and not our_mounts(h)


def test_crash_mid_extraction_leaves_no_half_layer(h):
    """A hull killed while it unpacks leaves only a temporary directory, never a layer
    under its final name; the next run unpacks it whole and `image prune` sweeps."""
    big = g.Layer("tar").dir("./").dir("bin").file("bin/busybox", open(BUSYBOX, "rb").read(),
                                                 0o755)
    for i in range(512):
        big.file(f"fill/{i:04d}", os.urandom(128 * 1024))
    src = make_source(h, "layout", [big], cfg={"Cmd": ["/bin/busybox", "echo", "whole"]})
    cid = h.new_id()
    p, _, _ = h.popen("run", "--rm", "--image", src, cid)
    layers_dir = store(h) / "layers"
    wait_for(lambda: layers_dir.exists() and any(".tmp-" in n for n in os.listdir(layers_dir)),
             timeout=30, what="an extraction under way", interval=0.002)
    p.send_signal(signal.SIGKILL)
    p.wait()
    names = os.listdir(layers_dir)
    assert names and all(".tmp-" in n for n in names), names
    r = run_image(h, src, extra=["--rm"], timeout=120)
    assert r.rc == 0 and r.out == "whole\n", r
    assert len([n for n in os.listdir(layers_dir) if ".tmp-" not in n]) == 1
    h.ok("image", "prune")
    assert all(".tmp-" not in n for n in os.listdir(layers_dir))
    assert len(records(h)) == 1
