"""microvm apply and gc on a real state directory: runners, links, idempotence, crashes."""
import json
import os
import shutil
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
    # Root's alone: the VM's user must not rename what root reads (docs/security.md).
    assert oct(os.stat(state).st_mode & 0o777) == "0o755"
    assert os.readlink(state / ".host" / "web" / "current") == f"../../.runners/{runner}"


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
    # As while the VM runs the old definition: root's record says so.
    os.symlink(f"../../.runners/{old}", state / ".host" / "a" / "booted")
    host, _ = write_host(tmp_path, vm("a", "mem = 768;"), state)
    apply(microvm, host)
    assert old in os.listdir(state / ".runners")
    os.unlink(state / ".host" / "a" / "booted")
    r = subprocess.run([microvm, "--config", str(host), "gc"], capture_output=True, text=True)
    assert r.returncode == 0 and "removed 1 unused runner" in r.stdout
    assert old not in os.listdir(state / ".runners")


def test_disabled_host_does_nothing(microvm, tmp_path):
    host, state = write_host(tmp_path, "  microvm.host.enable = false;\n" + vm("a"))
    r = apply(microvm, host)
    assert "host module is disabled" in r.stdout
    assert not state.exists()


def test_a_broken_vm_and_a_missing_flake_fail_alone(microvm, tmp_path):
    """The flake VMs themselves: tests/e2e/test_nix.py."""
    missing = tmp_path / "no-such-flake"
    body = (vm("good") + f'  microvm.vms.flaky.flake = {missing};\n'
            '  microvm.vms.nokernel.config = { };\n')
    host, state = write_host(tmp_path, body)
    r = apply(microvm, host, check=False)
    assert r.returncode == 1
    assert "vm flaky: building vm flaky from" in r.stderr, r.stderr
    assert "vm nokernel: microvm.kernel is not set" in r.stderr
    assert "2 VMs could not be installed" in r.stderr
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


def runner_files(runner_dir):
    """Every file of a runner, with its content: what a complete one holds."""
    out = {}
    for dirpath, _, filenames in os.walk(runner_dir):
        for n in filenames:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, runner_dir)] = f.read()
    return out


def reference_runners(microvm, tmp_path, body):
    """The runners a clean state directory gets for `body`, by name."""
    ref = tmp_path / f"ref-{len(os.listdir(tmp_path))}"
    ref.mkdir()
    host, state = write_host(ref, body)
    apply(microvm, host)
    return {r: runner_files(state / ".runners" / r) for r in os.listdir(state / ".runners")}


def assert_records_name_complete_runners(state, names, reference):
    for n in names:
        for link in ("current", "toplevel", "booted"):
            rec = state / ".host" / n / link
            if not os.path.lexists(rec):
                continue
            runner = os.readlink(rec).split("/")[-1]
            got = runner_files(state / ".runners" / runner)
            assert got == reference[runner], f"{n}: {link} names an incomplete runner {runner}"


def killed_at_each_point(microvm, host, scope="state"):
    """apply with a kill at its 1st, 2nd, ... kill point, until one run gets through.
    Yields after each killed run; returns how many were killed."""
    n = 1
    while True:
        env = dict(os.environ, MICROVM_TEST_KILL_AT=f"{scope}:{n}")
        r = subprocess.run([microvm, "--config", str(host), "apply", "--no-start"], env=env,
                           capture_output=True, text=True, timeout=120)
        if r.returncode != -signal.SIGKILL:
            assert r.returncode == 0, r.stderr
            return n - 1
        yield n
        n += 1


def test_killed_apply_leaves_a_consistent_state(microvm, tmp_path):
    """SIGKILL at every step of an apply in turn (its install, its links, its gc), from the same
    state each time: every record names a complete runner, and the next apply gets back to
    exactly the configuration, also where a gc was cut short mid-removal of a runner that the
    next configuration wants back."""
    names = ["a", "b", "c"]
    old = "".join(vm(n, "mem = 256;") for n in names)
    new = "".join(vm(n, "mem = 512;") for n in names[:2]) + vm("c", "mem = 256;")
    reference = {**reference_runners(microvm, tmp_path, old),
                 **reference_runners(microvm, tmp_path, new)}
    pristine = tmp_path / "pristine"
    host_old, _ = write_host(tmp_path, old, pristine)
    apply(microvm, host_old)
    state = tmp_path / "state"
    (tmp_path / "h").mkdir()
    host_new, _ = write_host(tmp_path / "h", new, state)
    (tmp_path / "o").mkdir()
    host_back, _ = write_host(tmp_path / "o", old, state)

    def reset():
        shutil.rmtree(state, ignore_errors=True)
        shutil.copytree(pristine, state, symlinks=True)

    reset()
    gen = killed_at_each_point(microvm, host_new)
    killed = 0
    try:
        while True:
            next(gen)
            killed += 1
            assert_records_name_complete_runners(state, names, reference)
            # Back to the old configuration: its runners, gc'd or half-gc'd, come back whole.
            apply(microvm, host_back)
            assert_records_name_complete_runners(state, names, reference)
            leftovers = [e for e in os.listdir(state / ".runners") if e.startswith(".#")]
            assert leftovers == []
            for n in names:
                r = subprocess.run([microvm, "--config", str(host_back), "plan", "--json", n],
                                   capture_output=True, text=True, timeout=60)
                assert r.returncode == 0, r.stderr
            reset()
    except StopIteration:
        pass
    # Every step was reached: installs, links and removals.
    assert killed >= 20, f"only {killed} kill points"


