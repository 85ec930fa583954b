"""Macvtap interfaces: real qemu guests (TCG) on a macvtap over a veth in a network namespace.

The lower link is one end of a veth pair; the other end, with 10.77.0.1,
stands for the host's network, which the guest pings through its macvtap.
"""
import os
import signal
import stat
import subprocess
import time

import pytest

from test_monitor import console, hypervisor_pid, status, wait_for_guest
from test_run import Run, apply, no_processes_left, write_host  # noqa: F401

MAC = "02:00:00:00:00:07"


def macvtap(link="lower0", mode="bridge"):
    return (f'    interfaces = [ {{ type = "macvtap"; id = "vm-g"; mac = "{MAC}"; '
            f'macvtap = {{ link = "{link}"; mode = "{mode}"; }}; }} ];')


def in_ns(ns, *cmd, check=True):
    return subprocess.run(["ip", "netns", "exec", ns, *cmd], capture_output=True, text=True,
                          check=check)


@pytest.fixture
def lan():
    """A network namespace with lower0, a veth whose peer (peer0) has 10.77.0.1/24."""
    name = f"mvtap{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        ip = ["ip", "-n", name]
        subprocess.run(ip + ["link", "set", "lo", "up"], check=True)
        subprocess.run(ip + ["link", "add", "lower0", "type", "veth", "peer", "name", "peer0"],
                       check=True)
        subprocess.run(ip + ["addr", "add", "10.77.0.1/24", "dev", "peer0"], check=True)
        subprocess.run(ip + ["link", "set", "peer0", "up"], check=True)
        subprocess.run(ip + ["link", "set", "lower0", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


def link_details(ns):
    """`ip -d link show vm-g`, or None when there is no such interface."""
    r = in_ns(ns, "ip", "-d", "link", "show", "vm-g", check=False)
    return r.stdout if r.returncode == 0 else None


def ifindex(ns):
    return int(in_ns(ns, "cat", "/sys/class/net/vm-g/ifindex").stdout)


def device_numbers(ns, index):
    return in_ns(ns, "cat", f"/sys/class/net/vm-g/macvtap/tap{index}/dev").stdout.strip()


def mv(microvm, ns, host, *args):
    return in_ns(ns, microvm, "--config", str(host), *args, check=False)


def test_started_guest_uses_its_macvtap_and_stop_removes_it(microvm, guest, tmp_path, lan):
    host, state = write_host(
        tmp_path, guest, ["microvm.ip=10.77.0.2/24", "microvm.ping=10.77.0.1",
                          "microvm.hold=forever"],
        extra=macvtap() + "\n    vcpu = 2;")
    apply(microvm, host)
    r = mv(microvm, lan, host, "start", "g")
    assert r.returncode == 0, r.stderr + console(state)[-2000:]
    wait_for_guest(state, "PING 10.77.0.1 ok")

    details = link_details(lan)
    assert details is not None
    assert "vm-g@lower0" in details and f"link/ether {MAC}" in details, details
    assert "macvtap mode bridge" in details and "allmulti 1" in details, details
    flags = details.split("<", 1)[1].split(">", 1)[0].split(",")
    assert "UP" in flags and "ALLMULTI" in flags, details
    assert in_ns(lan, "cat", "/proc/sys/net/ipv6/conf/vm-g/disable_ipv6").stdout == "1\n"

    # /dev/tapN is the macvtap's device, and qemu holds one queue of it per vCPU.
    index = ifindex(lan)
    node = f"/dev/tap{index}"
    st = os.stat(node)
    assert stat.S_ISCHR(st.st_mode)
    assert f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}" == device_numbers(lan, index)
    qemu = hypervisor_pid(state)
    assert os.readlink(f"/proc/{qemu}/fd/3") == node
    assert os.readlink(f"/proc/{qemu}/fd/4") == node

    r = mv(microvm, lan, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    assert link_details(lan) is None
    assert not os.path.exists(node)
    no_processes_left(state)


def test_a_missing_lower_link_fails_the_run_and_leaves_nothing(microvm, guest, tmp_path, lan):
    host, state = write_host(tmp_path, guest, [], extra=macvtap(link="nolink0"))
    apply(microvm, host)
    before = sorted(n for n in os.listdir("/dev") if n.startswith("tap"))
    run = Run(microvm, host, tmp_path / "console.log", netns=lan)
    assert run.wait_exit(60) == 1
    text = run.text()
    assert "macvtap vm-g: its lower link nolink0 does not exist" in text, text
    assert "hint: create nolink0 or fix `link`" in text, text
    assert link_details(lan) is None
    assert sorted(n for n in os.listdir("/dev") if n.startswith("tap")) == before
    assert not (state / "g" / "booted").exists()
    no_processes_left(state)


def test_a_taken_name_is_refused_and_left_alone(microvm, guest, tmp_path, lan):
    host, state = write_host(tmp_path, guest, [], extra=macvtap())
    apply(microvm, host)
    in_ns(lan, "ip", "link", "add", "link", "lower0", "name", "vm-g", "type", "macvlan")
    run = Run(microvm, host, tmp_path / "console.log", netns=lan)
    assert run.wait_exit(60) == 1
    assert "interface vm-g already exists" in run.text(), run.text()
    details = link_details(lan)
    assert details is not None and "macvlan mode" in details  # still theirs, untouched
    assert not (state / "g" / "booted").exists()


def test_a_killed_monitor_is_cleaned_up_by_the_next_start(microvm, guest, tmp_path, lan):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"], extra=macvtap())
    apply(microvm, host)
    r = mv(microvm, lan, host, "start", "g")
    assert r.returncode == 0, r.stderr
    first = ifindex(lan)
    os.kill(status(microvm, host)["pid"], signal.SIGKILL)
    end = time.monotonic() + 30
    while status(microvm, host)["state"] == "running":  # qemu follows (parent-death signal)
        assert time.monotonic() < end, "the VM still runs after its monitor was killed"
        time.sleep(0.1)
    assert link_details(lan) is not None  # left behind by the killed monitor
    assert os.path.exists(f"/dev/tap{first}")

    r = mv(microvm, lan, host, "start", "g")
    assert r.returncode == 0, r.stderr + console(state)[-2000:]
    assert "cleaning up after an unclean stop" in console(state)
    second = ifindex(lan)
    assert second != first  # the old one was removed, this one is new
    assert not os.path.exists(f"/dev/tap{first}")
    wait_for_guest(state)

    r = mv(microvm, lan, host, "stop", "g")
    assert r.returncode == 0, r.stderr
    assert link_details(lan) is None
    assert not os.path.exists(f"/dev/tap{second}")
    no_processes_left(state)


def test_kvmtool_is_given_the_real_tap_device_standin_lkvm(microvm, guest, tmp_path, lan):
    # lkvm needs a working KVM, which these machines lack: a stand-in records its argv and,
    # while the macvtap exists, its ifindex, which the /dev/tapN it is given must name. It
    # writes in its working directory, the VM's, which whoever it runs as may write.
    stand_in = tmp_path / "lkvm-stand-in"
    stand_in.write_text(
        "#!/bin/sh\n"
        "echo \"$@\" > lkvm-args\n"
        "cat /sys/class/net/vm-g/ifindex >> lkvm-args\n")
    stand_in.chmod(0o755)
    host, state = write_host(
        tmp_path, guest, [],
        extra=macvtap() + f'\n    hypervisor = "kvmtool"; kvmtool.package = "{stand_in}";')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", netns=lan)
    assert run.wait_exit(60) == 0, run.text()
    args, index = (state / "g" / "lkvm-args").read_text().splitlines()
    assert f"mode=tap,tapif=/dev/tap{index},guest_mac={MAC}" in args.split(), args
    assert link_details(lan) is None
    no_processes_left(state)
