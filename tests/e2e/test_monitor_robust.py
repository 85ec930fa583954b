"""A monitor that cannot be fooled or stalled: orphans, load, races, hangs and kills.

Real qemu (TCG), the real virtiofsd, real taps in a network namespace of the test's own.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from test_monitor import console, mv, status, wait_for_guest
from test_run import apply, netns, no_processes_left, write_host  # noqa: F401


def in_ns(ns, microvm, host, *args, env=None, timeout=200):
    return subprocess.run(["ip", "netns", "exec", ns, microvm, "--config", str(host), *args],
                          capture_output=True, text=True, env=env, timeout=timeout)


def links(ns):
    return subprocess.run(["ip", "netns", "exec", ns, "ip", "-o", "link"], capture_output=True,
                          text=True).stdout


def proc_stat(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return fields[0], int(fields[1])  # state, ppid


def zombies_of(pid):
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            state, ppid = proc_stat(p)
        except OSError:
            continue
        if ppid == pid and state == "Z":
            out.append(int(p))
    return out


TAP = '''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];'''


def tap_host(tmp_path, guest, script, extra_host=""):
    return write_host(tmp_path, guest, ["microvm.hold=forever"], extra=TAP,
                      host_extra=f"  microvm.host.tapScript = {script};\n{extra_host}")


def test_orphans_of_a_forking_tap_script_are_reaped(microvm, guest, tmp_path, netns):
    """The monitor is a subreaper: what the tapScript leaves running falls to it when it
    ends, and must not stay a zombie."""
    host, state = tap_host(tmp_path, guest,
                           "''(sleep 0.3; exit 0) & ip link set \"$id\" up\n''")
    apply(microvm, host)
    r = in_ns(netns, microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr
    wait_for_guest(state)
    monitor = status(microvm, host)["pid"]
    end = time.monotonic() + 10
    while time.monotonic() < end:
        time.sleep(0.5)
        if not zombies_of(monitor):
            break
    assert zombies_of(monitor) == [], "orphans of the tapScript left as zombies"
    r = in_ns(netns, microvm, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    no_processes_left(state)


def test_a_hanging_tap_script_is_stopped_and_times_out(microvm, guest, tmp_path, netns):
    host, state = tap_host(tmp_path, guest, "''sleep 600\n''",
                           "  microvm.host.startupTimeout = 600;\n")
    apply(microvm, host)
    start = subprocess.Popen(["ip", "netns", "exec", netns, microvm, "--config", str(host),
                              "start", "g"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    end = time.monotonic() + 30
    while "sleep 600" not in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                            text=True).stdout:
        assert time.monotonic() < end, "the tapScript never ran"
        time.sleep(0.1)
    # A stop ends the hanging script at once, and everything goes.
    r = in_ns(netns, microvm, host, "stop", "g", timeout=60)
    assert r.returncode == 0, r.stderr
    _, err = start.communicate(timeout=60)
    assert start.returncode == 1 and "stopped" in err, err
    assert "vm-g" not in links(netns)
    no_processes_left(state)

    # Left alone, the startup timeout ends it.
    host, state = tap_host(tmp_path, guest, "''sleep 600\n''",
                           "  microvm.host.startupTimeout = 2;\n")
    apply(microvm, host)
    r = in_ns(netns, microvm, host, "start", "g", timeout=60)
    assert r.returncode == 1
    assert "tapScript for vm-g" in r.stderr and "did not finish in time" in r.stderr, r.stderr
    assert "vm-g" not in links(netns)
    no_processes_left(state)


def test_two_starts_at_once_start_the_vm_once(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    cmd = [microvm, "--config", str(host), "start", "g"]
    a = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    b = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_a, err_a = a.communicate(timeout=120)
    out_b, err_b = b.communicate(timeout=120)
    assert a.returncode == 0 and b.returncode == 0, err_a + err_b
    assert sorted([out_a, out_b]) == ["g: already running\n", "g: started\n"]
    st = status(microvm, host)
    assert st["state"] == "running" and st["ready"] is True
    wait_for_guest(state)  # a Ctrl-Alt-Del before the guest's keyboard driver is lost
    r = mv(microvm, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    no_processes_left(state)


def test_a_killed_monitor_that_is_still_a_zombie_is_not_taken_for_alive(microvm, guest,
                                                                        tmp_path):
    """Its parent (here a subreaper of the test's own that reaps late, as this machine's PID 1
    does) has not reaped it yet: the VM is not running, and a start starts it."""
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    script = textwrap.dedent(f"""
        import ctypes, json, os, signal, subprocess, sys
        ctypes.CDLL(None).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphans become ours
        def mv(*a):
            return subprocess.run([{microvm!r}, "--config", {str(host)!r}, *a],
                                  capture_output=True, text=True, timeout=120)
        r = mv("start", "g")
        assert r.returncode == 0, r.stderr
        pid = json.loads(mv("status", "--json", "g").stdout)["pid"]
        os.kill(pid, signal.SIGKILL)
        while open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
            pass
        st = json.loads(mv("status", "--json", "g").stdout)
        r = mv("start", "g")
        print(st["state"], r.returncode, r.stdout.strip(), r.stderr.strip(), sep="|")
        os.waitpid(pid, 0)
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    state_seen, code, out, err = r.stdout.strip().split("|", 3)
    assert state_seen == "booted", r.stdout  # not "running": the lock died with it
    assert code == "0" and out == "g: started", r.stdout
    assert "cleaning up after an unclean stop" in console(state)
    wait_for_guest(state)
    assert mv(microvm, host, "stop", "g").returncode == 0
    no_processes_left(state)


