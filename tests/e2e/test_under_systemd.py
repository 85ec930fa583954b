"""`microvm run --under-systemd NAME`, the ExecStart of microvm@.service, against its side of
systemd's protocols (a notify socket as systemd makes one; stdout as the journal's stream): the
guest's console goes to the console log, to `microvm console` and to stdout, READY=1 reaches
the unit once the VM is ready, SIGTERM shuts the guest down. Real qemu (TCG). The tests with
systemd itself as PID 1 are in test_nspawn_*."""
import os
import signal
import socket
import subprocess
import time

from test_run import write_host, apply, no_processes_left


def notify_socket(tmp_path, timeout=120):
    """A service manager's notify socket, as systemd makes one: the socket and its path."""
    path = str(tmp_path / "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(timeout)
    return s, path


def test_under_systemd_the_console_is_logged_and_copied_and_ready_is_told(microvm, guest,
                                                                         tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    sock, path = notify_socket(tmp_path)
    out = open(tmp_path / "journal", "wb")
    proc = subprocess.Popen([microvm, "--config", str(host), "run", "--under-systemd", "g"],
                            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                            env=dict(os.environ, NOTIFY_SOCKET=path))
    try:
        msg = sock.recv(4096).decode()
        assert msg == "READY=1", msg
        # Ready came from the run (QMP answers), before the guest printed anything maybe.
        log = state / ".host" / "g" / "console.log"
        end = time.monotonic() + 120
        while "GUEST-UP" not in log.read_text(errors="replace"):
            assert proc.poll() is None, (tmp_path / "journal").read_text(errors="replace")
            assert time.monotonic() < end, log.read_text(errors="replace")[-2000:]
            time.sleep(0.1)
        st = subprocess.run([microvm, "--config", str(host), "status", "--json", "g"],
                            capture_output=True, text=True, timeout=60)
        assert '"running"' in st.stdout, st.stdout
        assert (state / ".host" / "g" / "console.sock").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(120)
        out.close()
    journal = (tmp_path / "journal").read_text(errors="replace").replace("\r", "")
    assert rc == 0, journal[-3000:]
    for marker in ("GUEST-UP", "CTRL-ALT-DEL", "GUEST-DOWN"):
        assert marker in journal.splitlines(), journal[-3000:]
    assert "GUEST-DOWN" in log.read_text(errors="replace")
    no_processes_left(state)


def test_plain_run_keeps_the_console_on_its_terminal(microvm, guest, tmp_path):
    """Without --under-systemd nothing changes: no pty, no console log, no READY=1."""
    host, state = write_host(tmp_path, guest, [])
    apply(microvm, host)
    sock, path = notify_socket(tmp_path)
    sock.settimeout(0.1)
    r = subprocess.run([microvm, "--config", str(host), "run", "g"], capture_output=True,
                       text=True, timeout=120, env=dict(os.environ, NOTIFY_SOCKET=path))
    assert r.returncode == 0, r.stderr
    assert "GUEST-DOWN" in r.stdout.replace("\r", "").splitlines()
    assert not (state / ".host" / "g" / "console.log").exists()
    try:
        msg = sock.recv(4096)
    except socket.timeout:
        msg = b""
    assert msg == b""
