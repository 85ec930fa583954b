"""start, stop, status: VMs in the background under their own monitor (real qemu, TCG)."""
import json
import os
import signal
import subprocess
import time

import pytest

from test_run import write_host, apply, microvm, netns, no_processes_left  # noqa: F401


def mv(microvm, host, *args, timeout=120):
    return subprocess.run([microvm, "--config", str(host), *args], capture_output=True, text=True,
                          timeout=timeout)


def status(microvm, host):
    r = mv(microvm, host, "status", "--json", "g")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def console(state):
    return (state / "g" / "console.log").read_text(errors="replace")


def wait_for_guest(state, marker="GUEST-UP", timeout=90):
    """Started means qemu answers on QMP; the guest's own boot may still be going on,
    and a Ctrl-Alt-Del before its keyboard driver is up is lost (as on real hardware)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if marker in console(state).splitlines():
            return
        time.sleep(0.1)
    pytest.fail(f"no {marker} in the console log:\n{console(state)[-2000:]}")


def test_start_status_stop(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 0 and r.stdout == "g: started\n", r.stderr
    st = status(microvm, host)
    assert st["state"] == "running" and st["upToDate"] and st["pid"] > 0
    assert mv(microvm, host, "start", "g").stdout == "g: already running\n"
    wait_for_guest(state)

    r = mv(microvm, host, "stop", "g")
    assert r.returncode == 0 and r.stdout == "g: stopped\n", r.stderr
    log = console(state)
    assert "CTRL-ALT-DEL" in log and "GUEST-DOWN" in log, log[-2000:]
    assert status(microvm, host)["state"] == "not-booted"
    assert mv(microvm, host, "stop", "g").stdout == "g: not running\n"
    no_processes_left(state)


def test_killed_monitor_is_noticed_and_cleaned_up(microvm, guest, tmp_path, netns):
    host, state = write_host(
        tmp_path, guest, ["microvm.hold=forever"],
        extra='''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];''')
    apply(microvm, host)
    run = ["ip", "netns", "exec", netns, microvm, "--config", str(host)]
    r = subprocess.run(run + ["start", "g"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    pid = status(microvm, host)["pid"]
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):  # the hypervisor and virtiofsd follow it (parent-death signal)
        if status(microvm, host)["state"] != "running":
            break
        time.sleep(0.1)
    st = status(microvm, host)
    assert st["state"] == "booted" and st["pid"] is None  # reported, not mistaken for running
    links = subprocess.run(["ip", "netns", "exec", netns, "ip", "link"], capture_output=True,
                           text=True).stdout
    assert "vm-g" in links  # left behind by the killed monitor

    r = subprocess.run(run + ["start", "g"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr + console(state)[-2000:]
    assert "cleaning up after an unclean stop" in console(state)
    wait_for_guest(state)
    r = subprocess.run(run + ["stop", "g"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    links = subprocess.run(["ip", "netns", "exec", netns, "ip", "link"], capture_output=True,
                           text=True).stdout
    assert "vm-g" not in links
    no_processes_left(state)


def test_failed_start_says_why(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, [])
    host.write_text(host.read_text().replace('qemu.machineOpts', 'qemu.extraArgs = [ "-nonsense" ]; qemu.machineOpts'))
    apply(microvm, host)
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 1
    assert "g failed to start" in r.stderr and "nonsense" in r.stderr, r.stderr
    assert status(microvm, host)["state"] == "not-booted"
