"""Interface ids longer than 15 bytes: real qemu guests (TCG) on taps and macvtaps whose
kernel name is derived from the id and which carry the id as their alternative name.

The kernel here has alternative names (Linux 5.5+); a kernel without them is played by
MICROVM_TEST_NO_ALTNAMES in the test named stand_in.
"""
import hashlib
import os
import signal
import subprocess
import time

from test_macvtap import MAC, lan, mv  # noqa: F401
from test_monitor import status, wait_for_guest
from test_run import Run, apply, netns, no_processes_left, write_host  # noqa: F401

TAP_ID = "vm-g-frontend-eth0-long"  # 23 bytes
MACVTAP_ID = "vm-g-macvtap-on-lower0"  # 22 bytes


def kernel_name(id):
    """docs/configuration.md: the first 8 bytes, '-', 6 hex digits of the id's SHA-256."""
    return f"{id[:8]}-{hashlib.sha256(id.encode()).hexdigest()[:6]}"


def link_show(ns, name):
    """`ip -d link show NAME` in the namespace (ip takes an alternative name), or None."""
    r = subprocess.run(["ip", "-n", ns, "-d", "link", "show", name], capture_output=True,
                       text=True)
    return r.stdout if r.returncode == 0 else None


def tap_host(tmp_path, guest, params, tap_script):
    return write_host(
        tmp_path, guest, params,
        extra=f'''    interfaces = [ {{ type = "tap"; id = "{TAP_ID}";
                    mac = "02:00:00:00:00:01"; }} ];''',
        host_extra=f"  microvm.host.tapScript = ''\n{tap_script}\n  '';")