def test_a_half_removed_runner_is_written_again(microvm, tmp_path):
    """What a gc killed mid-removal could leave in older versions: a runner directory under its
    own name with its spec but not the rest. It is not taken for the runner."""
    host, state = write_host(tmp_path, vm("a", 'interfaces = [ { type = "tap"; id = "vm-a"; '
                                                'mac = "02:00:00:00:00:01"; } ];'))
    apply(microvm, host)
    runner = state / ".runners" / runner_of(state, "a")
    whole = runner_files(runner)
    os.unlink(runner / "share" / "microvm" / "tap-interfaces")
    (runner / ".complete").unlink(missing_ok=True)
    r = apply(microvm, host)
    assert "was incomplete; writing it again" in r.stderr, r.stderr
    assert runner_files(runner) == whole
    assert [e for e in os.listdir(state / ".runners") if e.startswith(".#")] == []


def test_an_existing_state_directory_keeps_its_mode(microvm, tmp_path):
    """Think stateDir = "/srv": apply leaves an existing directory's mode and owner alone."""
    state = tmp_path / "srv"
    state.mkdir()
    state.chmod(0o711)
    host, _ = write_host(tmp_path, vm("a"), state)
    apply(microvm, host)
    assert oct(os.stat(state).st_mode & 0o777) == "0o711"


def test_a_state_directory_others_can_write_is_refused(microvm, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(0o777)
    host, _ = write_host(tmp_path, vm("a"), state)
    r = apply(microvm, host, check=False)
    assert r.returncode == 1
    assert "is writable by every user (mode 0777)" in r.stderr, r.stderr
    assert not (state / ".runners").exists()


def test_a_vm_directory_that_is_a_symlink_is_not_followed(microvm, tmp_path):
    for f in ("k", "i"):
        (tmp_path / f).write_text("")
    host, state = write_host(tmp_path, vm("a").replace("/boot/", f"{tmp_path}/"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    state.mkdir()
    os.symlink(elsewhere, state / "a")
    r = apply(microvm, host)
    assert os.listdir(elsewhere) == []
    assert "is a symlink" in r.stderr, r.stderr
    r = subprocess.run([microvm, "--config", str(host), "start", "a"], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 1 and "does not follow a symlink" in r.stderr, r.stderr
    assert os.listdir(elsewhere) == []


def test_stratovirt_installs_without_expect_and_says_what_to_install_at_start(microvm, tmp_path):
    """The install does not look at the host's programs; planning a start does. The unbuffer
    found on PATH here is a stand-in script (expect is not installed): only plan looks at it."""
    host, state = write_host(tmp_path, vm("s", 'hypervisor = "stratovirt"; '
                                               'stratovirt.package = "/bin/true";'))
    bare = dict(os.environ, PATH="/nonexistent")
    r = subprocess.run([microvm, "--config", str(host), "apply", "--no-start"],
                       capture_output=True, text=True, env=bare)
    assert r.returncode == 0 and "s: installed" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([microvm, "--config", str(host), "plan", "s"], capture_output=True,
                       text=True, env=bare)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "stratovirt needs unbuffer" in r.stderr and "apt-get install expect" in r.stderr
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "unbuffer").write_text("#!/bin/sh\nexec \"$@\"\n")
    (tools / "unbuffer").chmod(0o755)
    r = subprocess.run([microvm, "--config", str(host), "plan", "--json", "s"],
                       capture_output=True, text=True, env=dict(os.environ, PATH=str(tools)))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["command"]["argv"][:2] == [str(tools / "unbuffer"), "/bin/true"]
