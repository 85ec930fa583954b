"""start, stop, status: VMs in the background under their own monitor (real qemu, TCG)."""
import json
import os
import signal
import subprocess
import time

import pytest

from test_run import write_host, apply, netns, no_processes_left  # noqa: F401


def mv(microvm, host, *args, timeout=120):
    return subprocess.run([microvm, "--config", str(host), *args], capture_output=True, text=True,
                          timeout=timeout)


def status(microvm, host):
    r = mv(microvm, host, "status", "--json", "g")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def console(state):
    return (state / ".host" / "g" / "console.log").read_text(errors="replace")


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
    assert open(f"/proc/{st['pid']}/comm").read().strip() == "microvm-monitor"
    assert st["supervisor"] == "monitor" and st["unit"] is None, st
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


def hypervisor_pid(state):
    """The qemu running in the VM's directory."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if (os.readlink(f"/proc/{pid}/cwd") == str(state / "g")
                    and open(f"/proc/{pid}/comm").read().startswith("qemu")):
                return int(pid)
        except OSError:
            continue
    pytest.fail("no qemu runs in the VM's directory")


def kill_hypervisor_and_wait_for_the_reboot(state):
    """SIGKILL the VM's qemu, wait for the guest's second boot; returns the killed pid."""
    first = hypervisor_pid(state)
    os.kill(first, signal.SIGKILL)
    end = time.monotonic() + 60
    while console(state).splitlines().count("GUEST-UP") < 2:
        assert time.monotonic() < end, console(state)[-2000:]
        time.sleep(0.2)
    return first


def test_killed_hypervisor_is_restarted_after_the_delay(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    assert mv(microvm, host, "start", "g").returncode == 0
    wait_for_guest(state)
    monitor = status(microvm, host)["pid"]
    first = kill_hypervisor_and_wait_for_the_reboot(state)
    st = status(microvm, host)
    assert st["state"] == "running" and st["pid"] == monitor and st["booted"], st
    assert st["restarts"] == 1 and st["lastExit"] == 128 + signal.SIGKILL, st
    assert st["restartDelay"] == 5 and not st["backingOff"], st
    assert hypervisor_pid(state) != first
    assert "restarting in 5 s" in console(state)
    text = mv(microvm, host, "status", "g").stdout
    assert "restarts:   1 (last exit status 137; restart delay 5 s)" in text, text

    assert mv(microvm, host, "stop", "g").returncode == 0
    assert status(microvm, host)["state"] == "not-booted"
    no_processes_left(state)


def test_zero_restart_delay_restarts_at_once(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"],
                             host_extra="  microvm.host.restartDelay = 0;")
    apply(microvm, host)
    assert mv(microvm, host, "start", "g").returncode == 0
    wait_for_guest(state)
    kill_hypervisor_and_wait_for_the_reboot(state)
    st = status(microvm, host)
    assert st["restarts"] == 1 and st["restartDelay"] == 0, st
    assert "restarting in 0 s" in console(state)
    assert mv(microvm, host, "stop", "g").returncode == 0
    no_processes_left(state)


def test_stop_during_the_restart_delay_ends_the_monitor(microvm, guest, tmp_path):
    # The guest powers itself off right after boot: microvm.nix restarts it anyway.
    host, state = write_host(tmp_path, guest, [])
    apply(microvm, host)
    assert mv(microvm, host, "start", "g").returncode == 0
    end = time.monotonic() + 60
    while True:
        st = status(microvm, host)
        if st["waitingToRestart"]:
            break
        assert time.monotonic() < end, console(state)[-2000:]
        time.sleep(0.1)
    assert st["state"] == "running" and st["lastExit"] == 0 and st["booted"] is None, st
    r = mv(microvm, host, "stop", "g")
    assert r.returncode == 0 and r.stdout == "g: stopped\n", r.stderr
    assert status(microvm, host)["state"] == "not-booted"
    assert "GUEST-UP" in console(state)
    no_processes_left(state)


def virtiofsd_pid(monitor):
    """The virtiofsd the monitor started (its own child, not virtiofsd's sandboxed one)."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            if comm == "virtiofsd" and int(stat.rsplit(")", 1)[1].split()[1]) == monitor:
                return int(pid)
        except (OSError, ValueError):
            continue
    pytest.fail("no virtiofsd is a child of the monitor")


def test_crashed_virtiofsd_restarts_the_vm_and_the_share_reads_again(microvm, guest, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    (share / "marker").write_text("first\n")
    host, state = write_host(
        tmp_path, guest, ["microvm.shares=data:virtiofs", "microvm.hold=forever"],
        extra=f'''    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d";
                  proto = "virtiofs"; }} ];''',
        host_extra="  microvm.host.restartDelay = 0;")
    apply(microvm, host)
    assert mv(microvm, host, "start", "g").returncode == 0
    try:
        wait_for_guest(state, "SHARE data first")
        (share / "marker").write_text("second\n")
        os.kill(virtiofsd_pid(status(microvm, host)["pid"]), signal.SIGKILL)
        wait_for_guest(state, "SHARE data second", timeout=120)
        log = console(state)
        assert "virtiofsd for" in log and "the VM is restarted" in log, log[-3000:]
        st = status(microvm, host)
        assert st["state"] == "running" and st["restarts"] == 1, st
        wait_for_guest(state, "GUEST-UP")
    finally:
        assert mv(microvm, host, "stop", "g").returncode == 0
    no_processes_left(state)


def proc_limits(pid, name):
    """(soft, hard) of the limit called `name` ("Max open files") in /proc/PID/limits."""
    with open(f"/proc/{pid}/limits", encoding="utf-8") as f:
        for line in f:
            if line.startswith(name + " "):
                return tuple(line[len(name):].split()[:2])
    pytest.fail(f"no {name!r} in /proc/{pid}/limits")


def open_file_limits(pid):
    return proc_limits(pid, "Max open files")


def expected_open_files():
    """microvm.nix's LimitNOFILE=1048576: the hard limit raised too where root may
    (CAP_SYS_RESOURCE), otherwise the soft limit as far as the hard one allows."""
    import resource
    want = 1048576
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    hard_word = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    if subprocess.run(["prlimit", f"--nofile={want}:{want}", "true"],
                      capture_output=True).returncode == 0:
        return (str(want), hard_word if hard_word == "unlimited" or hard > want else str(want))
    return (str(want) if hard_word == "unlimited" or hard >= want else hard_word, hard_word)


def test_hypervisor_and_virtiofsd_get_the_open_file_limit(microvm, guest, tmp_path):
    """Started from a shell with a soft limit of 256, both get microvm.nix's limit."""
    import resource
    share = tmp_path / "share"
    share.mkdir()
    host, state = write_host(
        tmp_path, guest, ["microvm.shares=data:virtiofs", "microvm.hold=forever"],
        extra=f'''    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d";
                  proto = "virtiofs"; }} ];''')
    apply(microvm, host)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    r = subprocess.run([microvm, "--config", str(host), "start", "g"], capture_output=True,
                       text=True, timeout=120,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard)))
    assert r.returncode == 0, r.stderr
    try:
        wait_for_guest(state)
        monitor = status(microvm, host)["pid"]
        assert open_file_limits(monitor)[0] == "256"
        want = expected_open_files()
        assert open_file_limits(hypervisor_pid(state)) == want
        assert open_file_limits(virtiofsd_pid(monitor)) == want
    finally:
        assert mv(microvm, host, "stop", "g").returncode == 0
    no_processes_left(state)