def test_start_on_a_loaded_host_reports_what_happened_with_stand_in_virtiofsd(
        microvm, guest, tmp_path):
    """CPU hogs on every core, and a virtiofsd whose --help takes 6 s (a stand-in in front of
    the real one: a slow step before the hypervisor, deterministic). start must wait for the
    monitor's word however long it takes, and report exactly that."""
    slow = tmp_path / "virtiofsd-stand-in-slow-help"
    slow.write_text("#!/bin/sh\n[ \"$1\" = --help ] && sleep 6\n"
                    "exec /usr/lib/qemu/virtiofsd \"$@\"\n")
    slow.chmod(0o755)
    share = tmp_path / "share"
    share.mkdir()
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"], extra=f'''
    virtiofsd.package = "{slow}";
    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d"; proto = "virtiofs"; }} ];''')
    apply(microvm, host)
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(2 * (os.cpu_count() or 1))]
    try:
        r = mv(microvm, host, "start", "g", timeout=300)
        st = status(microvm, host)
    finally:
        for h in hogs:
            h.kill()
            h.wait()
    assert r.returncode == 0 and r.stdout == "g: started\n", r.stderr
    assert st["state"] == "running" and st["ready"] is True, st
    wait_for_guest(state)
    r = mv(microvm, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    no_processes_left(state)


def monitor_kill_points(microvm, host, ns):
    """How many kill points a start and stop of the VM pass in its monitor."""
    env = dict(os.environ, MICROVM_TEST_KILL_TRACE="1")
    r = in_ns(ns, microvm, host, "start", "g", env=env)
    assert r.returncode == 0, r.stderr
    wait_for_guest(host.parent / "state")
    r = in_ns(ns, microvm, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    state = host.parent / "state"
    log = (state / ".host" / "g" / "console.log").read_text(errors="replace")
    return len([line for line in log.splitlines() if "kill point monitor:" in line])


def test_a_monitor_killed_at_each_step_leaves_nothing_behind(microvm, guest, tmp_path, netns):
    """kill -9 of the monitor at each of its steps in turn (a kill point, not a random delay):
    no hypervisor or virtiofsd outlives it, a stop (or the next start) clears the rest, and
    the next start works."""
    share = tmp_path / "share"
    share.mkdir()
    host, state = write_host(
        tmp_path, guest, ["microvm.hold=forever"],
        extra=TAP + f'''
    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d"; proto = "virtiofs"; }} ];
    volumes = [ {{ image = "var.img"; mountPoint = "/var"; size = 16; }} ];''')
    apply(microvm, host)
    points = monitor_kill_points(microvm, host, netns)
    assert points >= 10, f"only {points} kill points in a start and stop"
    for n in range(1, points + 1):
        os.unlink(state / "g" / "var.img")  # created again, so its step is reached too
        env = dict(os.environ, MICROVM_TEST_KILL_AT=f"monitor:{n}")
        in_ns(netns, microvm, host, "start", "g", env=env)
        if status(microvm, host)["state"] == "running":
            wait_for_guest(state)
            in_ns(netns, microvm, host, "stop", "g")  # the kill point may lie in the teardown
        end = time.monotonic() + 30
        while True:  # the hypervisor and virtiofsd follow it (parent-death signal)
            try:
                no_processes_left(state)
                break
            except AssertionError:
                assert time.monotonic() < end, f"kill point {n}: processes outlived the monitor"
                time.sleep(0.1)
        assert status(microvm, host)["state"] != "running", f"kill point {n}"
        r = in_ns(netns, microvm, host, "stop", "g")
        assert r.returncode == 0, r.stderr
        assert "vm-g" not in links(netns), f"kill point {n}: tap left behind"
        left = [e for e in os.listdir(state / "g") if e.endswith(".sock")]
        assert left == [], f"kill point {n}: sockets left behind: {left}"
        assert not os.path.lexists(state / ".host" / "g" / "booted"), f"kill point {n}"
        r = in_ns(netns, microvm, host, "start", "g")
        assert r.returncode == 0, f"kill point {n}: {r.stderr}"
        wait_for_guest(state)
        r = in_ns(netns, microvm, host, "stop", "g")
        assert r.returncode == 0, r.stderr
        assert "vm-g" not in links(netns)
    no_processes_left(state)
