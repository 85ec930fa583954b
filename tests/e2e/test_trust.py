"""Root and the VM's user (docs/security.md): what the VM's user plants in its own directory.

STATE/NAME belongs to the hypervisor's user. Whatever is found there (a symlink where the
console log, the lock or a volume would go, a runner that names another virtiofsd, a booted
link for a crash clean-up, a pid) must not make root write, delete, run or signal anything.
Real qemu (TCG), the real virtiofsd, taps in a network namespace of the test's own.
"""
import json
import os
import shutil
import signal
import subprocess

from test_monitor import console, mv, status, wait_for_guest
from test_privileges import identity  # noqa: F401
from test_run import apply, netns, no_processes_left, write_host  # noqa: F401


def installed_runner(state):
    return state / ".runners" / os.readlink(state / ".host" / "g" / "current").split("/")[-1]


def plant(link, target):
    """What a hypervisor escape can do in its own directory: replace anything there."""
    if os.path.lexists(link):
        os.unlink(link)
    os.symlink(target, link)


def evil_runner(tmp_path, state, edit):
    """A copy of the installed runner, its spec changed by `edit`, outside .runners."""
    evil = tmp_path / "evil-runner"
    shutil.copytree(installed_runner(state), evil, symlinks=True)
    spec_path = evil / "share" / "microvm" / "spec.json"
    spec = json.loads(spec_path.read_text())
    edit(spec)
    spec_path.write_text(json.dumps(spec))
    return evil


def marker_program(tmp_path, name, marker):
    """A program that leaves `marker` behind whenever anyone runs it."""
    prog = tmp_path / name
    prog.write_text(f"#!/bin/sh\ntouch {marker}\nexec /usr/lib/qemu/virtiofsd \"$@\"\n")
    prog.chmod(0o755)
    return prog


def with_share(tmp_path, guest, params=()):
    share = tmp_path / "share"
    share.mkdir()
    return write_host(tmp_path, guest, ["microvm.hold=forever", *params], extra=f'''
    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d"; proto = "virtiofs"; }} ];''')


def start_and_stop(microvm, host, state):
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr
    wait_for_guest(state)
    r = mv(microvm, host, "stop", "g")
    assert r.returncode == 0 and r.stdout == "g: stopped\n", r.stderr
    no_processes_left(state)


