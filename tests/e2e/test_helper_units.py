"""The parts of a VM's start that systemd's helper units do, run as those units run them
(`microvm tap-up`, `virtiofsd`, ...) but here by hand, with `run --under-systemd` told by
MICROVM_HELPER_UNITS that they are done; and the host.nix switches that make a part nobody's,
under a monitor. Real qemu (TCG), real virtiofsd, real taps in a network namespace. The same
with systemd itself as PID 1 is in test_nspawn_units."""
import json
import os
import signal
import subprocess
import time

import pytest

from guest import start_virtiofsd
from test_monitor import console, mv, status, wait_for_guest
from test_under_systemd import notify_socket
from test_run import write_host, apply, netns, no_processes_left  # noqa: F401

TAP = '''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];'''


def share_of(tmp_path, text):
    share = tmp_path / "share"
    share.mkdir()
    (share / "marker").write_text(text + "\n")
    return share, f'''    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d";
                  proto = "virtiofs"; socket = "data.sock"; }} ];'''


def links(netns):
    return subprocess.run(["ip", "-n", netns, "link"], capture_output=True, text=True).stdout


def in_ns(netns, microvm, host, *args, **kw):
    return subprocess.run(["ip", "netns", "exec", netns, microvm, "--config", str(host), *args],
                          capture_output=True, text=True, timeout=120, **kw)


def virtiofsd_children(pid):
    out = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{p}/stat").read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        if comm == "virtiofsd" and int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(p))
    return out


