"""Runners that microvm.nix built (bin/microvm-run, share/microvm/*, no spec of ours), installed
with `microvm install` and run under a monitor: taps, virtiofsd and a graceful stop through the
runner's own bin/microvm-shutdown. Real qemu (TCG), real virtiofsd, a real tap in a network
namespace, socat for the shutdown as microvm.nix's qemu runner does it."""
import json
import os
import shlex
import subprocess

import pytest

from test_run import write_host, netns, no_processes_left  # noqa: F401
from test_monitor import mv

QMP = ['{"execute":"qmp_capabilities"}',
       '{"execute":"input-send-event","arguments":{"events":['
       '{"type":"key","data":{"down":true,"key":{"type":"qcode","data":"ctrl"}}},'
       '{"type":"key","data":{"down":true,"key":{"type":"qcode","data":"alt"}}},'
       '{"type":"key","data":{"down":true,"key":{"type":"qcode","data":"delete"}}}]}}']


def foreign_runner(microvm, tmp_path, guest, *, seed_layout=False, extra="", params=()):
    """A runner laid out as microvm.nix's lib/runner.nix lays it out, whose bin/microvm-run
    runs qemu with the command line microvm builds for the same guest (checked word for word
    against microvm.nix's in tests/cases). seed_layout: 77f0b82's, without
    share/microvm/hypervisor, the hypervisor only in the directory's name."""
    ref = tmp_path / "reference"
    ref.mkdir()
    host, _ = write_host(ref, guest, list(params), extra=extra)
    host.write_text(host.read_text().replace("microvm.vms.g.", "microvm.vms.f."))
    r = mv(microvm, host, "apply", "--no-start")
    assert r.returncode == 0, r.stderr
    r = mv(microvm, host, "plan", "--json", "f")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert not plan["command"]["files"], plan["command"]
    runner = tmp_path / ("xyz-microvm-qemu-f" if seed_layout else "runner")
    share = runner / "share" / "microvm"
    (runner / "bin").mkdir(parents=True)
    share.mkdir(parents=True)
    run = runner / "bin" / "microvm-run"
    run.write_text("#!/bin/sh\nset -eu\nexec " + shlex.join(plan["command"]["argv"]) + "\n")
    stop = runner / "bin" / "microvm-shutdown"
    socket = plan["socket"]
    stop.write_text("#!/bin/sh\n"
                    f"[ -S {socket} ] || exit 0\n"
                    "( " + "; ".join(f"echo {shlex.quote(m)}" for m in QMP) + "; cat ) | "
                    f"socat STDIO UNIX:{socket},shut-none\n")
    for f in (run, stop):
        f.chmod(0o755)
    if not seed_layout:
        (share / "hypervisor").write_text("qemu\n")
    (share / "tap-flags").write_text("vnet_hdr\n")
    taps = [i["id"] for i in plan["interfaces"] if i["type"] == "tap"]
    if taps:
        (share / "tap-interfaces").write_text("".join(t + "\n" for t in taps))
    for v in plan["virtiofsd"]:
        d = share / "virtiofs" / v["tag"]
        d.mkdir(parents=True)
        (d / "socket").write_text(v["socket"] + "\n")
        src = next(a for a in v["argv"] if a.startswith(("source=", "--shared-dir=")))
        (d / "source").write_text(src.split("=", 1)[1] + "\n")
    subprocess.run(["chmod", "-R", "a+rX", str(tmp_path)], check=True)
    return runner


def host_b(tmp_path, host_extra=""):
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'{{\n  microvm.stateDir = "{state}";\n{host_extra}\n}}\n')
    return host, state