def test_long_tap_id_is_the_taps_alternative_name(microvm, guest, tmp_path, netns):
    short = kernel_name(TAP_ID)
    seen = tmp_path / "tapscript-id"
    host, state = tap_host(
        tmp_path, guest,
        ["microvm.ip=10.77.0.2/24", "microvm.ping=10.77.0.1", "microvm.hold=forever"],
        f'''    echo "$id" > {seen}
    ip addr add 10.77.0.1/24 dev "$id"
    ip link set "$id" up''')
    apply(microvm, host)

    plan = subprocess.run([microvm, "--config", str(host), "plan", "g"], capture_output=True,
                          text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    assert f"tap {short} (alternative name {TAP_ID}): create" in plan.stdout, plan.stdout
    assert f"then tapScript with id={short}\n" in plan.stdout, plan.stdout

    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    run.wait_for("PING 10.77.0.1 ok")
    details = link_show(netns, TAP_ID)
    assert details is not None, run.text()[-3000:]
    assert f": {short}: " in details and f"altname {TAP_ID}" in details, details
    assert "tun type tap" in details, details
    # The tapScript's $id is the kernel name, as share/microvm/tap-interfaces lists it.
    assert seen.read_text() == f"{short}\n"
    listed = state / "g" / "current" / "share/microvm/tap-interfaces"
    assert listed.read_text() == f"{short}\n"

    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(60) == 0, run.text()[-3000:]
    assert link_show(netns, TAP_ID) is None
    assert link_show(netns, short) is None
    no_processes_left(state)


def test_a_killed_monitors_long_named_tap_is_replaced_by_the_next_start(microvm, guest, tmp_path,
                                                                       netns):
    """The crash cleanup and the stale-tap replacement go by the kernel name."""
    host, state = tap_host(tmp_path, guest, ["microvm.hold=forever"], '    ip link set "$id" up')
    apply(microvm, host)
    r = mv(microvm, netns, host, "start", "g")
    assert r.returncode == 0, r.stderr
    os.kill(status(microvm, host)["pid"], signal.SIGKILL)
    end = time.monotonic() + 30
    while status(microvm, host)["state"] == "running":  # qemu follows (parent-death signal)
        assert time.monotonic() < end, "the VM still runs after its monitor was killed"
        time.sleep(0.1)
    left = link_show(netns, TAP_ID)
    assert left is not None and f"altname {TAP_ID}" in left  # left behind by the killed monitor

    r = mv(microvm, netns, host, "start", "g")
    assert r.returncode == 0, r.stderr
    wait_for_guest(state)
    again = link_show(netns, TAP_ID)
    assert again is not None and f": {kernel_name(TAP_ID)}: " in again, again
    r = mv(microvm, netns, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    assert link_show(netns, TAP_ID) is None
    assert link_show(netns, kernel_name(TAP_ID)) is None
    no_processes_left(state)


def test_long_macvtap_id_is_the_macvtaps_alternative_name(microvm, guest, tmp_path, lan):
    short = kernel_name(MACVTAP_ID)
    host, state = write_host(
        tmp_path, guest,
        ["microvm.ip=10.77.0.2/24", "microvm.ping=10.77.0.1", "microvm.hold=forever"],
        extra=f'''    interfaces = [ {{ type = "macvtap"; id = "{MACVTAP_ID}"; mac = "{MAC}";
      macvtap = {{ link = "lower0"; mode = "bridge"; }}; }} ];''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", netns=lan)
    run.wait_for("PING 10.77.0.1 ok")
    details = link_show(lan, MACVTAP_ID)
    assert details is not None, run.text()[-3000:]
    assert f": {short}@lower0: " in details and f"altname {MACVTAP_ID}" in details, details
    assert "macvtap mode bridge" in details, details

    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(60) == 0, run.text()[-3000:]
    assert link_show(lan, MACVTAP_ID) is None
    assert link_show(lan, short) is None
    no_processes_left(state)


def test_stand_in_kernel_without_altnames_fails_the_start_and_removes_the_tap(
        microvm, guest, tmp_path, netns, monkeypatch):
    """MICROVM_TEST_NO_ALTNAMES=1 answers as a kernel before 5.5 does: this one has them."""
    host, state = tap_host(tmp_path, guest, [], '    ip link set "$id" up')
    apply(microvm, host)
    monkeypatch.setenv("MICROVM_TEST_NO_ALTNAMES", "1")
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    assert run.wait_exit(60) == 1
    text = run.text()
    assert "the kernel lacks alternative interface names (Linux 5.5+)" in text, text
    assert "hint: use an id of at most 15 bytes" in text, text
    assert "GUEST-UP" not in text  # refused before the hypervisor
    assert link_show(netns, kernel_name(TAP_ID)) is None
    assert not (state / "g" / "booted").exists()
    no_processes_left(state)


def test_a_monitor_killed_before_the_alternative_name_leaves_nothing_behind(microvm, guest,
                                                                            tmp_path, netns):
    """kill -9 between making the tap and naming it: the tap has only its kernel name, by
    which the stop removes it; the next start makes and names it again."""
    short = kernel_name(TAP_ID)
    host, state = tap_host(tmp_path, guest, ["microvm.hold=forever"], '    ip link set "$id" up')
    apply(microvm, host)
    traced = subprocess.run(["ip", "netns", "exec", netns, microvm, "--config", str(host),
                             "start", "g"], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, MICROVM_TEST_KILL_TRACE="1",
                                     MICROVM_TEST_KILL_AT="monitor:1000000"))
    assert traced.returncode == 0, traced.stderr
    wait_for_guest(state)
    assert mv(microvm, netns, host, "stop", "g").returncode == 0
    log = (state / ".host" / "g" / "console.log").read_text(errors="replace")
    # With a scope to kill in, the trace numbers that scope's points, as MICROVM_TEST_KILL_AT does.
    (point,) = [line.split(":")[2] for line in log.splitlines()
                if line.endswith(": interface made, its alternative name next")]

    killed = subprocess.run(["ip", "netns", "exec", netns, microvm, "--config", str(host),
                             "start", "g"], capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, MICROVM_TEST_KILL_AT=f"monitor:{point}"))
    assert "its monitor ended without a word" in killed.stderr, killed.stderr
    assert status(microvm, host)["state"] != "running"
    left = link_show(netns, short)
    assert left is not None and "altname" not in left, left  # made, not yet named
    r = mv(microvm, netns, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    assert link_show(netns, short) is None

    r = mv(microvm, netns, host, "start", "g")
    assert r.returncode == 0, r.stderr
    wait_for_guest(state)
    assert link_show(netns, TAP_ID) is not None
    assert mv(microvm, netns, host, "stop", "g").returncode == 0
    assert link_show(netns, TAP_ID) is None and link_show(netns, short) is None
    no_processes_left(state)
