"""linux.cgroupsPath in the systemd form, and the --systemd-cgroup driver on a host
without systemd."""

import os

from test_cgroups import check_in_every_hierarchy, dirs_named


def test_systemd_form_lands_where_systemd_would_put_it(h):
    slice_name = "hulltest" + h.new_id().rsplit("-", 1)[1] + ".slice"
    h.cgroup_names.append(slice_name)
    b = h.bundle(["/probe", "sleep", "60"])
    cid = h.new_id()
    b.config["linux"]["cgroupsPath"] = f"{slice_name}:hull:{cid}"
    b.write()
    h.ok("run", "-d", "-b", b, cid)
    check_in_every_hierarchy(h.pid(cid), f"/{slice_name}/hull-{cid}.scope")
    h.ok("delete", "-f", cid)
    assert dirs_named(f"hull-{cid}.scope") == []
    # the slice was made by this container, so it went with it
    assert dirs_named(slice_name) == []


def test_bad_systemd_form_is_one_line_error(h):
    b = h.bundle(["/probe", "exit", "0"])
    b.config["linux"]["cgroupsPath"] = "notaslice:p:name"
    b.write()
    r = h.run("run", "-b", b, h.new_id())
    assert r.rc == 1, r
    assert r.err.count("\n") == 1 and "linux.cgroupsPath" in r.err and "slice" in r.err, r


def test_systemd_driver_without_systemd_fails_clearly(h):
    if os.path.exists("/run/systemd/system"):
        import pytest
        pytest.skip("this host runs systemd; the no-systemd error cannot be shown here")
    b = h.bundle(["/probe", "exit", "0"])
    cid = h.new_id()
    r = h.run("--systemd-cgroup", "run", "-b", b, cid)
    assert r.rc == 1, r
    assert r.err.startswith("hull: --systemd-cgroup:") and "systemd" in r.err, r
    assert r.err.count("\n") == 1, r
    assert dirs_named(cid) == []
    assert not os.path.exists(os.path.join(h.root, cid))
