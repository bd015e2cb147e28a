"""create / start / run / state / list / kill / delete, and the container ids they accept."""

import json
import os
import signal
import time

import pytest

from conftest import assert_error, cgroup_dir_for, pid_alive, read_text, wait_for


def test_create_start_delete(h):
    b = h.bundle()
    cid = h.new_id()
    r = h.ok("create", "-b", b, cid)
    assert r.elapsed < 10
    st = h.state(cid)
    assert st["status"] == "created"
    pid = st["pid"]
    assert pid > 0 and pid_alive(pid)
    # Blocked before exec: the probe has not run and stays so.
    time.sleep(0.2)
    assert h.state(cid)["status"] == "created"
    assert pid_alive(pid)
    assert read_text(r.out_path) == "", "the process ran before start"
    assert not os.readlink(f"/proc/{pid}/exe").endswith("/probe")
    assert not read_text(f"/proc/{pid}/cmdline", "").startswith("/probe")

    h.ok("start", cid)
    (report,) = h.wait_json(r.out_path)
    h.wait_status(cid, "stopped")
    assert report["argv"] == ["/probe", "report"]
    assert h.state(cid)["status"] == "stopped"
    h.ok("delete", cid)
    r = h.run("state", cid)
    assert_error(r, cid)
    assert not any(h.root.iterdir())


def test_start_twice_fails(h):
    b = h.bundle(["/probe", "sleep", "30"])
    cid = h.create(b).cid
    h.ok("start", cid)
    h.wait_status(cid, "running")
    assert_error(h.run("start", cid), cid)
    assert h.state(cid)["status"] == "running"
    h.ok("delete", "--force", cid)


@pytest.mark.parametrize("code", [0, 3, 255])
def test_run_exit_code(h, code):
    b = h.bundle(["/probe", "exit", str(code)])
    r = h.run_container(b)
    assert r.rc == code, r
    # run without --keep removes the container
    assert h.run("state", r.cid).rc == 1
    assert not any(h.root.iterdir())


