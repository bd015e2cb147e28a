"""Operations on a live container: ps, pause/resume, update, events. Checked against
the cgroup files on the host, whichever layout it has (v1, v2 or hybrid)."""

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import assert_error, cgroup_dir_for, pid_alive, proc_status, read_text, wait_for


def cg_dir(pid, controller):
    """The host directory of pid's cgroup in the v1 hierarchy with controller, else in
    cgroup2 (None when neither)."""
    lines = read_text(f"/proc/{pid}/cgroup", "").splitlines()
    for line in lines:
        if controller in line.split(":", 2)[1].split(","):
            return cgroup_dir_for(line)
    for line in lines:
        if line.startswith("0::"):
            return cgroup_dir_for(line)
    return None


def v1(pid, controller):
    """pid's cgroup is in a v1 hierarchy with that controller."""
    return any(controller in l.split(":", 2)[1].split(",")
               for l in read_text(f"/proc/{pid}/cgroup", "").splitlines())


def frozen_on_host(pid):
    if v1(pid, "freezer"):
        return read_text(cg_dir(pid, "freezer") / "freezer.state").strip()
    events = read_text(cg_dir(pid, "") / "cgroup.events")
    return "FROZEN" if "frozen 1" in events else "THAWED"


def running(h, args=("/probe", "sleep", "60")):
    b = h.bundle(list(args))
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    return cid, h.pid(cid)


def status_in_list(h, cid):
    return {c["id"]: c["status"] for c in h.ok("list", "--format", "json").json()}[cid]


# ---- ps


def test_ps_json_is_the_cgroup(h):
    cid, pid = running(h, ["/bin/sh", "-c", "/probe sleep 60 & exec /probe sleep 61"])
    procs = cg_dir(pid, "pids") / "cgroup.procs"
    wait_for(lambda: len(procs.read_text().split()) == 2, 10, "two processes")
    got = h.ok("ps", "--format", "json", cid).json()
    assert sorted(got) == sorted(int(p) for p in procs.read_text().split())
    assert pid in got
    assert h.ok("ps", "-f", "json", cid).json() == got
    h.ok("delete", "-f", cid)


def test_ps_table(h):
    cid, pid = running(h)
    r = h.ok("ps", cid)
    lines = r.out.splitlines()
    assert lines[0].split()[:3] == ["UID", "PID", "PPID"], r
    assert len(lines) == 2, r
    assert lines[1].split()[1] == str(pid) and "/probe sleep 60" in lines[1], r
    # ps options pass through; the PID column is found where the header has it (as in
    # runc, columns before it must not hold blanks)
    r = h.ok("ps", cid, "-e", "-o", "user,pid,args")
    lines = r.out.splitlines()
    assert lines[0].split() == ["USER", "PID", "COMMAND"], r
    assert len(lines) == 2 and lines[1].split()[1] == str(pid), r
    h.ok("delete", "-f", cid)


def test_ps_errors(h):
    cid, pid = running(h)
    assert_error(h.run("ps", "--format", "xml", cid), "xml")
    assert_error(h.run("ps", "-f", "json", cid, "-ef"), "table")
    assert_error(h.run("ps", cid, "-e", "-o", "args"), "PID")
    assert_error(h.run("ps", "t-nosuch"), "t-nosuch", "does not exist")
    h.ok("delete", "-f", cid)


# ---- pause and resume


def test_pause_resume(h):
    cid, pid = running(h)
    h.ok("pause", cid)
    assert h.state(cid)["status"] == "paused"
    assert status_in_list(h, cid) == "paused"
    assert "paused" in h.ok("list").out.splitlines()[1].split()
    assert frozen_on_host(pid) == "FROZEN"
    # frozen, not stopped: a frozen task sleeps in the freezer, never runs
    assert proc_status(pid)["State"][0] in "DS", proc_status(pid)
    assert_error(h.run("pause", cid), cid, "not running")
    h.ok("resume", cid)
    assert h.state(cid)["status"] == "running"
    assert frozen_on_host(pid) == "THAWED"
    assert_error(h.run("resume", cid), cid, "not paused")
    h.ok("delete", "-f", cid)