def test_helpers_by_hand_then_the_units_run_only_checks_them(microvm, guest, tmp_path, netns):
    share, shares = share_of(tmp_path, "from-helper")
    host, state = write_host(tmp_path, guest, ["microvm.shares=data:virtiofs",
                                               "microvm.hold=forever"], extra=TAP + "\n" + shares)
    apply(microvm, host)
    r = in_ns(netns, microvm, host, "tap-up", "g")
    assert r.returncode == 0, r.stderr
    assert "vm-g" in links(netns)
    assert (state / ".host" / "g" / "taps").read_text() == "vm-g\n"

    notify, path = notify_socket(tmp_path, timeout=60)
    env = dict(os.environ, NOTIFY_SOCKET=path)
    fs = subprocess.Popen([microvm, "--config", str(host), "virtiofsd", "g"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert notify.recv(100) == b"READY=1"
        assert (state / "g" / "data.sock").is_socket()
        (served,) = virtiofsd_children(fs.pid)
        # The VM's run: told that units did those parts, it makes none of them.
        out = open(tmp_path / "journal", "wb")
        env_run = dict(env, MICROVM_HELPER_UNITS="taps macvtaps pci virtiofsd")
        run = subprocess.Popen(["ip", "netns", "exec", netns, microvm, "--config", str(host),
                                "run", "--under-systemd", "g"], env=env_run, stdout=out,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            assert notify.recv(100) == b"READY=1"
            wait_for_guest(state, "SHARE data from-helper")
            assert virtiofsd_children(run.pid) == []
            # A helper does not change the parts of a running VM.
            r = in_ns(netns, microvm, host, "tap-down", "g")
            assert r.returncode == 1 and "vm g is running" in r.stderr, r.stderr
        finally:
            run.send_signal(signal.SIGTERM)
            assert run.wait(120) == 0, (tmp_path / "journal").read_text(errors="replace")[-3000:]
        # The run's teardown left the helpers' parts alone.
        assert "vm-g" in links(netns)
        # virtiofsd ended with the VM's connection; another took over the socket.
        end = time.monotonic() + 30
        while virtiofsd_children(fs.pid) in ([], [served]):
            assert fs.poll() is None and time.monotonic() < end, fs.stdout.read()
            time.sleep(0.05)
        assert (state / "g" / "data.sock").is_socket()
    finally:
        fs.send_signal(signal.SIGTERM)
        fs.wait(30)
    assert fs.returncode == 0, fs.stdout.read()
    assert not (state / "g" / "data.sock").exists()
    r = in_ns(netns, microvm, host, "tap-down", "g")
    assert r.returncode == 0, r.stderr
    assert "vm-g" not in links(netns)
    assert not (state / ".host" / "g" / "taps").exists()
    no_processes_left(state)


def test_a_killed_tap_up_is_undone_by_the_next_from_its_record(microvm, guest, tmp_path, netns):
    host, state = write_host(tmp_path, guest, [], extra=TAP)
    apply(microvm, host)
    # Killed right after the tap is made (its first kill point).
    env = dict(os.environ, MICROVM_TEST_KILL_AT="monitor:1")
    r = in_ns(netns, microvm, host, "tap-up", "g", env=env)
    assert r.returncode != 0
    assert "vm-g" in links(netns) and (state / ".host" / "g" / "taps").exists()
    # tap-down from the record alone; then a clean tap-up again.
    assert in_ns(netns, microvm, host, "tap-down", "g").returncode == 0
    assert "vm-g" not in links(netns)
    assert in_ns(netns, microvm, host, "tap-up", "g", env=env).returncode != 0
    r = in_ns(netns, microvm, host, "tap-up", "g")
    assert r.returncode == 0, r.stderr
    assert "vm-g" in links(netns)
    assert in_ns(netns, microvm, host, "tap-down", "g").returncode == 0
    assert "vm-g" not in links(netns)


def test_virtiofsd_ends_with_an_error_when_one_of_its_virtiofsd_does(microvm, guest, tmp_path):
    share, shares = share_of(tmp_path, "x")
    host, state = write_host(tmp_path, guest, [], extra=shares)
    apply(microvm, host)
    fs = subprocess.Popen([microvm, "--config", str(host), "virtiofsd", "g"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    end = time.monotonic() + 30
    while not virtiofsd_children(fs.pid):
        assert time.monotonic() < end and fs.poll() is None
        time.sleep(0.05)
    assert mv(microvm, host, "virtiofsd", "g").returncode == 1  # one at a time
    os.kill(virtiofsd_children(fs.pid)[0], signal.SIGKILL)
    out, _ = fs.communicate(timeout=30)
    assert fs.returncode == 1 and "virtiofsd for share data exited" in out, out
    assert not (state / "g" / "data.sock").exists()


def test_virtiofsd_switched_off_for_one_vm_is_the_administrators(microvm, guest, tmp_path):
    share, shares = share_of(tmp_path, "admins")
    host, state = write_host(
        tmp_path, guest, ["microvm.shares=data:virtiofs", "microvm.hold=forever"], extra=shares,
        host_extra='  systemd.services."microvm-virtiofsd@g".enable = false;')
    apply(microvm, host)
    r = mv(microvm, host, "plan", "g")
    assert ("virtiofsd for share data: expected listening on data.sock "
            "(microvm-virtiofsd@ is switched off)") in r.stdout, r.stdout
    assert json.loads(mv(microvm, host, "plan", "--json", "g").stdout)["switchedOff"] == [
        "virtiofsd"]
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 1, r.stderr
    assert "virtiofsd for share data: data.sock does not exist" in r.stderr, r.stderr
    assert "microvm-virtiofsd@...\".enable = false" in r.stderr, r.stderr
    # A FIFO where the socket should be is not taken for one.
    os.mkfifo(state / "g" / "data.sock")
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 1 and "data.sock is not a socket" in r.stderr, r.stderr
    os.unlink(state / "g" / "data.sock")
    with start_virtiofsd(share, socket_path=str(state / "g" / "data.sock"),
                         log_path=tmp_path / "virtiofsd.log"):
        # The administrator's socket must let the hypervisor's user (microvm:kvm when run as
        # root and the account exists) connect.
        os.chmod(state / "g" / "data.sock", 0o666)
        r = mv(microvm, host, "start", "g")
        assert r.returncode == 0, r.stderr
        try:
            wait_for_guest(state, "SHARE data admins")
            assert virtiofsd_children(status(microvm, host)["pid"]) == []
        finally:
            assert mv(microvm, host, "stop", "g").returncode == 0
    no_processes_left(state)


def test_taps_switched_off_for_one_vm_must_exist_and_stay(microvm, guest, tmp_path, netns):
    host, state = write_host(
        tmp_path, guest, ["microvm.hold=forever"], extra=TAP,
        host_extra='  systemd.services."microvm-tap-interfaces@g.service".enable = false;')
    apply(microvm, host)
    r = in_ns(netns, microvm, host, "start", "g")
    assert r.returncode == 1
    assert ("interface vm-g does not exist, and microvm does not create it: "
            "microvm-tap-interfaces@ is switched off in host.nix") in r.stderr, r.stderr
    subprocess.run(["ip", "-n", netns, "tuntap", "add", "vm-g", "mode", "tap"], check=True)
    r = in_ns(netns, microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr + console(state)[-2000:]
    wait_for_guest(state)
    assert in_ns(netns, microvm, host, "stop", "g").returncode == 0
    assert "vm-g" in links(netns)  # the administrator's, left where it was
    # tap-up, as its unit would run it, does nothing: the part is nobody's.
    r = in_ns(netns, microvm, host, "tap-up", "g")
    assert r.returncode == 0 and "switched off in host.nix: nothing to do" in r.stderr, r.stderr
    assert not (state / ".host" / "g" / "taps").exists()
    no_processes_left(state)


def test_install_declared_installs_one_vm_and_nothing_else(microvm, guest, tmp_path):
    """install-microvm-NAME's command: the runner host.nix declares becomes current, and no VM
    is started, stopped or removed."""
    host, state = write_host(tmp_path, guest, [])
    r = mv(microvm, host, "install-declared", "g")
    assert r.returncode == 0 and r.stdout.startswith("g: installed "), r.stdout + r.stderr
    assert (state / "g" / "current" / "bin" / "microvm-run").exists()
    assert status(microvm, host)["state"] == "not-booted"
    assert mv(microvm, host, "install-declared", "g").stdout == "g: unchanged\n"
    r = mv(microvm, host, "install-declared", "other")
    assert r.returncode == 1 and f"vm other is not declared in {host}" in r.stderr, r.stderr
    assert not (state / ".host" / "other").exists()