def test_run_killed_is_128_plus_signal(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    p, out, err = h.popen("run", "-b", b, cid)
    try:
        h.wait_status(cid, "running")
        h.ok("kill", cid, "KILL")
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert rc == 128 + signal.SIGKILL, read_text(err)
    assert h.run("state", cid).rc == 1


def test_run_keep_then_delete(h):
    b = h.bundle(["/probe", "exit", "7"])
    cid = h.new_id()
    r = h.run("run", "--keep", "-b", b, cid)
    assert r.rc == 7, r
    st = h.state(cid)
    assert st["status"] == "stopped" and st["id"] == cid
    h.ok("delete", cid)
    assert h.run("state", cid).rc == 1
    assert not any(h.root.iterdir())


@pytest.mark.parametrize("flag", ["-d", "--detach"])
def test_run_detached(h, flag):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    r = h.run("run", flag, "-b", b, cid, timeout=10)
    assert r.rc == 0, r
    st = h.state(cid)
    assert st["status"] == "running"
    assert pid_alive(st["pid"])
    assert os.readlink(f"/proc/{st['pid']}/exe").endswith("probe") or \
        "probe" in read_text(f"/proc/{st['pid']}/cmdline", "")
    h.ok("kill", cid, "KILL")
    h.wait_status(cid, "stopped")
    h.ok("delete", cid)


def test_pid_file(h):
    b = h.bundle(["/probe", "sleep", "60"])
    pidfile = h.tmp / "container.pid"
    cid = h.create(b, extra=("--pid-file", pidfile)).cid
    text = pidfile.read_text()
    assert text.strip().isdigit(), repr(text)
    assert int(text) == h.pid(cid)
    assert pid_alive(int(text))
    h.ok("delete", "--force", cid)
    assert not pid_alive(int(text))


def test_run_detached_pid_file(h):
    b = h.bundle(["/probe", "sleep", "60"])
    pidfile = h.tmp / "run.pid"
    cid = h.new_id()
    h.ok("run", "-d", "--pid-file", pidfile, "-b", b, cid)
    assert int(pidfile.read_text()) == h.pid(cid)
    h.ok("delete", "--force", cid)


def test_state_fields(h):
    b = h.bundle(["/probe", "sleep", "60"])
    b.config["annotations"] = {"org.example.key": "value", "other": "x y"}
    b.write()
    cid = h.create(b).cid
    st = h.state(cid)
    for key in ("ociVersion", "id", "status", "pid", "bundle"):
        assert key in st, st
    assert st["id"] == cid
    assert st["status"] == "created"
    assert st["bundle"] == str(b.path)
    assert os.path.isabs(st["bundle"])
    assert st["ociVersion"].startswith("1.")
    assert st["annotations"] == {"org.example.key": "value", "other": "x y"}
    h.ok("delete", "--force", cid)


def test_state_bundle_is_absolute_for_relative_b(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    h.ok("create", "-b", b.path.name, cid, cwd=b.path.parent)
    assert h.state(cid)["bundle"] == str(b.path)
    h.ok("delete", "--force", cid)


def test_list_formats(h):
    r = h.ok("list", "--format", "json")
    assert json.loads(r.out) in (None, [])
    b1 = h.bundle(["/probe", "sleep", "60"])
    b2 = h.bundle(["/probe", "sleep", "60"])
    c1 = h.create(b1).cid
    c2 = h.new_id()
    h.ok("run", "-d", "-b", b2, c2)

    table = h.ok("list").out.splitlines()
    header = table[0].split()
    assert header[:3] == ["ID", "PID", "STATUS"], table
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert set(rows) == {c1, c2}, table
    assert rows[c1][1] == str(h.pid(c1)) and rows[c1][2] == "created"
    assert rows[c2][2] == "running"

    quiet = h.ok("list", "-q").out.split()
    assert sorted(quiet) == sorted([c1, c2])

    items = json.loads(h.ok("list", "--format=json").out)
    by_id = {i["id"]: i for i in items}
    assert set(by_id) == {c1, c2}
    assert by_id[c1]["status"] == "created" and by_id[c2]["status"] == "running"
    assert by_id[c1]["pid"] == h.pid(c1)
    assert by_id[c2]["bundle"] == str(b2.path)
    h.ok("delete", "-f", c1)
    h.ok("delete", "-f", c2)


def start_signals(h):
    """A detached container running `probe signals`; returns (id, stdout path)."""
    b = h.bundle(["/probe", "signals"])
    cid = h.new_id()
    r = h.ok("run", "-d", "-b", b, cid)
    wait_for(lambda: "ready" in read_text(r.out_path, ""), 10, "probe signals to be ready")
    return cid, r.out_path


@pytest.mark.parametrize("sig", ["USR1", "SIGUSR1", "10"])
def test_kill_signal_forms(h, sig):
    cid, out = start_signals(h)
    h.ok("kill", cid, sig)
    wait_for(lambda: "signal 10 USR1" in read_text(out, ""), 10, f"SIGUSR1 from kill {sig}")
    assert h.state(cid)["status"] == "running"
    h.ok("kill", cid)  # default is SIGTERM: probe signals exits 0 on it
    wait_for(lambda: "signal 15 TERM" in read_text(out, ""), 10, "SIGTERM from plain kill")
    h.wait_status(cid, "stopped")
    h.ok("delete", cid)


def test_kill_bad_signal(h):
    cid, out = start_signals(h)
    assert_error(h.run("kill", cid, "NOTASIGNAL"), "NOTASIGNAL")
    assert_error(h.run("kill", cid, "999"), "999")
    assert h.state(cid)["status"] == "running"
    h.ok("delete", "-f", cid)


def test_kill_all(h):
    # No pid namespace: killing the first process alone would leave its children.
    b = h.bundle(["/bin/sh", "-c", "/probe sleep 60 & /probe sleep 61 & wait"])
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"]
                                       if n["type"] != "pid"]
    b.write()
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    init = h.pid(cid)
    procs_file = None
    for line in read_text(f"/proc/{init}/cgroup").splitlines():
        if line.startswith("0::"):
            procs_file = cgroup_dir_for(line) / "cgroup.procs"
    assert procs_file is not None
    pids = wait_for(lambda: [int(p) for p in procs_file.read_text().split()]
                    if len(procs_file.read_text().split()) >= 3 else None,
                    10, "three processes in the container's cgroup")
    h.ok("kill", "--all", cid, "KILL")
    wait_for(lambda: not any(pid_alive(p) for p in pids), 10, "every process to be killed")
    h.wait_status(cid, "stopped")
    h.ok("delete", cid)


def test_kill_stopped_container_fails(h):
    b = h.bundle(["/probe", "exit", "0"])
    cid = h.new_id()
    assert h.run("run", "--keep", "-b", b, cid).rc == 0
    r = h.run("kill", cid, "KILL")
    assert_error(r)
    h.ok("delete", cid)


def test_delete_running_needs_force(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    pid = h.pid(cid)
    assert_error(h.run("delete", cid), cid)
    assert h.state(cid)["status"] == "running" and pid_alive(pid)
    h.ok("delete", "--force", cid)
    wait_for(lambda: not pid_alive(pid), 5, "the container process to die")
    assert h.run("state", cid).rc == 1


def test_delete_force_created(h):
    b = h.bundle()
    cid = h.create(b).cid
    pid = h.pid(cid)
    h.ok("delete", "-f", cid)
    wait_for(lambda: not pid_alive(pid), 5, "the blocked init to die")


def _created_pid(state):
    """The init's pid once the state file says create is done, else 0."""
    try:
        st = json.loads(state.read_text())
        return st["pid"] if st.get("createdOk") and st.get("pid", 0) > 0 else 0
    except (OSError, ValueError):
        return 0


def _kill_init_before_start(h, b, cid):
    """Start a foreground `run`; the moment its state says "created", stop hull, SIGKILL
    the init, let hull go on. Returns (rc, stderr) of hull."""
    p, _, ep = h.popen("run", "-b", b, cid)
    state = h.root / cid / "state.json"
    deadline = time.monotonic() + 10
    pid = 0
    while pid == 0 and p.poll() is None and time.monotonic() < deadline:
        pid = _created_pid(state)
    if pid > 0 and p.poll() is None:
        os.kill(p.pid, signal.SIGSTOP)
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not pid_alive(pid), 5, "the init to die")
        os.kill(p.pid, signal.SIGCONT)
    return p.wait(timeout=30), read_text(ep, "")


def test_run_whose_start_fails_leaves_nothing(h):
    """A foreground `run` whose start fails (its init was killed between create and start)
    fails with one line and removes what create made: the state here, the cgroup and
    mounts in the leak check after the test. The kill races hull's own start, so a few
    tries; most win it."""
    b = h.bundle(["/probe", "sleep", "0"])
    failed = 0
    for _ in range(20):
        cid = h.new_id()
        rc, err = _kill_init_before_start(h, b, cid)
        assert not (h.root / cid).exists(), (rc, err, list(h.root.iterdir()))
        if "exited before start" in err:
            assert rc == 1 and err.count("\n") == 1, (rc, err)
            failed += 1
        if failed >= 3:
            break
    assert failed >= 1, "the init was never killed before start: the race was not won"


def test_delete_unknown(h):
    # containerd's shim sends `delete --force` of an id that is gone: issue 3 asks that it
    # fail without harm (runc and crun exit 0).
    cid = h.new_id()
    assert_error(h.run("delete", "--force", cid), cid, "does not exist")
    assert_error(h.run("delete", cid), cid, "does not exist")
    assert_error(h.run("state", cid), cid)
    assert_error(h.run("kill", cid), cid)
    assert_error(h.run("start", cid), cid)


def _leftover_sleep(cid):
    """The pid of a `sleep 777` in the container's cgroup, or None."""
    for d in os.listdir("/proc"):
        if d.isdigit() and read_text(f"/proc/{d}/cmdline", "") == "sleep\x00777\x00" and \
                f"/{cid}" in read_text(f"/proc/{d}/cgroup", "") and pid_alive(d):
            return int(d)
    return None


def test_kill_all_reaches_what_a_stopped_init_left(h):
    """Without a pid namespace of its own, an init that exits leaves its children in the
    container's cgroup; `kill --all` still signals them (containerd's KillAll for hostPID
    containers), as runc does. Without --all it stays an error."""
    b = h.bundle(["/bin/sh", "-c", "sleep 777 & exit 0"])
    b.config["linux"]["namespaces"] = [n for n in b.config["linux"]["namespaces"]
                                       if n["type"] != "pid"]
    b.write()
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    h.wait_status(cid, "stopped")
    pid = wait_for(lambda: _leftover_sleep(cid), 5, "the sleep the init left")
    assert_error(h.run("kill", cid, "TERM"), cid, "not running")
    assert pid_alive(pid)
    h.ok("kill", "--all", cid, "TERM")
    wait_for(lambda: not pid_alive(pid), 5, "the leftover sleep to die")
    h.ok("kill", "--all", cid, "KILL")  # nothing left: still fine
    h.ok("delete", cid)


def test_kill_signal_zero_checks_the_init(h):
    """Signal 0 (as runc takes it): exit 0 while the init lives, the usual error after."""
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    pid = h.pid(cid)
    h.ok("kill", cid, "0")
    assert pid_alive(pid) and h.state(cid)["status"] == "running"
    h.ok("kill", cid, "KILL")
    h.wait_status(cid, "stopped")
    assert_error(h.run("kill", cid, "0"), cid, "not running")
    h.ok("delete", cid)


def test_run_no_subreaper_is_accepted(h):
    """runc's --no-subreaper: hull never is a subreaper, so the flag changes nothing."""
    b = h.bundle(["/probe", "exit", "3"])
    r = h.run_container(b, extra=["--no-subreaper"])
    assert r.rc == 3 and r.err == "", r


def test_list_sorted_with_owner_names(h):
    """As runc: containers sorted by id, and the owner of each state directory by name in
    both formats."""
    ids = [h.new_id(tag) for tag in ("a", "b", "c", "d")]
    for cid in ids:
        h.create(h.bundle(["/probe", "sleep", "60"]), cid)
    items = h.ok("list", "--format", "json").json()
    assert [i["id"] for i in items] == sorted(ids), items
    assert {i["owner"] for i in items} == {"root"}, items
    rows = [line.split() for line in h.ok("list").out.splitlines()[1:]]
    assert [r[0] for r in rows] == sorted(ids), rows
    assert {r[-1] for r in rows} == {"root"}, rows
    assert h.ok("list", "-q").out.split() == sorted(ids)
    for cid in ids:
        h.ok("delete", "-f", cid)


def test_duplicate_id(h):
    b1 = h.bundle(["/probe", "sleep", "60"])
    b2 = h.bundle(["/probe", "sleep", "60"])
    cid = h.create(b1).cid
    before = h.state(cid)
    r = h.run("create", "-b", b2, cid)
    assert_error(r, cid)
    after = h.state(cid)
    assert after == before
    assert pid_alive(after["pid"])
    r = h.run("run", "-b", b2, cid)
    assert_error(r, cid)
    assert h.state(cid) == before
    h.ok("start", cid)
    h.wait_status(cid, "running")
    h.ok("delete", "-f", cid)


@pytest.mark.parametrize("bad", ["../x", "a/b", "..", ".", "x/../../y", "", "a\nb", "x" * 1025],
                         ids=["dotdot-x", "slash", "dotdot", "dot", "nested", "empty", "newline",
                              "long"])
def test_invalid_id(h, bad):
    b = h.bundle()
    marker = h.root.parent / "x"
    r = h.run("create", "-b", b, bad)
    assert r.rc == 1, r
    assert len(r.err.strip().splitlines()) == 1 and r.err.startswith("hull: "), r
    assert not any(h.root.iterdir())
    assert not marker.exists()
    assert not (h.tmp / "y").exists()


def test_kill_created_container(h):
    b = h.bundle()
    cid = h.create(b).cid
    pid = h.pid(cid)
    h.ok("kill", cid, "KILL")
    wait_for(lambda: not pid_alive(pid), 5, "the created init to die")
    h.wait_status(cid, "stopped")
    assert_error(h.run("start", cid), cid)
    h.ok("delete", cid)


def test_process_killed_from_outside_is_stopped(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    os.kill(h.pid(cid), signal.SIGKILL)
    h.wait_status(cid, "stopped")
    items = json.loads(h.ok("list", "--format", "json").out)
    assert [i["status"] for i in items] == ["stopped"]
    h.ok("delete", cid)


def test_pid_file_relative_to_cwd(h):
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    h.ok("create", "--pid-file", "rel.pid", "-b", b, cid, cwd=b.path)
    assert int((b.path / "rel.pid").read_text()) == h.pid(cid)
    h.ok("delete", "-f", cid)


def test_run_passes_stdin(h):
    data = "line one\nline two\n"
    src = h.tmp / "stdin.txt"
    src.write_text(data)
    b = h.bundle(["/bin/sh", "-c", "cat; echo done"])
    cid = h.new_id()
    with open(src) as f:
        r = h.run("run", "-b", b, cid, stdin=f)
    assert r.rc == 0, r
    assert r.out == data + "done\n", r


def test_run_forwards_signals(h):
    """Like runc, a foreground run passes the signals it gets on to the container."""
    b = h.bundle(["/probe", "signals"])
    cid = h.new_id()
    p, out, err = h.popen("run", "-b", b, cid)
    try:
        wait_for(lambda: "ready" in read_text(out, ""), 10, "probe signals to be ready")
        p.send_signal(signal.SIGUSR1)
        wait_for(lambda: "signal 10 USR1" in read_text(out, ""), 10, "USR1 forwarded")
        p.send_signal(signal.SIGTERM)
        rc = p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert "signal 15 TERM" in read_text(out, ""), read_text(err)
    assert rc == 0, read_text(err)


def test_concurrent_create_same_id(h):
    """Only one of several simultaneous creates of one id wins; the rest fail cleanly."""
    bundles = [h.bundle(["/probe", "sleep", "60"]) for _ in range(4)]
    cid = h.new_id()
    procs = [h.popen("create", "-b", b, cid) for b in bundles]
    rcs = [p.wait(timeout=30) for p, _, _ in procs]
    errs = [read_text(e, "") for _, _, e in procs]
    assert sorted(rcs) == [0, 1, 1, 1], (rcs, errs)
    for rc, e in zip(rcs, errs):
        if rc == 1:
            assert e.startswith("hull: ") and len(e.strip().splitlines()) == 1, e
    st = h.state(cid)
    winner = bundles[rcs.index(0)]
    assert st["bundle"] == str(winner.path) and pid_alive(st["pid"])
    assert [d.name for d in h.root.iterdir()] == [cid]
    h.ok("delete", "-f", cid)
