"""microvm balloon: a running guest's memory balloon, set as microvm.nix's microvm-balloon
sets it (real qemu, TCG). The test guest has no virtio-balloon driver, so the guest never
gives memory back: what qemu was told is read from qemu's own trace of the target it set."""
import json
import os
import signal
import socket

import pytest
import subprocess

from test_monitor import console, mv, wait_for_guest
from test_run import apply, no_processes_left, write_host  # noqa: F401

MIB = 1024 * 1024


def qmp(path, command, arguments=None):
    """One QMP command on the VM's socket, as root from outside; its "return"."""
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(str(path))
        f = s.makefile("rw")
        f.readline()  # greeting
        for cmd in ({"execute": "qmp_capabilities"},
                    {"execute": command, **({"arguments": arguments} if arguments else {})}):
            f.write(json.dumps(cmd) + "\n")
            f.flush()
            while True:
                reply = json.loads(f.readline())
                if "event" not in reply:
                    break
            assert "error" not in reply, reply
        return reply["return"]


def hypervisor(vm_dir):
    """(pid, uid) of the qemu running in the VM's directory."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if (os.readlink(f"/proc/{pid}/cwd") == str(vm_dir)
                    and open(f"/proc/{pid}/comm").read().startswith("qemu")):
                with open(f"/proc/{pid}/status") as f:
                    uid = next(line.split()[1] for line in f if line.startswith("Uid:"))
                return int(pid), int(uid)
        except OSError:
            continue
    pytest.fail(f"no qemu runs in {vm_dir}")


def start(microvm, host, state):
    """Started, and booted far enough that the stop's Ctrl-Alt-Del is heard."""
    apply(microvm, host)
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr
    wait_for_guest(state)