def test_paused_process_does_not_run(h):
    b = h.bundle(["/bin/sh", "-c", "while :; do date +%s%N > /tmp/tick; sleep 0.05; done"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    tick = b.rootfs / "tmp/tick"
    wait_for(lambda: tick.exists(), 10, "the loop to start")
    h.ok("pause", cid)
    before = tick.read_text()
    time.sleep(0.4)
    assert tick.read_text() == before
    h.ok("resume", cid)
    wait_for(lambda: tick.read_text() != before, 5, "the loop to go on")
    h.ok("delete", "-f", cid)


def test_pause_stopped_fails(h):
    b = h.bundle(["/probe", "exit", "0"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    h.wait_status(cid, "stopped")
    assert_error(h.run("pause", cid), cid, "not running")
    assert_error(h.run("resume", cid), cid, "not paused")
    assert_error(h.run("pause", "t-nosuch"), "does not exist")
    h.ok("delete", cid)


def test_pause_created(h):
    """As runc: a created container can be paused; start waits for resume."""
    cid = h.create(h.bundle(["/probe", "sleep", "60"])).cid
    h.ok("pause", cid)
    assert h.state(cid)["status"] == "paused"
    assert_error(h.run("start", cid), "paused")
    h.ok("resume", cid)
    assert h.state(cid)["status"] == "created"
    h.ok("start", cid)
    h.wait_status(cid, "running")
    h.ok("delete", "-f", cid)


def test_kill_paused(h):
    cid, pid = running(h)
    h.ok("pause", cid)
    h.ok("kill", cid, "KILL")
    wait_for(lambda: not pid_alive(pid), 5, "the paused container to die")
    assert h.state(cid)["status"] == "stopped"
    h.ok("delete", cid)


def test_kill_paused_term_waits_for_resume(h):
    b = h.bundle(["/bin/sh", "-c", "trap 'exit 3' TERM; while :; do sleep 0.1; done"])
    cid = h.new_id()
    h.ok("run", "-d", "-b", b, cid)
    pid = h.pid(cid)
    time.sleep(0.2)  # let sh install its trap
    h.ok("pause", cid)
    h.ok("kill", cid, "TERM")
    time.sleep(0.3)
    assert pid_alive(pid) and h.state(cid)["status"] == "paused"
    h.ok("resume", cid)
    wait_for(lambda: not pid_alive(pid), 5, "the queued TERM to act")
    h.ok("delete", cid)


def test_delete_paused(h):
    cid, pid = running(h, ["/bin/sh", "-c", "/probe sleep 60 & exec /probe sleep 61"])
    h.ok("pause", cid)
    assert_error(h.run("delete", cid), cid, "paused")
    assert h.state(cid)["status"] == "paused"
    dirs = [d for d in (cg_dir(pid, "freezer"), cg_dir(pid, "memory"), cg_dir(pid, ""))
            if d is not None]
    h.ok("delete", "--force", cid)
    wait_for(lambda: not pid_alive(pid), 5, "the paused container to die")
    assert h.run("state", cid).rc == 1
    for d in dirs:
        assert not d.exists(), d


# ---- update


def memory_limit_file(pid):
    return "memory.limit_in_bytes" if v1(pid, "memory") else "memory.max"


def read_cpu_quota(pid):
    d = cg_dir(pid, "cpu")
    if v1(pid, "cpu"):
        return (int(read_text(d / "cpu.cfs_quota_us")), int(read_text(d / "cpu.cfs_period_us")))
    quota, period = read_text(d / "cpu.max").split()
    return (-1 if quota == "max" else int(quota), int(period))


def test_update_flags(h):
    cid, pid = running(h)
    h.ok("update", "--memory", "64m", "--pids-limit", "50", "--cpu-quota", "50000",
         "--cpu-period", "100000", cid)
    assert int(read_text(cg_dir(pid, "memory") / memory_limit_file(pid))) == 64 << 20
    assert read_text(cg_dir(pid, "pids") / "pids.max").strip() == "50"
    assert read_cpu_quota(pid) == (50000, 100000)
    # what is not given stays; raw byte counts work too
    h.ok("update", "--memory", str(96 << 20), cid)
    assert int(read_text(cg_dir(pid, "memory") / memory_limit_file(pid))) == 96 << 20
    assert read_text(cg_dir(pid, "pids") / "pids.max").strip() == "50"
    assert read_cpu_quota(pid) == (50000, 100000)
    h.ok("update", "--pids-limit", "-1", cid)
    assert read_text(cg_dir(pid, "pids") / "pids.max").strip() == "max"
    h.ok("delete", "-f", cid)


def test_update_resources_file(h):
    cid, pid = running(h)
    f = h.tmp / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 48 << 20}, "pids": {"limit": 42}}))
    h.ok("update", "-r", f, cid)
    assert int(read_text(cg_dir(pid, "memory") / memory_limit_file(pid))) == 48 << 20
    assert read_text(cg_dir(pid, "pids") / "pids.max").strip() == "42"
    # from stdin, and an option overrides the file
    r = h.run("update", "--resources", "-", "--pids-limit", "43", cid,
              stdin=open(f, "rb"))
    assert r.rc == 0, r
    assert read_text(cg_dir(pid, "pids") / "pids.max").strip() == "43"
    f.write_text('{"pids": {"limit": "many"}}')
    assert_error(h.run("update", "-r", f, cid), "pids.limit")
    h.ok("delete", "-f", cid)


