"""Started as root, the hypervisor runs as microvm:kvm, as microvm.nix's microvm@ unit runs it.

Real qemu (TCG) and the real virtiofsd. These machines have no user microvm and no group kvm:
the module creates what is missing and removes what it created (CI machines are fresh).
"""
import grp
import json
import os
import pwd
import resource
import signal
import stat
import subprocess
import time

import pytest

from test_monitor import console, hypervisor_pid, mv, proc_limits, status, wait_for_guest
from test_run import apply, no_processes_left, write_host  # noqa: F401


def _run(*cmd):
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def identity():
    """(uid, gid) of microvm:kvm, created when absent and removed again afterwards."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the hypervisor switches user only when started as root")
    made_group = made_user = False
    try:
        grp.getgrnam("kvm")
    except KeyError:
        _run("groupadd", "--system", "kvm")
        made_group = True
    try:
        pwd.getpwnam("microvm")
    except KeyError:
        _run("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
             "-g", "kvm", "microvm")
        made_user = True
    try:
        yield pwd.getpwnam("microvm").pw_uid, grp.getgrnam("kvm").gr_gid
    finally:
        if made_user:
            _run("userdel", "microvm")
        if made_group:
            _run("groupdel", "kvm")


def proc_status(pid):
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def memlock_limits(pid):
    return proc_limits(pid, "Max locked memory")


def expected_memlock():
    """Infinity, as microvm.nix's LimitMEMLOCK=infinity, where root may raise a hard limit
    (CAP_SYS_RESOURCE); without that capability the most there is: the hard limit."""
    if subprocess.run(["prlimit", "--memlock=unlimited:unlimited", "true"],
                      capture_output=True).returncode == 0:
        return ("unlimited", "unlimited")
    hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)[1]
    word = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    return (word, word)


def owner(path):
    st = os.lstat(path)
    return st.st_uid, st.st_gid


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children", encoding="utf-8") as f:
        return [int(c) for c in f.read().split()]


def comm(pid):
    with open(f"/proc/{pid}/comm", encoding="utf-8") as f:
        return f.read().strip()


def share_host(tmp_path, guest, params, extra=""):
    share = tmp_path / "share"
    share.mkdir()
    token = os.urandom(6).hex()
    (share / "marker").write_text(token + "\n")
    host, state = write_host(
        tmp_path, guest, ["microvm.shares=data:virtiofs", *params],
        extra=f'''    shares = [
      {{ tag = "data"; source = "{share}"; mountPoint = "/data"; proto = "virtiofs"; }}
    ];
{extra}''')
    return host, state, token


def test_hypervisor_runs_as_microvm_kvm(microvm, guest, tmp_path, identity):
    uid, gid = identity
    host, state, token = share_host(
        tmp_path, guest, ["microvm.hold=forever"],
        extra='    volumes = [ { image = "var.img"; mountPoint = "/var"; size = 16; } ];')
    apply(microvm, host)
    r = mv(microvm, host, "plan", "--json", "g")
    assert r.returncode == 0, r.stderr
    run_as = json.loads(r.stdout)["runAs"]
    assert run_as["switch"] and (run_as["uid"], run_as["gid"]) == (uid, gid), run_as

    try:
        check_running_as_microvm_kvm(microvm, host, state, token, uid, gid)
    finally:
        mv(microvm, host, "stop", "g")  # a failure must not leave the VM to the next test


def check_running_as_microvm_kvm(microvm, host, state, token, uid, gid):
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr
    wait_for_guest(state)
    wait_for_guest(state, f"SHARE data {token}")

    qemu = proc_status(hypervisor_pid(state))
    assert qemu["Uid"].split() == [str(uid)] * 4, qemu["Uid"]
    assert qemu["Gid"].split() == [str(gid)] * 4, qemu["Gid"]
    assert set(qemu["Groups"].split()) <= {str(gid)}, qemu["Groups"]
    assert memlock_limits(hypervisor_pid(state)) == expected_memlock()

    # virtiofsd stays root: its sandbox (namespaces or chroot) needs it.
    helpers = [p for p in children(status(microvm, host)["pid"]) if comm(p) == "virtiofsd"]
    assert helpers and all(proc_status(p)["Uid"].split() == ["0"] * 4 for p in helpers)

    # The hypervisor's own socket, made with its umask: its user's, for its group.
    st = os.lstat(state / "g" / "g.sock")
    assert stat.S_ISSOCK(st.st_mode)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o660, uid, gid)
    # virtiofsd's, bound by root and handed over: root's, for the hypervisor's group.
    st = os.lstat(state / "g" / "g-virtiofs-data.sock")
    assert stat.S_ISSOCK(st.st_mode)
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o660, 0, gid)
    # The VM's directory is its user's (microvm.nix's layout); root's records are not.
    assert owner(state / "g") == (uid, gid)
    assert owner(state / "g" / "var.img") == (uid, gid)
    assert owner(state) == (0, 0) and stat.S_IMODE(os.stat(state).st_mode) == 0o755
    for rec in ("", "current", "booted", "pid", "lock", "console.log", "control.sock"):
        assert owner(state / ".host" / "g" / rec) == (0, 0), rec
    assert stat.S_IMODE(os.lstat(state / ".host" / "g" / "control.sock").st_mode) == 0o600

    # The CLI, as root, still reaches the guest through the 0660 socket.
    r = mv(microvm, host, "stop", "g")
    assert r.returncode == 0 and r.stdout == "g: stopped\n", r.stderr
    log = console(state)
    assert "CTRL-ALT-DEL" in log and "GUEST-DOWN" in log, log[-2000:]
    assert status(microvm, host)["state"] == "not-booted"
    no_processes_left(state)


def test_a_kernel_the_hypervisor_cannot_read_is_refused_early(microvm, guest, tmp_path,
                                                              identity):
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    kernel = private / "vmlinux"
    kernel.write_text("never booted: refused before the hypervisor starts\n")
    host, state = write_host(tmp_path, guest, [])
    host.write_text(host.read_text().replace(str(guest.kernel), str(kernel)))
    apply(microvm, host)
    r = mv(microvm, host, "run", "g", timeout=60)
    assert r.returncode == 1, r.stderr
    assert (f"the hypervisor runs as microvm:kvm and cannot read microvm.kernel {kernel}: "
            "Permission denied") in r.stderr, r.stderr
    assert "hint: make it readable by user microvm or group kvm" in r.stderr, r.stderr
    assert not (state / "g" / "booted").exists()


def without_user_microvm(tmp_path, cmd):
    """cmd in a mount namespace whose /etc/passwd has no user microvm: the host keeps its own."""
    passwd = tmp_path / "passwd"
    with open("/etc/passwd", encoding="utf-8") as f:
        passwd.write_text("".join(line for line in f if not line.startswith("microvm:")))
    script = 'mount --bind "$1" /etc/passwd && shift && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
            str(passwd), *cmd]


def test_without_the_user_the_hypervisor_stays_root_and_says_so(microvm, guest, tmp_path,
                                                                identity):
    host, state, token = share_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            without_user_microvm(tmp_path, [microvm, "-v", "--config", str(host), "run", "g"]),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        end = time.monotonic() + 90
        while f"SHARE data {token}" not in log_path.read_text(errors="replace").splitlines():
            assert proc.poll() is None and time.monotonic() < end, log_path.read_text()[-3000:]
            time.sleep(0.1)
        qemu = proc_status(hypervisor_pid(state))
        assert qemu["Uid"].split() == ["0"] * 4, qemu["Uid"]
        assert memlock_limits(hypervisor_pid(state)) == expected_memlock()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = log_path.read_text(errors="replace")
    assert text.count("info: the hypervisor runs as root:root: there is no user microvm") == 1, \
        text[-3000:]
    assert "GUEST-DOWN" in text
    no_processes_left(state)