def tun_closed_to_the_vm_user():
    """Where user microvm exists and /dev/net/tun is 0600, a runner that opens its taps by name
    (all of microvm.nix's do) cannot get them: that must be a clear error."""
    try:
        subprocess.run(["id", "microvm"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        return False
    return not os.stat("/dev/net/tun").st_mode & 0o006


def test_a_runner_built_by_microvm_nix_boots_with_a_tap_and_a_share(microvm, guest, tmp_path,
                                                                     netns):
    data = tmp_path / "data"
    data.mkdir()
    (data / "marker").write_text("foreign\n")
    runner = foreign_runner(
        microvm, tmp_path, guest,
        params=["microvm.ip=10.78.0.2/24", "microvm.ping=10.78.0.1",
                "microvm.shares=data:virtiofs", "microvm.hold=forever"],
        extra=f'''    interfaces = [ {{ type = "tap"; id = "vm-f"; mac = "02:00:00:00:00:07"; }} ];
    shares = [ {{ tag = "data"; source = "{data}"; mountPoint = "/d"; proto = "virtiofs"; }} ];''')
    host, state = host_b(tmp_path, '''  microvm.host.tapScript = "ip addr add 10.78.0.1/24 dev \\"$id\\" && ip link set \\"$id\\" up";''')
    r = mv(microvm, host, "install", "f", str(runner))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("f: installed "), r.stdout
    assert (state / "f" / "current" / "bin" / "microvm-run").exists()

    start = subprocess.run(["ip", "netns", "exec", netns, microvm, "--config", str(host),
                            "start", "f"], capture_output=True, text=True, timeout=120)
    if tun_closed_to_the_vm_user():
        assert start.returncode == 1, start.stderr
        assert "/dev/net/tun" in start.stderr, start.stderr
        return
    assert start.returncode == 0, start.stderr + console_f(state)
    try:
        wait_for(state, "PING 10.78.0.1 ok")
        wait_for(state, "SHARE data foreign")
        st = json.loads(mv(microvm, host, "status", "--json", "f").stdout)
        assert st["state"] == "running" and st["hypervisor"] == "qemu", st
    finally:
        stop = mv(microvm, host, "stop", "f")
    assert stop.returncode == 0, stop.stderr
    log = console_f(state)
    assert "shutting the guest down (runner-script)" in log, log[-3000:]
    assert "CTRL-ALT-DEL" in log.splitlines() and "GUEST-DOWN" in log.splitlines(), log[-3000:]
    links = subprocess.run(["ip", "-n", netns, "link"], capture_output=True, text=True).stdout
    assert "vm-f" not in links
    assert not (state / ".host" / "f" / "booted").exists()
    no_foreign_processes(state)


def console_f(state):
    path = state / ".host" / "f" / "console.log"
    return path.read_text(errors="replace") if path.exists() else ""


def wait_for(state, marker, timeout=120):
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if marker in console_f(state).splitlines():
            return
        time.sleep(0.1)
    pytest.fail(f"no {marker} in the console log:\n{console_f(state)[-3000:]}")


def no_foreign_processes(state):
    vm_dir = str(state / "f")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        assert cwd != vm_dir, f"left behind: {pid}"


def test_a_seed_layout_runner_is_known_by_its_name_and_stopped_without_shutdown_script(
        microvm, guest, tmp_path):
    """77f0b82's runners have no share/microvm/hypervisor; without bin/microvm-shutdown
    (microvm.nix omits it where it cannot shut down), a stop sends SIGTERM."""
    runner = foreign_runner(microvm, tmp_path, guest, seed_layout=True,
                            params=["microvm.hold=forever"])
    (runner / "bin" / "microvm-shutdown").unlink()
    host, state = host_b(tmp_path)
    r = mv(microvm, host, "install", "f", str(runner))
    assert r.returncode == 0, r.stderr
    copy = os.path.realpath(state / ".host" / "f" / "current")
    with open(os.path.join(copy, "share", "microvm", "hypervisor")) as f:
        assert f.read() == "qemu\n"
    r = mv(microvm, host, "start", "f")
    assert r.returncode == 0, r.stderr
    try:
        wait_for(state, "GUEST-UP")
    finally:
        stop = mv(microvm, host, "stop", "f")
    assert stop.returncode == 0, stop.stderr
    assert "no graceful shutdown for qemu: stopping it with SIGTERM" in console_f(state)
    no_foreign_processes(state)


def test_install_refuses_what_is_not_a_runner_and_keeps_the_one_installed(microvm, guest,
                                                                         tmp_path):
    runner = foreign_runner(microvm, tmp_path, guest)
    host, state = host_b(tmp_path)
    assert mv(microvm, host, "install", "f", str(runner)).returncode == 0
    before = os.readlink(state / ".host" / "f" / "current")

    cases = {}
    empty = tmp_path / "empty"
    empty.mkdir()
    cases["empty"] = (empty, "has neither bin/microvm-run nor share/microvm/spec.json")
    unknown = tmp_path / "unknown"
    subprocess.run(["cp", "-a", str(runner), str(unknown)], check=True)
    (unknown / "share" / "microvm" / "hypervisor").write_text("vmware\n")
    cases["unknown"] = (unknown, "is for hypervisor 'vmware', which microvm does not know")
    fifo = tmp_path / "fifo"
    subprocess.run(["cp", "-a", str(runner), str(fifo)], check=True)
    os.mkfifo(fifo / "share" / "microvm" / "pipe")
    cases["fifo"] = (fifo, "is not a file, directory or symlink")
    secret = tmp_path / "secret"
    subprocess.run(["cp", "-a", str(runner), str(secret)], check=True)
    (secret / "share" / "microvm" / "key").write_text("x")
    (secret / "share" / "microvm" / "key").chmod(0o600)
    cases["unreadable"] = (secret, "is not readable by everyone")
    cases["missing"] = (tmp_path / "nowhere", "No such file or directory")
    for what, (path, message) in cases.items():
        r = mv(microvm, host, "install", "f", str(path))
        assert r.returncode == 1, (what, r.stdout, r.stderr)
        assert message in r.stderr, (what, r.stderr)
        assert "the runner installed before stays" in r.stderr, r.stderr
        assert os.readlink(state / ".host" / "f" / "current") == before, what
    r = mv(microvm, host, "install", "../x", str(runner))
    assert r.returncode == 2 and "is not a VM name" in r.stderr, r.stderr
    # The same runner again: the same copy, reported unchanged.
    r = mv(microvm, host, "install", "f", str(runner))
    assert r.returncode == 0 and r.stdout.startswith("f: unchanged,"), r.stdout
    assert len(os.listdir(state / ".runners")) == 1, os.listdir(state / ".runners")


def test_our_runners_have_microvm_nix_entry_points(microvm, guest, tmp_path):
    """STATE/NAME/current/bin/microvm-run runs the VM in the foreground and
    bin/microvm-shutdown stops it, as scripts expect of microvm.nix's runners."""
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    r = mv(microvm, host, "apply", "--no-start")
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, MICROVM_CONFIG=str(host))
    log = open(tmp_path / "run.log", "wb")
    proc = subprocess.Popen([str(state / "g" / "current" / "bin" / "microvm-run")], env=env,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        import time
        end = time.monotonic() + 120
        while b"GUEST-UP" not in (tmp_path / "run.log").read_bytes():
            assert proc.poll() is None, (tmp_path / "run.log").read_text(errors="replace")
            assert time.monotonic() < end, "no GUEST-UP"
            time.sleep(0.1)
        r = subprocess.run([str(state / "g" / "current" / "bin" / "microvm-shutdown")], env=env,
                           capture_output=True, text=True, timeout=200)
        assert r.returncode == 0, r.stderr
        assert proc.wait(200) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    text = (tmp_path / "run.log").read_text(errors="replace").replace("\r", "")
    assert "GUEST-DOWN" in text.splitlines(), text[-3000:]
    r = subprocess.run([str(state / "g" / "current" / "bin" / "microvm-run"), "extra"], env=env,
                       capture_output=True, text=True)
    assert r.returncode == 2 and "takes no arguments" in r.stderr, r.stderr
    no_processes_left(state)


def test_a_runners_tap_up_and_tap_down_make_and_remove_its_taps(microvm, guest, tmp_path,
                                                                 netns):
    """Today's microvm.nix runners bring bin/tap-up and bin/tap-down (with the lines a guest's
    binScripts added, here an address for the host's side): microvm runs them as microvm.nix's
    tap unit does, as root, instead of creating the taps itself and running tapScript."""
    runner = foreign_runner(
        microvm, tmp_path, guest,
        # Held up: a guest that powered off would be started again by the monitor, and a stop
        # in its next boot could come before its keyboard driver (running.md).
        params=["microvm.ip=10.78.2.2/24", "microvm.ping=10.78.2.1", "microvm.hold=forever"],
        extra='''    interfaces = [ { type = "tap"; id = "vm-f"; mac = "02:00:00:00:00:07"; } ];''')
    down = tmp_path / "tap-down-ran"
    owner = "microvm" if subprocess.run(["id", "microvm"], capture_output=True).returncode == 0 \
        else "root"
    (runner / "bin" / "tap-up").write_text(
        "#!/bin/sh\nset -eu\n"
        "if [ -e /sys/class/net/vm-f ]; then ip link delete vm-f; fi\n"
        f"ip tuntap add name vm-f mode tap user {owner} vnet_hdr\n"
        "ip link set vm-f up\n"
        "ip addr add 10.78.2.1/24 dev vm-f\n")
    (runner / "bin" / "tap-down").write_text(
        f"#!/bin/sh\nip link delete vm-f\necho ran > {down}\n")
    for f in ("tap-up", "tap-down"):
        (runner / "bin" / f).chmod(0o755)
    # The host's tapScript is not run for such a runner: it would fail the start.
    host, state = host_b(tmp_path, '''  microvm.host.tapScript = "exit 9";''')
    assert mv(microvm, host, "install", "f", str(runner)).returncode == 0
    plan = mv(microvm, host, "plan", "f").stdout
    assert "the runner's up script makes it" in plan and "bin/tap-up" in plan, plan
    start = subprocess.run(["ip", "netns", "exec", netns, microvm, "--config", str(host),
                            "start", "f"], capture_output=True, text=True, timeout=120)
    if tun_closed_to_the_vm_user():
        assert start.returncode == 1, start.stderr
        return
    assert start.returncode == 0, start.stderr + console_f(state)
    try:
        wait_for(state, "PING 10.78.2.1 ok")
    finally:
        stop = mv(microvm, host, "stop", "f")
    assert stop.returncode == 0, stop.stderr
    assert down.read_text() == "ran\n"
    links = subprocess.run(["ip", "-n", netns, "link"], capture_output=True, text=True).stdout
    assert "vm-f" not in links
    no_foreign_processes(state)
