"""microvm -s NAME (ssh over vsock). No guest can take a vsock connection here (no
vhost-vsock) and cloud-hypervisor is not packaged for Debian, so a stand-in hypervisor takes
cloud-hypervisor's command line and serves its hybrid vsock socket: it answers CONNECT 22 as
cloud-hypervisor does, then plays a guest's sshd far enough to record the banner the real ssh
client sends through microvm's proxy. The ssh client, the proxy and the monitor are real."""
import os
import subprocess
import textwrap

from test_notify import mv

STAND_IN = textwrap.dedent('''\
    #!/usr/bin/python3
    # Stand-in for cloud-hypervisor: ready at once over notify.vsock_8888, and a hybrid vsock
    # mux on notify.vsock whose port 22 records what the client sends first.
    import os, signal, socket, sys, time
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    vsock = sys.argv[sys.argv.index("--vsock") + 1]
    path = dict(p.split("=", 1) for p in vsock.split(","))["socket"]
    mux = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mux.bind(path)
    mux.listen(4)
    time.sleep(0.2)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path + "_8888")
    s.sendall(b"READY=1\\n")
    s.close()
    record = sys.argv[sys.argv.index("--cmdline") + 1].split("standin.record=")[1].split()[0]
    while True:
        c, _ = mux.accept()
        line = b""
        while not line.endswith(b"\\n"):
            line += c.recv(1)
        if line != b"CONNECT 22\\n":
            c.close()
            continue
        c.sendall(b"OK 1073741824\\n")
        c.sendall(b"SSH-2.0-standin\\r\\n")
        got = c.recv(256)
        with open(record, "wb") as f:
            f.write(got)
        c.close()
    ''')


def write_host(tmp_path, guest, cid="vsock.cid = 7;"):
    state = tmp_path / "state"
    stand_in = tmp_path / "cloud-hypervisor-stand-in"
    stand_in.write_text(STAND_IN)
    stand_in.chmod(0o755)
    records = tmp_path / "records"
    records.mkdir()
    records.chmod(0o777)  # the stand-in, as the VM's user, writes its record here
    record = records / "record"
    host = tmp_path / "host.nix"
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
  microvm.host.useNotifySockets = true;
  microvm.vms.g.config.microvm = {{
    hypervisor = "cloud-hypervisor";
    cloud-hypervisor.package = "{stand_in}";
    kernel = "{guest.kernel}"; initrdPath = "{guest.initrd}";
    {cid}
    kernelParams = [ "standin.record={record}" ];
  }};
}}
''')
    return host, state, record


def test_ssh_reaches_the_guest_through_the_hybrid_vsock_with_stand_in_hypervisor(
        microvm, guest, tmp_path):
    host, state, record = write_host(tmp_path, guest)
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr
    try:
        r = subprocess.run([microvm, "--config", str(host), "-s", "g", "--",
                            "-o", "ConnectTimeout=20", "-o", "BatchMode=yes"],
                           capture_output=True, text=True, timeout=60)
        # The stand-in is no sshd: ssh gives up after the banners.
        assert r.returncode != 0
        assert "Connecting to g via VSOCK..." in r.stderr, r.stderr
        assert record.read_bytes().startswith(b"SSH-2.0-OpenSSH"), (record.read_bytes(),
                                                                   r.stderr)
        # The proxy alone: CONNECT, then the guest's bytes on stdout.
        p = subprocess.run([microvm, "--config", str(host), "vsock-proxy", "g", "22"],
                           input=b"hello\n", capture_output=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert p.stdout == b"SSH-2.0-standin\r\n" and record.read_bytes() == b"hello\n"
        # What ssh is asked to do: ssh -G prints its configuration without connecting.
        g = subprocess.run([microvm, "--config", str(host), "ssh", "g", "--", "-G"],
                           capture_output=True, text=True, timeout=30)
        assert g.returncode == 0, g.stderr
        assert "proxycommand microvm vsock-proxy %n %p" in g.stdout, g.stdout
        assert "stricthostkeychecking false" in g.stdout, g.stdout
    finally:
        assert mv(microvm, host, "stop", "g").returncode == 0


def test_ssh_says_what_is_missing(microvm, guest, tmp_path):
    host, state, _ = write_host(tmp_path, guest)
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    r = mv(microvm, host, "ssh", "g")
    assert r.returncode == 1 and "vm g is not running" in r.stderr, r.stderr
    r = mv(microvm, host, "-s", "../etc")
    assert r.returncode == 2 and "is not a VM name" in r.stderr, r.stderr
    r = mv(microvm, host, "vsock-proxy", "g", "port")
    assert r.returncode == 2 and "is not a port" in r.stderr, r.stderr


def test_a_foreign_cloud_hypervisor_runner_is_ready_on_notify_and_reachable_with_stand_in(
        microvm, guest, tmp_path):
    """A runner as microvm.nix builds it for cloud-hypervisor with a vsock CID: ready when the
    guest says READY=1 (microvm.nix's Type=notify for it), and -s reaches it."""
    _, _, record = write_host(tmp_path, guest)
    stand_in = tmp_path / "cloud-hypervisor-stand-in"
    runner = tmp_path / "runner"
    (runner / "bin").mkdir(parents=True)
    (runner / "share" / "microvm").mkdir(parents=True)
    run = runner / "bin" / "microvm-run"
    run.write_text(f"#!/bin/sh\nexec {stand_in} --vsock cid=9,socket=notify.vsock "
                   f"--cmdline 'console=ttyS0 standin.record={record}'\n")
    run.chmod(0o755)
    (runner / "share" / "microvm" / "hypervisor").write_text("cloud-hypervisor\n")
    (runner / "share" / "microvm" / "vsock-cid").write_text("9\n")
    subprocess.run(["chmod", "-R", "a+rX", str(runner)], check=True)
    state = tmp_path / "state2"
    host = tmp_path / "host2.nix"
    host.write_text(f'{{ microvm.stateDir = "{state}"; }}\n')
    assert mv(microvm, host, "install", "f", str(runner)).returncode == 0
    r = mv(microvm, host, "plan", "--json", "f")
    assert r.returncode == 0 and '"readiness": "notify"' in r.stdout, r.stdout + r.stderr
    r = mv(microvm, host, "start", "f")
    assert r.returncode == 0, r.stderr
    try:
        log = (state / ".host" / "f" / "console.log").read_text()
        assert "the guest is ready (READY=1)" in log, log
        r = subprocess.run([microvm, "--config", str(host), "-s", "f", "--",
                            "-o", "ConnectTimeout=20", "-o", "BatchMode=yes"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0
        assert record.read_bytes().startswith(b"SSH-2.0-OpenSSH"), r.stderr
    finally:
        assert mv(microvm, host, "stop", "f").returncode == 0