def test_planted_links_for_console_log_and_lock_are_not_followed(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    victim = tmp_path / "victim"
    victim.write_text("root's file\n")
    for name in ("console.log", "console.log.1", "ready", "restarts", "pid"):
        plant(state / "g" / name, victim)
    plant(state / "g" / "lock", tmp_path / "created-through-lock")
    start_and_stop(microvm, host, state)
    assert victim.read_text() == "root's file\n"
    assert not (tmp_path / "created-through-lock").exists()
    assert "GUEST-UP" in console(state)  # the console went where root keeps it


def test_a_planted_current_runner_is_never_used(microvm, guest, tmp_path):
    """A runner naming another virtiofsd: root must not run it, nor boot that runner."""
    host, state = with_share(tmp_path, guest)
    apply(microvm, host)
    marker = tmp_path / "evil-virtiofsd-ran"
    evil_vfs = marker_program(tmp_path, "evil-virtiofsd", marker)
    evil = evil_runner(
        tmp_path, state,
        lambda s: s["config"]["microvm"].setdefault("virtiofsd", {}).update(
            {"package": str(evil_vfs)}))
    plant(state / "g" / "current", evil)
    plant(state / "g" / "toplevel", evil)
    r = mv(microvm, host, "plan", "--json", "g")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["runner"] == installed_runner(state).name
    start_and_stop(microvm, host, state)
    assert not marker.exists(), "root ran a program named by the VM's user"


def test_a_planted_booted_runner_makes_the_clean_up_delete_nothing(microvm, guest, tmp_path,
                                                                   netns):
    """A crash clean-up reads what to remove from root's booted record only: not from a runner
    the VM's user names, which could list another program's interface or any file."""
    host, state = with_share(tmp_path, guest)
    apply(microvm, host)
    victim = tmp_path / "victim-file"
    victim.write_text("keep me\n")
    evil = evil_runner(tmp_path, state, lambda s: None)
    (evil / "share" / "microvm" / "virtiofs" / "data" / "socket").write_text(f"{victim}\n")
    (evil / "share" / "microvm" / "tap-interfaces").write_text("victim0\n")
    subprocess.run(["ip", "netns", "exec", netns, "ip", "tuntap", "add", "victim0", "mode",
                    "tap"], check=True)
    plant(state / "g" / "booted", evil)
    r = subprocess.run(["ip", "netns", "exec", netns, microvm, "--config", str(host), "start",
                        "g"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "keep me\n"
    links = subprocess.run(["ip", "netns", "exec", netns, "ip", "link"], capture_output=True,
                           text=True).stdout
    assert "victim0" in links
    assert "cleaning up" not in console(state)
    wait_for_guest(state)
    r = subprocess.run(["ip", "netns", "exec", netns, microvm, "--config", str(host), "stop",
                        "g"], capture_output=True, text=True, timeout=200)
    assert r.returncode == 0, r.stderr
    no_processes_left(state)


def test_a_planted_pid_is_never_signalled(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    bystander = subprocess.Popen(["sleep", "300"])
    try:
        with open(f"/proc/{bystander.pid}/stat") as f:
            start = f.read().rsplit(")", 1)[1].split()[19]
        (state / "g" / "pid").write_text(f"{bystander.pid} {start} monitor\n")
        # Not running: nothing holds the VM's lock, whatever a pid file says.
        assert status(microvm, host)["state"] == "not-booted"
        r = mv(microvm, host, "stop", "g")
        assert r.returncode == 0 and r.stdout == "g: not running\n", r.stderr
        assert bystander.poll() is None, "stop signalled a pid read from the VM's directory"
        # Even in root's records a pid alone says nothing: the lock does.
        (state / ".host" / "g" / "pid").write_text(f"{bystander.pid} {start} monitor\n")
        assert status(microvm, host)["state"] == "not-booted"
        r = mv(microvm, host, "stop", "g")
        assert r.returncode == 0 and bystander.poll() is None
        start_and_stop(microvm, host, state)
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_planted_volume_link_reaches_only_what_the_vms_user_could(microvm, guest, tmp_path,
                                                                    identity):  # noqa: F811
    """As microvm:kvm, a volume image the VM's user replaced with a symlink to a root file is
    refused, and the file keeps its owner, mode and content; nothing is created through a
    link either."""
    host, state = write_host(
        tmp_path, guest, [],
        extra='    volumes = [ { image = "var.img"; mountPoint = "/var"; size = 16; } '
              '{ image = "new.img"; mountPoint = "/new"; size = 16; } ];')
    apply(microvm, host)
    (state / "g").mkdir(exist_ok=True)
    secret = tmp_path / "secret"
    secret.write_text("root only\n")
    secret.chmod(0o600)
    plant(state / "g" / "var.img", secret)
    plant(state / "g" / "new.img", tmp_path / "created-through-new")
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 1
    assert "cannot read and write volume" in r.stderr, r.stderr
    st = os.stat(secret)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (0, 0, 0o600)
    assert secret.read_text() == "root only\n"
    assert not (tmp_path / "created-through-new").exists()
    no_processes_left(state)


def test_mkfs_runs_as_the_vms_user(microvm, guest, tmp_path, identity):  # noqa: F811
    """A stand-in mkfs (the real one cannot say who ran it) records its uid: the VM's user,
    so a path swapped under it reaches nothing that user could not write."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)  # the stand-in, as the VM's user, records its uid here
    record = out / "mkfs-ran-as"
    (bindir / "mkfs.standin").write_text(f"#!/bin/sh\nid -u > {record}\n")
    (bindir / "mkfs.standin").chmod(0o755)
    host, state = write_host(
        tmp_path, guest, ["microvm.hold=forever"],
        extra='    volumes = [ { image = "var.img"; mountPoint = "/var"; size = 16; '
              'fsType = "standin"; } ];')
    apply(microvm, host)
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    try:
        r = subprocess.run([microvm, "--config", str(host), "start", "g"], capture_output=True,
                           text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        assert record.read_text().strip() == str(identity[0])
        assert os.stat(state / "g" / "var.img").st_uid == identity[0]
        wait_for_guest(state)
    finally:
        mv(microvm, host, "stop", "g")
    no_processes_left(state)
