"""microvm apply and gc on a real state directory: runners, links, idempotence, crashes."""
import json
import os
import random
import signal
import subprocess
import time





def vm(name, extra=""):
    return (f'  microvm.vms.{name}.config.microvm = {{ kernel = "/boot/k"; initrdPath = "/boot/i"; '
            f'{extra} }};\n')


def write_host(tmp_path, body, state=None):
    state = state or tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'{{\n  microvm.stateDir = "{state}";\n{body}}}\n')
    return host, state


def apply(microvm, host, *args, check=True):
    r = subprocess.run([microvm, "--config", str(host), "apply", "--no-start", *args],
                       capture_output=True, text=True, timeout=120)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def runner_of(state, name, link="current"):
    target = os.readlink(state / name / link)
    assert target.startswith("../.runners/")
    return target[len("../.runners/"):]


def snapshot(state):
    """Everything under the state directory with its inode and mtime."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(state):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            out[os.path.relpath(p, state)] = (st.st_ino, st.st_mtime_ns)
    return out


def test_apply_installs_runners_in_microvm_nix_layout(microvm, tmp_path):
    host, state = write_host(tmp_path, vm("web", 'interfaces = [ { type = "tap"; id = "vm-web"; '
                                                 'mac = "02:00:00:00:00:01"; } ]; '
                                                 'shares = [ { tag = "data"; source = "/srv"; '
                                                 'mountPoint = "/data"; proto = "virtiofs"; } ]; '
                                                 'vsock.cid = 7; vcpu = 2;'))
    r = apply(microvm, host)
    runner = runner_of(state, "web")
    assert f"web: installed {runner}" in r.stdout
    assert runner_of(state, "web", "toplevel") == runner
    share = state / ".runners" / runner / "share" / "microvm"
    assert (share / "hypervisor").read_text() == "qemu\n"
    assert (share / "tap-interfaces").read_text() == "vm-web\n"
    assert (share / "tap-flags").read_text() == "vnet_hdr\nmulti_queue\n"
    assert (share / "virtiofs" / "data" / "socket").read_text() == "web-virtiofs-data.sock\n"
    assert (share / "virtiofs" / "data" / "source").read_text() == "/srv\n"
    assert (share / "vsock-cid").read_text() == "7\n"
    assert not (share / "macvtap-interfaces").exists()
    assert (share / "spec.json").read_text().startswith('{"config":')
    assert oct(os.stat(state).st_mode & 0o777) == "0o775"


def test_apply_twice_writes_nothing(microvm, tmp_path):
    host, state = write_host(tmp_path, vm("a") + vm("b", "vcpu = 2;"))
    apply(microvm, host)
    before = snapshot(state)
    r = apply(microvm, host)
    assert "a: unchanged" in r.stdout and "b: unchanged" in r.stdout
    assert snapshot(state) == before


def test_changed_vm_gets_a_new_runner_and_the_old_one_goes(microvm, tmp_path):
    host, state = write_host(tmp_path, vm("a") + vm("b"))
    apply(microvm, host)
    old_a, old_b = runner_of(state, "a"), runner_of(state, "b")
    host, _ = write_host(tmp_path, vm("a", "mem = 1024;") + vm("b"), state)
    r = apply(microvm, host)
    new_a = runner_of(state, "a")
    assert new_a != old_a and runner_of(state, "b") == old_b
    assert "removed 1 unused runner" in r.stdout
    assert sorted(os.listdir(state / ".runners")) == sorted([new_a, old_b])


def test_booted_runner_is_kept_until_teardown(microvm, tmp_path):
    host, state = write_host(tmp_path, vm("a"))
    apply(microvm, host)
    old = runner_of(state, "a")
    # As while the VM runs the old definition.
    os.symlink(f"../.runners/{old}", state / "a" / "booted")
    host, _ = write_host(tmp_path, vm("a", "mem = 768;"), state)
    apply(microvm, host)
    assert old in os.listdir(state / ".runners")
    os.unlink(state / "a" / "booted")
    r = subprocess.run([microvm, "--config", str(host), "gc"], capture_output=True, text=True)
    assert r.returncode == 0 and "removed 1 unused runner" in r.stdout
    assert old not in os.listdir(state / ".runners")


def test_disabled_host_does_nothing(microvm, tmp_path):
    host, state = write_host(tmp_path, "  microvm.host.enable = false;\n" + vm("a"))
    r = apply(microvm, host)
    assert "host module is disabled" in r.stdout
    assert not state.exists()


def test_flake_vms_are_skipped_and_a_broken_vm_fails_alone(microvm, tmp_path):
    body = (vm("good") + '  microvm.vms.flaky.flake = /srv/flake;\n'
            '  microvm.vms.nokernel.config = { };\n')
    host, state = write_host(tmp_path, body)
    r = apply(microvm, host, check=False)
    assert r.returncode == 1
    assert "flaky: built from a flake: skipped" in r.stdout
    assert "vm nokernel: microvm.kernel is not set" in r.stderr
    assert "1 VM could not be installed" in r.stderr
    assert runner_of(state, "good")
    assert not (state / "nokernel").exists()


def test_kvmtool_macvtap_that_does_not_exist_yet_installs(microvm, tmp_path):
    # The macvtap is created at start; only then does its /dev/tapN exist.
    iface = ('interfaces = [ { type = "macvtap"; id = "vm-kt-absent"; mac = "02:00:00:00:00:09"; '
             'macvtap = { link = "eth-absent"; mode = "bridge"; }; } ];')
    host, state = write_host(
        tmp_path, vm("kt", f'hypervisor = "kvmtool"; kvmtool.package = "/bin/true"; {iface}'))
    apply(microvm, host)
    runner = state / ".runners" / runner_of(state, "kt")
    assert ((runner / "share/microvm/macvtap-interfaces").read_text()
            == "vm-kt-absent 02:00:00:00:00:09 eth-absent bridge\n")
    # Its plan says the command waits for the ifindex: /dev/tap0 stands in until then.
    r = subprocess.run([microvm, "--config", str(host), "plan", "--json", "kt"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    command = json.loads(r.stdout)["command"]
    assert command["ifindexPending"] is True
    assert "mode=tap,tapif=/dev/tap0,guest_mac=02:00:00:00:00:09" in command["argv"]


def test_killed_apply_leaves_a_consistent_state(microvm, tmp_path):
    """SIGKILL at random points: every current link points at a complete runner."""
    names = [f"vm{i}" for i in range(60)]
    state = tmp_path / "state"
    for round_ in range(12):
        body = "".join(vm(n, f"mem = {256 + 64 * (round_ % 3)};") for n in names)
        host, _ = write_host(tmp_path, body, state)
        p = subprocess.Popen([microvm, "--config", str(host), "apply", "--no-start"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(random.uniform(0.0, 0.05))
        p.send_signal(signal.SIGKILL)
        p.wait()
        for n in names:
            link = state / n / "current"
            if os.path.lexists(link):
                spec = state / n / os.readlink(link) / "share" / "microvm" / "spec.json"
                assert spec.exists(), f"{n}: current points at an incomplete runner"
    # The next apply finishes the job and clears the debris.
    apply(microvm, host)
    leftovers = [e for e in os.listdir(state / ".runners") if e.startswith(".#")]
    assert leftovers == []
    for n in names:
        assert (state / n / "current").exists()
