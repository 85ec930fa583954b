"""microvm logs on a systemd host, with Debian's systemd 252 as PID 1 in systemd-nspawn: a VM
run by its unit is read from the unit's journal through sd-journal (the same lines journalctl
has), followed until SIGINT, and where the journal has nothing of the unit, or libsystemd
cannot be loaded, console.log is shown with a note saying so."""
import os
import signal
import subprocess

from nspawn import CONTAINER_ENV
from test_console import read_until
from test_nspawn_units import install, pytestmark, vm, wait_guest  # noqa: F401

CONSOLE_LOG = "/var/lib/microvms/.host/a/console.log"


def unit_lines(c, unit="microvm@a.service"):
    """What journalctl has of the unit's own processes, one message a line."""
    return c.run(["journalctl", "--no-pager", "-o", "cat", f"_SYSTEMD_UNIT={unit}"]).stdout


def type_on_console(c, text):
    """A line typed on the VM's console (the guest of microvm.hold=echo answers ECHO text)."""
    r = c.run(["microvm", "console", "a"], input=f"{text}\n\x1d")
    assert r.returncode == 0, r.stderr


def child_of(pid):
    """nsenter forks the command it runs: its pid, on this side, to signal it directly."""
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        children = f.read().split()
    assert len(children) == 1, children
    return int(children[0])


def test_logs_print_the_units_journal_and_follow_it_until_sigint(systemd_container, guest):
    c = systemd_container
    install(c, guest, vm(guest, "a", "    autostart = false;", hold="echo"))
    # Never started: the journal has nothing of the unit, and there is no console.log yet.
    r = c.run(["microvm", "logs", "a"], check=False)
    assert r.returncode == 1 and r.stdout == "", r.stdout + r.stderr
    assert "the journal has no entries of microvm@a.service; showing " \
        f"{CONSOLE_LOG} instead" in r.stderr, r.stderr
    assert f"open {CONSOLE_LOG}: No such file or directory" in r.stderr, r.stderr

    r = c.run(["microvm", "start", "a"], timeout=180)
    assert "a: started" in r.stdout, r.stdout + r.stderr
    wait_guest(c, "a", "ECHO-READY")
    token = os.urandom(4).hex()
    type_on_console(c, f"hello-{token}")
    wait_guest(c, "a", f"ECHO hello-{token}")

    # Everything journalctl had a moment before, in its order, and nothing said on stderr.
    before = unit_lines(c).splitlines()
    r = c.run(["microvm", "logs", "a"])
    lines = r.stdout.splitlines()
    assert r.stderr == "", r.stderr
    assert lines[:len(before)] == before, (lines, before)
    for marker in ("GUEST-UP", "ECHO-READY", f"ECHO hello-{token}"):
        assert any(line.rstrip("\r") == marker for line in lines), (marker, lines)
    # The journal holds what console.log holds, microvm's own messages besides.
    console = [line for line in c.run(["cat", CONSOLE_LOG]).stdout.splitlines() if line]
    assert console and set(console) <= set(lines), (console, lines)

    tail = c.run(["microvm", "logs", "-n", "3", "a"]).stdout.splitlines()
    assert len(tail) == 3 and f"ECHO hello-{token}" in [t.rstrip("\r") for t in tail], tail

    follow = subprocess.Popen(c.nsenter(["microvm", "logs", "-f", "-n", "1", "a"]),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=CONTAINER_ENV)
    try:
        read_until(follow.stdout, f"ECHO hello-{token}")
        type_on_console(c, f"again-{token}")
        read_until(follow.stdout, f"ECHO again-{token}")
        os.kill(child_of(follow.pid), signal.SIGINT)
        assert follow.wait(30) == 0
        assert follow.stderr.read() == b""
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()

    r = c.run(["microvm", "stop", "a"], timeout=200)
    assert "a: stopped" in r.stdout, r.stdout + r.stderr
    # Stopped, the VM is still read from the journal: its last run included.
    lines = c.run(["microvm", "logs", "a"]).stdout.splitlines()
    assert "GUEST-DOWN" in [line.rstrip("\r") for line in lines], lines[-10:]
    # A user who may read no journal file is told why nothing came from the journal.
    r = c.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
               "microvm", "logs", "a"], check=False)
    assert "(no journal file could be read" in r.stderr, r.stderr


def test_logs_without_libsystemd_stand_in_show_the_console_log(systemd_container, guest):
    """libsystemd.so.0 missing is stood in for by MICROVM_TEST_NO_LIBSYSTEMD=1: the container's
    systemd needs the real one."""
    c = systemd_container
    install(c, guest, vm(guest, "a", "    autostart = false;"))
    r = c.run(["microvm", "start", "a"], timeout=180)
    assert "a: started" in r.stdout, r.stdout + r.stderr
    wait_guest(c, "a")
    r = c.run(["env", "MICROVM_TEST_NO_LIBSYSTEMD=1", "microvm", "logs", "a"])
    assert "cannot read the journal: libsystemd.so.0: not loaded" in r.stderr, r.stderr
    assert f"showing {CONSOLE_LOG} instead" in r.stderr, r.stderr
    assert r.stdout == c.run(["cat", CONSOLE_LOG]).stdout
    assert "GUEST-UP" in r.stdout.splitlines()
    c.run(["microvm", "stop", "a"], timeout=200)