def test_update_ignores_device_rules(h):
    """runc's rule: devices are set at create; an update document's deny-all must not
    take /dev/null away from the running container."""
    cid, pid = running(h)
    f = h.tmp / "res.json"
    f.write_text(json.dumps({"devices": [{"allow": False, "access": "rwm"}],
                             "pids": {"limit": 44}}))
    h.ok("update", "-r", f, cid)
    assert read_text(cg_dir(pid, "pids") / "pids.max").strip() == "44"
    r = h.ok("exec", cid, "/probe", "write", "/dev/null", "x")
    assert r.rc == 0, r
    h.ok("delete", "-f", cid)


def test_update_errors(h):
    cid, pid = running(h)
    assert_error(h.run("update", "--memory", "12x", cid), "--memory", "12x")
    assert_error(h.run("update", "--cpu-quota", "lots", cid), "--cpu-quota")
    assert_error(h.run("update", "-r", h.tmp / "missing.json", cid), "missing.json")
    assert_error(h.run("update", "--pids-limit", "5", "t-nosuch"), "does not exist")
    h.ok("kill", cid, "KILL")
    h.wait_status(cid, "stopped")
    assert_error(h.run("update", "--pids-limit", "5", cid), "not running")
    h.ok("delete", cid)


def test_update_paused(h):
    cid, pid = running(h)
    h.ok("pause", cid)
    h.ok("update", "--pids-limit", "20", cid)
    assert read_text(cg_dir(pid, "pids") / "pids.max").strip() == "20"
    assert h.state(cid)["status"] == "paused"
    h.ok("delete", "-f", cid)


# ---- events


def check_stats_shape(ev, cid):
    assert ev["type"] == "stats" and ev["id"] == cid, ev
    data = ev["data"]
    assert set(data) >= {"cpu", "memory", "pids", "blkio", "hugetlb"}, data
    usage = data["cpu"]["usage"]
    assert "kernel" in usage and "user" in usage, usage
    assert usage.get("total", 0) > 0, usage
    if "percpu" in usage:
        assert sum(usage["percpu"]) == usage["total"], usage
    assert isinstance(data["cpu"]["throttling"], dict)
    mem = data["memory"]
    assert mem["usage"]["usage"] > 0, mem
    assert {"limit", "failcnt"} <= set(mem["usage"]), mem
    for k in ("swap", "kernel", "kernelTCP"):
        assert {"limit", "failcnt"} <= set(mem[k]), mem
    assert mem["raw"] and all(isinstance(v, int) for v in mem["raw"].values()), mem
    assert list(mem["raw"]) == sorted(mem["raw"]), "Go writes map keys sorted"
    assert data["pids"]["current"] >= 1, data
    return data


def cpu_list(text):
    """A cpuset list ("0-2,4") as the numbers runc prints."""
    out = []
    for part in filter(None, text.strip().split(",")):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def test_events_stats(h):
    # a file in /dev/shm (tmpfs) is page cache charged to the container
    cmd = "/probe write /dev/shm/f 0123456789abcdef; /probe sleep 60 & exec /probe sleep 61"
    cid, pid = running(h, ["/bin/sh", "-c", cmd])
    procs = cg_dir(pid, "pids") / "cgroup.procs"
    wait_for(lambda: len(procs.read_text().split()) == 2, 10, "two processes")
    h.ok("update", "--memory", "256m", "--pids-limit", "100", cid)
    r = h.ok("events", "--stats", cid)
    lines = r.out.splitlines()
    assert len(lines) == 1, r
    data = check_stats_shape(json.loads(lines[0]), cid)
    assert data["pids"] == {"current": 2, "limit": 100}
    mem = data["memory"]
    assert mem["usage"]["limit"] == 256 << 20
    assert mem["usage"]["usage"] <= 256 << 20
    cache_key = "cache" if "cache" in mem["raw"] else "file"
    assert isinstance(mem["cache"], int) and mem["cache"] > 0, mem
    assert mem["cache"] == mem["raw"][cache_key], mem
    # runc prints intel_rdt empty without RDT, and network_interfaces null: it reports
    # only veths libcontainer made itself, which an OCI bundle never asks for
    assert data["intel_rdt"] == {} and data["network_interfaces"] is None, data
    cs = data["cpuset"]
    cpuset = cg_dir(pid, "cpuset")
    if (cpuset / "cpuset.cpus").exists():
        assert cs["cpus"] == cpu_list((cpuset / "cpuset.cpus").read_text()), cs
        assert cs["mems"] == cpu_list((cpuset / "cpuset.mems").read_text()), cs
        assert cs["sched_load_balance"] == int((cpuset / "cpuset.sched_load_balance")
                                               .read_text()), cs
    assert set(cs) >= {"cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate",
                       "memory_spread_page", "memory_spread_slab", "memory_pressure",
                       "sched_load_balance", "sched_relax_domain_level"}, cs
    h.ok("delete", "-f", cid)


