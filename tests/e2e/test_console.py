"""console and logs: a background VM's serial console (real qemu, TCG)."""
import os
import subprocess
import time

import signal

from test_monitor import hypervisor_pid, mv, wait_for_guest
from test_run import apply, no_processes_left, write_host  # noqa: F401


def read_until(stream, text, timeout=60):
    """Read a pipe until `text` shows up; return everything read."""
    end = time.monotonic() + timeout
    got = b""
    os.set_blocking(stream.fileno(), False)
    while time.monotonic() < end:
        chunk = stream.read()
        if chunk:
            got += chunk
            if text.encode() in got:
                return got.decode(errors="replace")
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} within {timeout} s:\n{got.decode(errors='replace')}")


def test_console_attaches_types_and_detaches(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=echo"])
    apply(microvm, host)
    assert mv(microvm, host, "start", "g").returncode == 0
    try:
        wait_for_guest(state, "ECHO-READY")
        token = os.urandom(4).hex()
        con = subprocess.Popen([microvm, "--config", str(host), "console", "g"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        con.stdin.write(f"hello-{token}\n".encode())
        con.stdin.flush()
        out = read_until(con.stdout, f"ECHO hello-{token}")
        assert f"ECHO hello-{token}" in out
        con.stdin.write(b"\x1d")  # Ctrl-] detaches
        con.stdin.flush()
        assert con.wait(10) == 0
        # The VM runs on; the guest's answer is in the log too.
        assert f"ECHO hello-{token}" in mv(microvm, host, "logs", "g").stdout
        # The guest's lines end in \r\r\n, which text mode reads as two line ends.
        tail = [line for line in mv(microvm, host, "logs", "-n", "2", "g").stdout.splitlines()
                if line]
        assert tail == [f"hello-{token}", f"ECHO hello-{token}"], tail

        follow = subprocess.Popen([microvm, "--config", str(host), "logs", "-f", "g"],
                                  stdout=subprocess.PIPE)
        try:
            read_until(follow.stdout, "ECHO-READY")
            con = subprocess.Popen([microvm, "--config", str(host), "console", "g"],
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
            con.stdin.write(f"again-{token}\n\x1d".encode())
            con.stdin.close()
            assert con.wait(10) == 0
            read_until(follow.stdout, f"ECHO again-{token}")
            # Interrupted, following ends cleanly.
            follow.send_signal(signal.SIGINT)
            assert follow.wait(10) == 0
        finally:
            if follow.poll() is None:
                follow.kill()
                follow.wait()
    finally:
        assert mv(microvm, host, "stop", "g").returncode == 0
    assert not (state / ".host" / "g" / "console.sock").exists()
    no_processes_left(state)


def test_console_of_a_stopped_vm_says_so(microvm, guest, tmp_path):
    host, _ = write_host(tmp_path, guest, [])
    apply(microvm, host)
    r = mv(microvm, host, "console", "g")
    assert r.returncode == 1
    assert "vm g is not running" in r.stderr and "microvm start g" in r.stderr, r.stderr
    r = mv(microvm, host, "console", "nope")
    assert r.returncode == 1 and "vm nope is not installed" in r.stderr
    r = mv(microvm, host, "logs", "g")
    assert r.returncode == 1 and "microvm start" in r.stderr, r.stderr
    assert mv(microvm, host, "logs", "-x", "g").returncode == 2
    for bad in (["-n", "x", "g"], ["-n", "-1", "g"], ["-n", "2k", "g"], ["g", "-n"]):
        r = mv(microvm, host, "logs", *bad)
        assert r.returncode == 2 and "logs: -n takes a number of lines" in r.stderr, r.stderr


def test_attached_console_is_told_of_a_restart(microvm, guest, tmp_path):
    """The monitor's own messages reach attached consoles, not only console.log."""
    host, state = write_host(tmp_path, guest, ["microvm.hold=echo"],
                             host_extra="  microvm.host.restartDelay = 0;")
    apply(microvm, host)
    assert mv(microvm, host, "start", "g").returncode == 0
    try:
        wait_for_guest(state, "ECHO-READY")
        con = subprocess.Popen([microvm, "--config", str(host), "console", "g"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            con.stdin.write(b"attached\n")
            con.stdin.flush()
            read_until(con.stdout, "ECHO attached")
            os.kill(hypervisor_pid(state), signal.SIGKILL)
            out = read_until(con.stdout, "ECHO-READY", timeout=120)
            assert "microvm: vm g ended (status 137); restarting in 0 s\r\n" in out, out
        finally:
            con.kill()
            con.wait()
    finally:
        assert mv(microvm, host, "stop", "g").returncode == 0
    no_processes_left(state)
