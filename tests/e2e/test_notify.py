"""Readiness over vsock (microvm.host.useNotifySockets).

cloud-hypervisor is not packaged for Debian, and no guest can open a vsock
connection here (no vhost-vsock), so these tests run a stand-in hypervisor:
a small program taking cloud-hypervisor's command line that, like the real
one, connects to STATE/NAME/notify.vsock_8888 and passes on what the
guest's systemd sends. Everything on the host side is the real code path:
start, the monitor, the listener, the relay to $NOTIFY_SOCKET.
"""
import json
import os
import socket
import subprocess
import textwrap
import time

from test_run import no_processes_left  # noqa: F401

STAND_IN = textwrap.dedent('''\
    #!/usr/bin/python3
    # Stand-in for cloud-hypervisor: forwards the "guest's" READY=1 over hybrid vsock.
    import signal, socket, sys, time
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    cmdline = sys.argv[sys.argv.index("--cmdline") + 1]
    mode = [p.split("=", 1)[1] for p in cmdline.split() if p.startswith("standin.notify=")][0]
    print("stand-in hypervisor up, notify:", mode, flush=True)
    if mode == "yes":
        time.sleep(0.5)  # the guest boots
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect("notify.vsock_8888")
        # What systemd sends, and what a hostile guest adds to it.
        s.sendall(b"MAINPID=1\\nSTATUS=booted \\x1b[1mfine\\xff\\nSTOPPING=1\\nREADY=1\\n"
                  b"WATCHDOG=trigger\\nEXTEND_TIMEOUT_USEC=999999999\\n")
        s.shutdown(socket.SHUT_WR)
        s.recv(1)  # as systemd 256 does: wait for the host to close
        s.close()
    while True:
        time.sleep(1)
    ''')


def write_host(tmp_path, guest, notify, timeout=150, use_notify=True):
    state = tmp_path / "state"
    stand_in = tmp_path / "cloud-hypervisor-stand-in"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    host = tmp_path / "host.nix"
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
  microvm.host.useNotifySockets = {"true" if use_notify else "false"};
  microvm.host.startupTimeout = {timeout};
  microvm.vms.g.config.microvm = {{
    hypervisor = "cloud-hypervisor";
    cloud-hypervisor.package = "{stand_in}";
    kernel = "{guest.kernel}"; initrdPath = "{guest.initrd}";
    vsock.cid = 5;
    kernelParams = [ "standin.notify={notify}" ];
  }};
}}
''')
    return host, state


def mv(microvm, host, *args, env=None, timeout=60):
    return subprocess.run([microvm, "--config", str(host), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def status(microvm, host):
    r = mv(microvm, host, "status", "--json", "g")
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_start_waits_for_ready_and_relays_it_with_stand_in_hypervisor(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, "yes")
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(tmp_path / "notify"))
    manager.settimeout(5)
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"))
    try:
        r = mv(microvm, host, "start", "g", env=env)
        assert r.returncode == 0 and r.stdout == "g: started\n", r.stderr
        st = status(microvm, host)
        assert st["state"] == "running" and st["ready"] is True
        log = (state / ".host" / "g" / "console.log").read_text()
        assert "the guest is ready (READY=1)" in log, log
        # start says the VMs are ready to the service manager it runs under.
        assert manager.recv(4096) == b"READY=1"
    finally:
        r = mv(microvm, host, "stop", "g")
        manager.close()
    assert r.returncode == 0, r.stderr
    assert not (state / "g" / "notify.vsock_8888").exists()
    assert not (state / ".host" / "g" / "ready").exists()
    no_processes_left(state)


def test_run_relays_the_guests_readiness_only_with_stand_in_hypervisor(microvm, guest, tmp_path):
    """In the foreground, under a service manager: the guest's READY=1 and its status, made
    printable, go to it; what would steer the host's unit (MAINPID=, STOPPING=1, ...) never
    does."""
    host, state = write_host(tmp_path, guest, "yes")
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(tmp_path / "notify"))
    manager.settimeout(20)
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"))
    proc = subprocess.Popen([microvm, "--config", str(host), "run", "g"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert manager.recv(4096) == b"READY=1\nSTATUS=booted [1mfine\xef\xbf\xbd"
        for _ in range(50):  # marked ready right after the relay
            if (state / ".host" / "g" / "ready").exists():
                break
            time.sleep(0.1)
        assert (state / ".host" / "g" / "ready").exists()
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0].decode()
        # The run has ended: whatever it relayed is queued by now.
        manager.setblocking(False)
        rest = []
        while True:
            try:
                rest.append(manager.recv(4096))
            except BlockingIOError:
                break
        manager.close()
    assert "the guest is ready" in out, out
    for datagram in rest:
        for key in (b"MAINPID=", b"STOPPING=", b"WATCHDOG=", b"EXTEND_TIMEOUT_USEC="):
            assert key not in datagram, rest
    no_processes_left(state)


def test_no_ready_within_the_timeout_fails_the_start_with_stand_in_hypervisor(
        microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, "no", timeout=3)
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 1
    assert "not ready within 3 s" in r.stderr and "no READY=1 from the guest" in r.stderr, \
        r.stderr
    st = status(microvm, host)
    assert st["state"] == "not-booted" and st["pid"] is None
    no_processes_left(state)


def test_without_notify_sockets_running_is_ready_with_stand_in_hypervisor(
        microvm, guest, tmp_path):
    """microvm.nix makes a cloud-hypervisor VM with a vsock wait for READY=1 anyway;
    this one has none, so the hypervisor being up is enough."""
    host, state = write_host(tmp_path, guest, "no", use_notify=False)
    text = host.read_text().replace("vsock.cid = 5;", "")
    host.write_text(text)
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr
    assert status(microvm, host)["ready"] is True
    assert mv(microvm, host, "stop", "g").returncode == 0
    no_processes_left(state)


def test_notify_sockets_need_a_vsock_cid(microvm, guest, tmp_path):
    host, _ = write_host(tmp_path, guest, "yes")
    host.write_text(host.read_text().replace("vsock.cid = 5;", ""))
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    r = mv(microvm, host, "plan", "g")
    assert r.returncode == 2
    assert "microvm.vsock.cid is not set" in r.stderr, r.stderr
    assert "microvm.vms.g.config.microvm.vsock.cid" in r.stderr


def test_qemu_is_told_its_own_notify_port(microvm, guest, tmp_path):
    host, _ = write_host(tmp_path, guest, "yes")
    text = host.read_text().replace('hypervisor = "cloud-hypervisor";', 'hypervisor = "qemu";')
    host.write_text(text.replace("cloud-hypervisor.package", "# "))
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    r = mv(microvm, host, "plan", "--json", "g")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["notify"] == {"vsockCid": 5, "vsockPort": 8893}
    argv = plan["command"]["argv"]
    smbios = [argv[i + 1] for i, a in enumerate(argv) if a == "-smbios"]
    assert ("type=11,value=io.systemd.credential:vmm.notify_socket=vsock-stream:2:8893"
            in smbios), argv