def test_events_stream_ends_with_container(h):
    cid, pid = running(h)
    p, out, err = h.popen("events", "--interval", "300ms", cid)
    try:
        evs = h.wait_json(out, n=3, timeout=10)
        for ev in evs:
            check_stats_shape(ev, cid)
        h.ok("kill", cid, "KILL")
        assert p.wait(timeout=10) == 0, read_text(err)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    # and it held no lock: delete did not wait for it
    h.ok("delete", cid)


def test_events_errors(h):
    cid, pid = running(h)
    assert_error(h.run("events", "--interval", "5", cid), "--interval", "\"5\"")
    assert_error(h.run("events", "--interval", "0s", cid), "--interval")
    assert_error(h.run("events", "--stats", "t-nosuch"), "does not exist")
    h.ok("kill", cid, "KILL")
    h.wait_status(cid, "stopped")
    assert_error(h.run("events", "--stats", cid), "not running")
    h.ok("delete", cid)


def test_events_oom_with_limit_from_config(h):
    """linux.resources.memory.limit applied at create; the probe's memhog is OOM-killed,
    `events` reports it, and the container's init (a shell) lives on."""
    b = h.bundle(["/bin/sh", "-c", "/probe sleep 1; /probe memhog 0; exec /probe sleep 60"])
    b.config["linux"]["resources"] = {"memory": {"limit": 32 << 20, "swap": 32 << 20}}
    b.write()
    cid = h.create(b).cid
    pid = h.pid(cid)
    p, out, err = h.popen("events", "--interval", "1s", cid)
    try:
        h.wait_json(out, n=1, timeout=10)
        h.ok("start", cid)
        ooms = wait_for(lambda: [e for e in h.wait_json(out, n=1) if e["type"] == "oom"],
                        20, "an oom event")
        assert ooms[0] == {"type": "oom", "id": cid}
        assert pid_alive(pid)
    finally:
        h.run("delete", "-f", cid)
        p.wait(timeout=10)
    assert p.returncode == 0, read_text(err)


def test_events_oom(h):
    """A shell in the container doubles a string until the 32 MiB limit OOM-kills it;
    the container's init lives on. events reports the kill."""
    hog = "x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done"
    b = h.bundle(["/bin/sh", "-c", f"/probe sleep 1; ({hog}); exec /probe sleep 60"])
    cid = h.create(b).cid
    pid = h.pid(cid)
    # set after create: the limit is what update writes, whatever create applied
    h.ok("update", "--memory", "32m", "--memory-swap", "32m", cid)
    p, out, err = h.popen("events", "--interval", "1s", cid)
    try:
        h.wait_json(out, n=1, timeout=10)
        h.ok("start", cid)

        def oom_seen():
            return [e for e in h.wait_json(out, n=1) if e["type"] == "oom"]

        ooms = wait_for(oom_seen, 20, "an oom event")
        assert ooms[0] == {"type": "oom", "id": cid}
        assert pid_alive(pid)
        r = h.ok("events", "--stats", cid)
        mem = r.json_lines()[0]["data"]["memory"]
        assert mem["usage"]["limit"] == 32 << 20, mem
        assert mem["usage"]["failcnt"] > 0 or mem["usage"].get("max", 0) > 0, mem
    finally:
        h.run("delete", "-f", cid)
        p.wait(timeout=10)
    assert p.returncode == 0, read_text(err)
