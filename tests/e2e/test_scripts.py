"""The configuration's shell snippets run where microvm.nix's generated scripts run them:
microvm.preStart and microvm.extraArgsScript as the hypervisor's user in the VM's directory
before the volumes and the hypervisor, microvm.binScripts.tap-up / tap-down as root around the
taps, other binScripts as files in the runner's bin/. Real qemu (TCG), real taps in a network
namespace."""
import os
import pwd
import signal
import subprocess

from test_run import write_host, apply, Run, no_processes_left, netns  # noqa: F401


def vm_user():
    try:
        pwd.getpwnam("microvm")
        return "microvm"
    except KeyError:
        return "root"


def hypervisor_cmdline(state):
    vm_dir = str(state / "g")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") != vm_dir:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().split(b"\0")[:-1]
        except OSError:
            continue
        if any(a.startswith(b"-kernel") for a in args):
            return [a.decode() for a in args]
    return None


def test_pre_start_and_extra_args_script(microvm, guest, tmp_path):
    host, state = write_host(
        tmp_path, guest, ["microvm.hold=forever"],
        extra='''    volumes = [ { image = "vol.img"; mountPoint = "/v"; size = 8; } ];
    preStart = ''
      exec > prestart-ran
      id -un
      pwd
      if [ -e vol.img ]; then echo volume-first; else echo before-the-volume; fi
    '';
    extraArgsScript = "printf '%s\\\\n  %s\\\\t%s' -name extra-args-ok,debug-threads=off";''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    run.wait_for("GUEST-UP")
    argv = hypervisor_cmdline(state)
    assert argv is not None, run.text()[-3000:]
    # Split on spaces, tabs and newlines, appended after everything else.
    assert argv[-2:] == ["-name", "extra-args-ok,debug-threads=off"], argv
    ran = (state / "g" / "prestart-ran").read_text().split("\n")
    assert ran[:3] == [vm_user(), str(state / "g"), "before-the-volume"], ran
    assert (state / "g" / "vol.img").exists()
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(120) == 0, run.text()[-3000:]
    no_processes_left(state)


def test_a_failing_pre_start_fails_the_start_before_the_hypervisor(microvm, guest, tmp_path):
    host, state = write_host(
        tmp_path, guest, [],
        extra='''    volumes = [ { image = "vol.img"; mountPoint = "/v"; size = 8; } ];
    preStart = "echo not today >&2; false; echo unreachable";''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit(60) == 1, run.text()[-3000:]
    text = run.text()
    assert "not today" in text and "unreachable" not in text, text[-3000:]
    assert "microvm.preStart exited with status 1" in text, text[-3000:]
    assert not (state / "g" / "vol.img").exists()
    assert not (state / "g" / "booted").exists()
    no_processes_left(state)


def test_a_failing_extra_args_script_fails_the_start(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, [],
                             extra='''    extraArgsScript = "exit 7";''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit(60) == 1, run.text()[-3000:]
    assert "microvm.extraArgsScript exited with status 7" in run.text(), run.text()[-3000:]
    no_processes_left(state)


def test_bin_scripts_tap_up_and_tap_down_run_around_the_taps(microvm, guest, tmp_path, netns):
    """tap-up gives the tap the host's address (the guest's ping proves it ran before the
    hypervisor); tap-down runs once the tap is gone."""
    down = tmp_path / "tap-down-ran"
    host, state = write_host(
        tmp_path, guest,
        ["microvm.ip=10.77.3.2/24", "microvm.ping=10.77.3.1"],
        extra=f'''    interfaces = [ {{ type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; }} ];
    binScripts.tap-up = "ip addr add 10.77.3.1/24 dev vm-g";
    binScripts.tap-down = "if ip link show vm-g >/dev/null 2>&1; then echo still-there; else echo gone; fi > {down}";''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    assert run.wait_exit() == 0, run.text()[-3000:]
    assert "PING 10.77.3.1 ok" in run.lines(), run.text()[-3000:]
    assert down.read_text() == "gone\n"
    no_processes_left(state)


def test_a_failing_tap_up_fails_the_start_and_removes_the_tap(microvm, guest, tmp_path, netns):
    host, state = write_host(
        tmp_path, guest, [],
        extra='''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];
    binScripts.tap-up = "ip link set vm-g master no-such-bridge";''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    assert run.wait_exit(60) == 1, run.text()[-3000:]
    assert "microvm.binScripts.tap-up exited with status" in run.text(), run.text()[-3000:]
    links = subprocess.run(["ip", "-n", netns, "link"], capture_output=True, text=True).stdout
    assert "vm-g" not in links
    no_processes_left(state)


def test_other_bin_scripts_are_in_the_runners_bin(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, [],
                             extra='''    binScripts.hello = "echo hello from $0";''')
    apply(microvm, host)
    script = state / "g" / "current" / "bin" / "hello"
    out = subprocess.run([str(script)], capture_output=True, text=True, check=True)
    assert out.stdout == f"hello from {script}\n"