def test_balloon_sets_qemus_target_guest_memory(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"], extra="    balloon = true;")
    start(microvm, host, state)
    try:
        sock = state / "g" / "g.sock"
        assert qmp(sock, "query-balloon")["actual"] == 256 * MIB
        # qemu logs the target it sets (to its stderr, the console log).
        qmp(sock, "trace-event-set-state", {"name": "virtio_balloon_to_target", "enable": True})

        r = mv(microvm, host, "balloon", "g", "192")
        assert r.returncode == 0, r.stderr
        # microvm.nix's script prints the guest's memory in MiB as query-balloon reports it.
        actual = qmp(sock, "query-balloon")["actual"]
        assert r.stdout == f"{actual // MIB}\n"
        # SIZE is the memory the guest keeps: 192 MiB, a balloon of 64 MiB (16384 pages).
        assert ("virtio_balloon_to_target balloon target: 0xc000000 num_pages: 16384"
                in console(state)), console(state)[-2000:]
    finally:
        mv(microvm, host, "stop", "g")
    no_processes_left(state)


def test_balloon_of_a_vm_without_one_is_refused(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    start(microvm, host, state)
    try:
        r = mv(microvm, host, "balloon", "g", "128")
        assert r.returncode == 2, r.stderr
        assert "vm g has no balloon: microvm.balloon is false" in r.stderr
        assert "set microvm.balloon = true" in r.stderr
    finally:
        mv(microvm, host, "stop", "g")
    no_processes_left(state)


def test_balloon_of_a_stopped_or_unknown_vm_says_so(microvm, guest, tmp_path):
    host, _ = write_host(tmp_path, guest, [], extra="    balloon = true;")
    apply(microvm, host)
    r = mv(microvm, host, "balloon", "g", "128")
    assert r.returncode == 1 and "vm g is not running" in r.stderr, r.stderr
    assert "microvm start g" in r.stderr
    r = mv(microvm, host, "balloon", "nosuch", "128")
    assert r.returncode == 1 and "vm nosuch is not installed" in r.stderr, r.stderr


def test_balloon_refuses_bad_sizes(microvm, guest, tmp_path):
    host, _ = write_host(tmp_path, guest, [], extra="    balloon = true;")
    apply(microvm, host)
    for size in ("-1", "+5", "abc", "12x", "", "99999999999999999999", "8796093022208"):
        r = mv(microvm, host, "balloon", "g", size)
        assert r.returncode == 2 and "SIZE must be a whole number of MiB" in r.stderr, (size, r)
    # qemu's SIZE is the memory the guest keeps: none is no size at all.
    r = mv(microvm, host, "balloon", "g", "0")
    assert r.returncode == 2 and "at least 1 MiB" in r.stderr, r.stderr
    r = mv(microvm, host, "balloon", "g")
    assert r.returncode == 2 and "balloon NAME SIZE" in r.stderr, r.stderr


def test_balloon_refused_where_microvm_nix_has_no_balloon_control(microvm, guest, tmp_path):
    host, _ = write_host(tmp_path, guest, [], extra='    hypervisor = "stratovirt";')
    apply(microvm, host)
    r = mv(microvm, host, "balloon", "g", "128")
    assert r.returncode == 2, r.stderr
    assert "runs stratovirt, which has no balloon control in microvm.nix" in r.stderr


def test_a_runner_built_by_microvm_nix_runs_its_own_balloon_script(microvm, guest, tmp_path):
    """As its bin/microvm-shutdown: as the hypervisor's user, in the VM's directory, with SIZE
    as its argument and its output passed on. The script speaks QMP through socat, as
    microvm.nix's qemu runner does."""
    from test_foreign_runner import console_f, foreign_runner, host_b, wait_for
    runner = foreign_runner(microvm, tmp_path, guest, params=["microvm.hold=forever"],
                            extra="    balloon = true;")
    script = runner / "bin" / "microvm-balloon"
    script.write_text(
        "#!/bin/sh\nset -e\n"
        "printf '%s\\n' '{\"execute\":\"qmp_capabilities\"}' "
        "\"{\\\"execute\\\":\\\"balloon\\\",\\\"arguments\\\":{\\\"value\\\":$(($1 * 1048576))}}\" "
        "| socat -t 2 STDIO UNIX:f.sock >/dev/null\n"
        "echo \"size=$1 uid=$(id -u) dir=$(pwd)\"\n")
    script.chmod(0o755)
    host, state = host_b(tmp_path)
    r = mv(microvm, host, "install", "f", str(runner))
    assert r.returncode == 0, r.stderr
    r = mv(microvm, host, "start", "f")
    assert r.returncode == 0, r.stderr
    try:
        wait_for(state, "GUEST-UP")
        qmp(state / "f" / "f.sock", "trace-event-set-state",
            {"name": "virtio_balloon_to_target", "enable": True})
        _, uid = hypervisor(state / "f")

        r = mv(microvm, host, "balloon", "f", "192")
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"size=192 uid={uid} dir={state / 'f'}\n"
        assert ("virtio_balloon_to_target balloon target: 0xc000000"
                in console_f(state)), console_f(state)[-2000:]
    finally:
        mv(microvm, host, "stop", "f")


def test_a_runner_built_by_microvm_nix_without_a_balloon_script_is_refused(microvm, guest,
                                                                           tmp_path):
    from test_foreign_runner import foreign_runner, host_b
    runner = foreign_runner(microvm, tmp_path, guest, extra="    balloon = true;")
    host, _ = host_b(tmp_path)
    r = mv(microvm, host, "install", "f", str(runner))
    assert r.returncode == 0, r.stderr
    r = mv(microvm, host, "balloon", "f", "128")
    assert r.returncode == 2, r.stderr
    assert "built by microvm.nix, has no bin/microvm-balloon" in r.stderr


def test_a_hung_hypervisor_does_not_hang_the_command(microvm, guest, tmp_path):
    """qemu stopped (SIGSTOP) answers nothing on its socket: the command gives up and says so."""
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"], extra="    balloon = true;")
    start(microvm, host, state)
    pid, _ = hypervisor(state / "g")
    os.kill(pid, signal.SIGSTOP)
    try:
        r = mv(microvm, host, "balloon", "g", "128")
        assert r.returncode == 1, r.stderr
        assert "set the balloon of vm g: no answer" in r.stderr, r.stderr
    finally:
        os.kill(pid, signal.SIGCONT)
        mv(microvm, host, "stop", "g")
    no_processes_left(state)


def test_a_planted_socket_link_reaches_only_what_the_vms_user_could(microvm, guest, tmp_path):
    """The VM's user replaces its QMP socket with a link to a socket only root may reach: the
    request, made as that user, cannot connect, and that socket is never connected to."""
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"], extra="    balloon = true;")
    start(microvm, host, state)
    _, uid = hypervisor(state / "g")
    if uid == 0:
        mv(microvm, host, "stop", "g")
        pytest.skip("the hypervisor runs as root here: there is no other user to keep out")
    private = tmp_path / "root-only"
    private.mkdir(mode=0o700)
    with socket.socket(socket.AF_UNIX) as root_only:
        root_only.bind(str(private / "qmp.sock"))
        root_only.listen(1)
        root_only.setblocking(False)
        sock = state / "g" / "g.sock"
        os.rename(sock, state / "g" / "g.sock.real")
        os.symlink(private / "qmp.sock", sock)
        try:
            r = mv(microvm, host, "balloon", "g", "128")
            assert r.returncode == 1, r.stderr
            assert "Permission denied" in r.stderr, r.stderr
            with pytest.raises(BlockingIOError):
                root_only.accept()
        finally:
            os.unlink(sock)
            os.rename(state / "g" / "g.sock.real", sock)
            mv(microvm, host, "stop", "g")
    no_processes_left(state)
