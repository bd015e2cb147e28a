"""OCI hooks: each kind runs once with the state on stdin, in the right namespaces, and
failures and timeouts are handled the way the runtime spec orders.

The hook is the static probe (`probe hook KIND DIR`): it writes DIR/KIND.json with the
state it read and the namespaces it ran in. Hooks that run in the container's mount
namespace write to /hookmarks inside the rootfs."""

import json
import time

import pytest

from conftest import assert_error, host_ns

HOST_KINDS = ["prestart", "createRuntime", "poststart", "poststop"]
CONTAINER_KINDS = ["createContainer", "startContainer"]
WANT_STATUS = {"createRuntime": "creating", "createContainer": "creating",
               "prestart": "creating", "startContainer": "created", "poststart": "running",
               "poststop": "stopped"}


def hook(h, kind, marks, path=None, env=None, timeout=None):
    entry = {"path": path or str(h.probe_bin), "args": ["probe", "hook", kind, str(marks)],
             "env": env if env is not None else ["HOOK_KIND=" + kind, "PATH=/bin:/usr/bin"]}
    if timeout is not None:
        entry["timeout"] = timeout
    return entry


def hooked_bundle(h, args=("/probe", "report")):
    b = h.bundle(list(args))
    host_marks = h.tmp / "marks"
    host_marks.mkdir()
    (b.rootfs / "hookmarks").mkdir()
    hooks = {k: [hook(h, k, host_marks)] for k in HOST_KINDS}
    # createContainer: path resolves in the runtime namespace, runs in the container's
    # namespaces before pivot_root, so the host's paths are still visible to it.
    hooks["createContainer"] = [hook(h, "createContainer", host_marks)]
    # startContainer: path resolves in the container.
    hooks["startContainer"] = [hook(h, "startContainer", "/hookmarks", path="/probe")]
    b.config["hooks"] = hooks
    b.write()
    return b, host_marks


def read_mark(path):
    assert path.exists(), f"hook did not run: no {path}"
    mark = json.loads(path.read_text())
    mark["state"] = json.loads(mark["state"])
    return mark


def test_all_six_hooks(h):
    b, host_marks = hooked_bundle(h)
    r = h.run_container(b)
    assert r.rc == 0, r
    report = r.json_lines()[-1]
    marks = {k: read_mark(host_marks / f"{k}.json") for k in HOST_KINDS + ["createContainer"]}
    marks["startContainer"] = read_mark(b.rootfs / "hookmarks" / "startContainer.json")
    for kind, mark in marks.items():
        st = mark["state"]
        assert st["id"] == r.cid, (kind, st)
        assert st["status"] == WANT_STATUS[kind], (kind, st)
        assert st["bundle"] == str(b.path), (kind, st)
        assert st["ociVersion"].startswith("1."), (kind, st)
        if kind != "poststop":
            assert st.get("pid", 0) > 0, (kind, st)
        assert mark["argv"] == ["probe", "hook", kind, mark["argv"][3]], mark["argv"]
        assert sorted(mark["env"]) == sorted(["HOOK_KIND=" + kind, "PATH=/bin:/usr/bin"]), \
            (kind, mark["env"])
    pids = {marks[k]["state"]["pid"] for k in marks if k != "poststop"}
    assert len(pids) == 1, f"hooks saw different container pids: {pids}"
    for kind in HOST_KINDS:
        assert marks[kind]["namespaces"]["mnt"] == host_ns("mnt"), kind
    for kind in CONTAINER_KINDS:
        assert marks[kind]["namespaces"]["mnt"] == report["namespaces"]["mnt"], kind
        assert marks[kind]["namespaces"]["mnt"] != host_ns("mnt"), kind
    assert marks["startContainer"]["namespaces"]["pid"] == report["namespaces"]["pid"]


def test_hooks_state_in_created_container(h):
    """create runs prestart/createRuntime/createContainer only; start the rest."""
    b, host_marks = hooked_bundle(h, ["/probe", "exit", "0"])
    cid = h.create(b).cid
    assert {p.stem for p in host_marks.iterdir()} == {"prestart", "createRuntime",
                                                      "createContainer"}
    assert not list((b.rootfs / "hookmarks").iterdir())
    h.ok("start", cid)
    h.wait_status(cid, "stopped")
    assert (host_marks / "poststart.json").exists()
    assert (b.rootfs / "hookmarks" / "startContainer.json").exists()
    assert not (host_marks / "poststop.json").exists()
    h.ok("delete", cid)
    assert read_mark(host_marks / "poststop.json")["state"]["status"] == "stopped"


@pytest.mark.parametrize("kind", ["createRuntime", "createContainer", "prestart"])
def test_failing_create_hook_fails_create(h, kind):
    b = h.bundle()
    b.config["hooks"] = {kind: [{"path": "/bin/false", "args": ["false"]}]}
    b.write()
    cid = h.new_id()
    r = h.run("create", "-b", b, cid)
    assert_error(r)
    assert kind in r.err or "hook" in r.err, r
    assert h.run("state", cid).rc == 1
    assert not any(h.root.iterdir())


def test_failing_start_container_hook(h):
    b = h.bundle()
    b.config["hooks"] = {"startContainer": [{"path": "/bin/false", "args": ["false"]}]}
    b.write()
    r = h.run_container(b)
    assert r.rc == 1 and r.err.startswith("hull: "), r
    assert "\"argv\"" not in r.out, "the process ran although startContainer failed"


def test_failing_poststart_warns_and_run_continues(h):
    b = h.bundle()
    b.config["hooks"] = {"poststart": [{"path": "/bin/false", "args": ["false"]}]}
    b.write()
    r = h.run_container(b)
    assert r.rc == 0, r
    assert r.json_lines()[-1]["argv"] == ["/probe", "report"]
    assert "poststart" in r.err or "hook" in r.err, f"no warning on stderr\n{r}"


def test_failing_poststop_warns_and_delete_succeeds(h):
    b = h.bundle(["/probe", "exit", "0"])
    b.config["hooks"] = {"poststop": [{"path": "/bin/false", "args": ["false"]}]}
    b.write()
    cid = h.new_id()
    assert h.run("run", "--keep", "-b", b, cid).rc == 0
    r = h.run("delete", cid)
    assert r.rc == 0, r
    assert h.run("state", cid).rc == 1


def test_hook_timeout(h):
    b = h.bundle()
    # The tmp path in its arguments lets the leak check find a hook left running.
    b.config["hooks"] = {"createRuntime": [
        {"path": str(h.probe_bin), "args": ["probe", "sleep", "30", str(h.tmp)], "timeout": 1}]}
    b.write()
    cid = h.new_id()
    t0 = time.monotonic()
    r = h.run("create", "-b", b, cid, timeout=20)
    elapsed = time.monotonic() - t0
    assert_error(r)
    assert "time" in r.err.lower(), r
    assert elapsed < 10, f"create took {elapsed:.1f}s with a 1s hook timeout"


def test_hook_path_must_be_absolute(h):
    b = h.bundle()
    b.config["hooks"] = {"prestart": [{"path": "relative/hook"}]}
    b.write()
    assert_error(h.run_container(b), "hooks")