def test_same_named_vms_of_two_state_directories_run_side_by_side(microvm, guest, tmp_path):
    """Both have VM g with share data: Debian's virtiofsd locks a pid file named after its
    socket path, so a relative socket name made the second start fail."""
    hosts = []
    for side in ("one", "two"):
        d = tmp_path / side
        d.mkdir()
        share = d / "share"
        share.mkdir()
        (share / "marker").write_text(f"{side}\n")
        hosts.append(write_host(
            d, guest, ["microvm.shares=data:virtiofs", "microvm.hold=forever"],
            extra=f'''    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d";
                  proto = "virtiofs"; }} ];'''))
    started = []
    try:
        for host, state in hosts:
            apply(microvm, host)
            r = mv(microvm, host, "start", "g")
            assert r.returncode == 0, r.stderr
            started.append(host)
        for (host, state), side in zip(hosts, ("one", "two")):
            wait_for_guest(state, f"SHARE data {side}")
            wait_for_guest(state)
    finally:
        for host in started:
            assert mv(microvm, host, "stop", "g").returncode == 0
    for host, state in hosts:
        no_processes_left(state)


def test_the_hypervisor_is_named_after_the_vm(microvm, guest, tmp_path):
    """microvm.prettyProcnames (on by default, as upstream): ps shows microvm@HOSTNAME, as
    microvm.nix's exec -a makes it; off, the hypervisor's own path."""
    for pretty, expected in ((None, "microvm@g"), ("false", None)):
        d = tmp_path / (pretty or "default")
        d.mkdir()
        extra = f"    prettyProcnames = {pretty};" if pretty else ""
        host, state = write_host(d, guest, ["microvm.hold=forever"], extra=extra)
        apply(microvm, host)
        assert mv(microvm, host, "start", "g").returncode == 0
        try:
            wait_for_guest(state)  # a Ctrl-Alt-Del before the guest is up would be lost
            pid = hypervisor_pid(state)
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv0 = f.read().split(b"\0")[0].decode()
            plan = json.loads(mv(microvm, host, "plan", "--json", "g").stdout)
            if expected:
                assert argv0 == expected and plan["command"]["processName"] == expected
            else:
                assert argv0 == plan["command"]["argv"][0], argv0
                assert plan["command"]["processName"] is None
        finally:
            assert mv(microvm, host, "stop", "g").returncode == 0
