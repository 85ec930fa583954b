"""microvm run: real guests under qemu (TCG) with real virtiofsd, volumes and taps."""
import os
import re
import signal
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The microvm machine boots reliably under TCG only with these (see DESIGN facts):
# reboot=t (microvm.nix sets it) and an early TSC frequency, as it has no PIT.
MACHINE_OPTS = ('{ accel = "tcg"; acpi = "on"; mem-merge = "on"; pcie = "on"; pic = "off"; '
                'pit = "off"; rtc = "on"; usb = "off"; }')
BOOT_TIMEOUT = 90


def tsc_khz():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        mhz = re.search(r"cpu MHz\s*:\s*([0-9.]+)", f.read()).group(1)
    return int(float(mhz) * 1000)



def nix_list(items):
    return "[ " + " ".join(f'"{i}"' for i in items) + " ]"


def write_host(tmp_path, guest, params, extra="", host_extra=""):
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    params = ["quiet", f"tsc_early_khz={tsc_khz()}", *params]
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
{host_extra}
  microvm.vms.g.config.microvm = {{
    kernel = "{guest.kernel}"; initrdPath = "{guest.initrd}";
    cpu = "max"; mem = 256; qemu.machineOpts = {MACHINE_OPTS};
    kernelParams = {nix_list(params)};
{extra}
  }};
}}
''')
    return host, state


def apply(microvm, host):
    r = subprocess.run([microvm, "--config", str(host), "apply", "--no-start"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


class Run:
    """microvm run in the background, its console collected."""

    def __init__(self, microvm, host, log_path, *args, netns=None):
        cmd = [microvm, "--config", str(host), "run", *args, "g"]
        if netns:
            cmd = ["ip", "netns", "exec", netns, *cmd]
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace").replace("\r", "")

    def lines(self):
        return self.text().splitlines()

    def wait_for(self, marker, timeout=BOOT_TIMEOUT):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if marker in self.lines():
                return
            if self.proc.poll() is not None:
                pytest.fail(f"microvm run exited ({self.proc.returncode}) before {marker!r}:\n"
                            f"{self.text()[-3000:]}")
            time.sleep(0.1)
        self.proc.kill()
        pytest.fail(f"no {marker!r} within {timeout} s:\n{self.text()[-3000:]}")

    def wait_exit(self, timeout=BOOT_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"microvm run did not exit within {timeout} s:\n{self.text()[-3000:]}")
        finally:
            self.log.close()


def no_processes_left(state):
    """Nothing of this test's VM runs. Other test runs on the machine may have VMs named g
    too: what counts is a process in the VM's directory (the hypervisor, virtiofsd) or one
    naming this test's files (the monitor, virtiofsd's shared directory)."""
    vm_dir, mine = str(state / "g"), str(state.parent)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        assert cwd != vm_dir and mine not in args, f"left behind: {pid} {args}"


def test_share_and_volume_then_the_guest_powers_off(microvm, guest, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    token = os.urandom(6).hex()
    (share / "marker").write_text(token + "\n")
    host, state = write_host(
        tmp_path, guest,
        ["microvm.shares=data:virtiofs,nine:9p", "microvm.volume=/dev/vda:/mnt/vol",
         "microvm.volwrite=/mnt/vol/hello:from-the-guest"],
        extra=f'''    shares = [
      {{ tag = "data"; source = "{share}"; mountPoint = "/data"; proto = "virtiofs"; }}
      {{ tag = "nine"; source = "{share}"; mountPoint = "/nine"; proto = "9p"; }}
    ];
    volumes = [ {{ image = "var.img"; mountPoint = "/var"; size = 16; }} ];''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit() == 0, run.text()[-3000:]
    lines = run.lines()
    for marker in ("GUEST-UP", f"SHARE data {token}", f"SHARE nine {token}",
                   "VOLUME /dev/vda /mnt/vol", "VOLWRITE /mnt/vol/hello", "GUEST-DOWN"):
        assert marker in lines, run.text()[-3000:]
    # The volume was created as ext4 and kept what the guest wrote.
    image = state / "g" / "var.img"
    out = subprocess.run(["debugfs", "-R", "cat /hello", str(image)], capture_output=True,
                         text=True)
    assert out.stdout.strip() == "from-the-guest", out.stderr
    assert not (state / "g" / "booted").exists()
    assert not (state / "g" / "g-virtiofs-data.sock").exists()
    no_processes_left(state)


def test_sigterm_shuts_the_guest_down_over_qmp(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    run.wait_for("GUEST-UP")
    assert os.readlink(state / "g" / "booted") == os.readlink(state / "g" / "current")
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(60) == 0
    lines = run.lines()
    assert "CTRL-ALT-DEL" in lines and "GUEST-DOWN" in lines, run.text()[-3000:]
    assert lines.index("CTRL-ALT-DEL") < lines.index("GUEST-DOWN")
    assert not (state / "g" / "booted").exists()
    no_processes_left(state)


def test_stop_timeout_ends_a_guest_that_ignores_shutdown(microvm, guest, tmp_path):
    # rdinit=/bin/sh would not do: the guest must stay up and ignore Ctrl-Alt-Del.
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever", "microvm.nocad=1"])
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", "--stop-timeout", "0")
    run.wait_for("GUEST-UP")
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(60) == 128 + signal.SIGTERM
    assert "did not shut down within 0 s" in run.text()
    no_processes_left(state)


@pytest.fixture
def netns():
    name = f"mvtest{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    yield name
    subprocess.run(["ip", "netns", "delete", name], check=False)


def test_tap_in_a_network_namespace(microvm, guest, tmp_path, netns):
    host, state = write_host(
        tmp_path, guest,
        ["microvm.ip=10.77.0.2/24", "microvm.ping=10.77.0.1"],
        extra='''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];''',
        host_extra='''  microvm.host.tapScript = "ip addr add 10.77.0.1/24 dev \\"$id\\" && ip link set \\"$id\\" up";''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    assert run.wait_exit() == 0, run.text()[-3000:]
    assert "PING 10.77.0.1 ok" in run.lines(), run.text()[-3000:]
    links = subprocess.run(["ip", "netns", "exec", netns, "ip", "link"], capture_output=True,
                           text=True).stdout
    assert "vm-g" not in links  # removed at teardown


def test_tap_script_attaches_the_tap_to_a_bridge(microvm, guest, tmp_path, netns):
    """host.nix's example tapScript: the tap joins br0, and the guest reaches the bridge."""
    ns = ["ip", "-n", netns]
    subprocess.run(ns + ["link", "add", "br0", "type", "bridge"], check=True)
    subprocess.run(ns + ["addr", "add", "10.77.1.1/24", "dev", "br0"], check=True)
    subprocess.run(ns + ["link", "set", "br0", "up"], check=True)
    host, state = write_host(
        tmp_path, guest,
        ["microvm.ip=10.77.1.2/24", "microvm.ping=10.77.1.1"],
        extra='''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];''',
        host_extra='''  microvm.host.tapScript = ''
    ip link set "$id" master br0 up
  '';''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    run.wait_for("NET eth0 10.77.1.2/24")
    master = subprocess.run(ns + ["-o", "link", "show", "vm-g"], capture_output=True,
                            text=True).stdout
    assert "master br0" in master, master
    assert run.wait_exit() == 0, run.text()[-3000:]
    assert "PING 10.77.1.1 ok" in run.lines(), run.text()[-3000:]


def test_failing_tap_script_fails_the_start_cleanly(microvm, guest, tmp_path, netns):
    host, state = write_host(
        tmp_path, guest, [],
        extra='''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];''',
        host_extra='''  microvm.host.tapScript = "echo no bridge here >&2; exit 3";''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    assert run.wait_exit(60) == 1
    text = run.text()
    assert "no bridge here" in text and "tapScript for vm-g exited with status 3" in text
    links = subprocess.run(["ip", "netns", "exec", netns, "ip", "link"], capture_output=True,
                           text=True).stdout
    assert "vm-g" not in links
    assert not (state / "g" / "booted").exists()


def test_missing_kernel_is_reported_before_anything_starts(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, [])
    host.write_text(host.read_text().replace(str(guest.kernel), "/nonexistent/vmlinux"))
    apply(microvm, host)
    r = subprocess.run([microvm, "--config", str(host), "run", "g"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "microvm.kernel /nonexistent/vmlinux: No such file or directory" in r.stderr
    assert not (state / "g" / "booted").exists()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_user_networking_forwards_a_host_port(microvm, guest, tmp_path):
    import urllib.request
    port = free_port()
    host, state = write_host(
        tmp_path, guest,
        ["microvm.ip=10.0.2.15/24", "microvm.gw=10.0.2.2", "microvm.httpd=80",
         "microvm.hold=forever"],
        extra=f'''    interfaces = [ {{ type = "user"; id = "usernet"; mac = "02:00:00:00:00:05"; }} ];
    forwardPorts = [ {{ from = "host"; host.address = "127.0.0.1"; host.port = {port};
                        guest.port = 80; }} ];''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    run.wait_for("HTTPD 80")
    body = None
    for _ in range(50):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                body = r.read().decode()
            break
        except OSError:
            time.sleep(0.2)
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(60) == 0
    assert body is not None and "microvm-guest" in body, run.text()[-2000:]


def list_json(microvm, host):
    import json
    r = subprocess.run([microvm, "--config", str(host), "list", "--json"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return {e["name"]: e for e in json.loads(r.stdout)}


def test_list_follows_run_and_apply(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"])
    text = host.read_text().replace("  microvm.vms.g.config", '''  microvm.vms.other.config.microvm = { kernel = "/k"; initrdPath = "/i"; };
  microvm.vms.g.config''')
    host.write_text(text)
    apply(microvm, host)
    vms = list_json(microvm, host)
    assert vms["g"]["state"] == "not-booted" and vms["other"]["state"] == "not-booted"
    assert vms["g"]["hypervisor"] == "qemu" and vms["g"]["booted"] is None

    run = Run(microvm, host, tmp_path / "console.log")
    run.wait_for("GUEST-UP")
    vms = list_json(microvm, host)
    assert vms["g"]["state"] == "running" and vms["g"]["pid"] == run.proc.pid
    assert vms["g"]["supervisor"] == "foreground" and vms["g"]["unit"] is None, vms["g"]
    assert vms["g"]["upToDate"] is True

    # A changed definition: installed, but the running VM is now stale.
    host.write_text(text.replace("mem = 256;", "mem = 320;"))
    apply(microvm, host)
    vms = list_json(microvm, host)
    assert vms["g"]["state"] == "running" and vms["g"]["upToDate"] is False
    plain = subprocess.run([microvm, "--config", str(host), "list"], capture_output=True,
                           text=True, env=dict(os.environ, NO_COLOR="1")).stdout
    assert "g: stale(" in plain and "\033[" not in plain, plain
    assert "other: current(" in plain and "not booted" in plain

    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(60) == 0
    vms = list_json(microvm, host)
    assert vms["g"]["state"] == "not-booted"

    # A booted link in the VM's own directory is the VM's user's to plant: not believed.
    os.symlink(f"../.runners/{vms['g']['current']}", state / "g" / "booted")
    assert list_json(microvm, host)["g"]["state"] == "not-booted"
    # booted left behind by a crash, in root's record: shown as such, not as running.
    os.symlink(f"../../.runners/{vms['g']['current']}", state / ".host" / "g" / "booted")
    assert list_json(microvm, host)["g"]["state"] == "booted"


HOLD_TAP = """
import fcntl, os, struct, sys, time
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", sys.argv[1].encode(), 0x0002 | 0x1000))
print("held", flush=True)
time.sleep(600)
"""


def tap_host(microvm, guest, tmp_path):
    host, state = write_host(
        tmp_path, guest, [],
        extra='''    interfaces = [ { type = "tap"; id = "vm-g"; mac = "02:00:00:00:00:01"; } ];''')
    apply(microvm, host)
    return host, state


def links(netns):
    return subprocess.run(["ip", "netns", "exec", netns, "ip", "link"], capture_output=True,
                          text=True).stdout


def test_a_tap_another_process_holds_fails_the_start(microvm, guest, tmp_path, netns):
    host, state = tap_host(microvm, guest, tmp_path)
    holder = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", HOLD_TAP, "vm-g"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        run = Run(microvm, host, tmp_path / "console.log", netns=netns)
        assert run.wait_exit(60) == 1
        assert "tap vm-g already exists, and process" in run.text(), run.text()[-2000:]
        assert "vm-g" in links(netns)  # someone else's, left alone
    finally:
        holder.kill()
        holder.wait()
    assert not (state / "g" / "booted").exists()


def test_an_interface_that_is_no_tap_fails_the_start(microvm, guest, tmp_path, netns):
    host, state = tap_host(microvm, guest, tmp_path)
    subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "add", "vm-g", "type", "bridge"],
                   check=True)
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    assert run.wait_exit(60) == 1
    assert "interface vm-g already exists and is not a tap" in run.text(), run.text()[-2000:]
    assert "vm-g" in links(netns)


def test_a_tap_left_by_a_crash_is_replaced(microvm, guest, tmp_path, netns):
    """microvm.nix deletes an existing tap first; so does microvm when no process holds it and
    it has the owner microvm gives its taps."""
    host, state = tap_host(microvm, guest, tmp_path)
    owner = []
    if subprocess.run(["id", "microvm"], capture_output=True).returncode == 0:
        owner = ["user", "microvm"]
    subprocess.run(["ip", "netns", "exec", netns, "ip", "tuntap", "add", "vm-g", "mode", "tap",
                    *owner], check=True)
    run = Run(microvm, host, tmp_path / "console.log", netns=netns)
    assert run.wait_exit() == 0, run.text()[-3000:]
    assert "removing tap vm-g, left by an earlier run" in run.text(), run.text()[-3000:]
    assert "GUEST-UP" in run.lines()
    assert "vm-g" not in links(netns)


def test_a_virtiofsd_that_dies_fails_the_start(microvm, guest, tmp_path):
    share = tmp_path / "share"
    share.mkdir()
    host, state = write_host(
        tmp_path, guest, [],
        extra=f'''    virtiofsd.package = "/bin/false";
    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d"; proto = "virtiofs"; }} ];''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit(60) == 1
    assert "virtiofsd for share data exited (status 1) before the VM was ready" in run.text()
    assert not (state / "g" / "booted").exists()
    no_processes_left(state)


def test_virtiofsd_that_never_serves_fails_the_start_with_stand_in_virtiofsd(microvm, guest,
                                                                              tmp_path):
    """A stand-in virtiofsd that never answers (the real one always does): the hypervisor waits
    for it on the socket microvm bound, and the startup timeout ends the start."""
    stand_in = tmp_path / "virtiofsd-stand-in-never-serves"
    stand_in.write_text("#!/bin/sh\n[ \"$1\" = --help ] && echo '--shared-dir' && exit 0\n"
                        "exec sleep 60\n")
    stand_in.chmod(0o755)
    share = tmp_path / "share"
    share.mkdir()
    host, state = write_host(
        tmp_path, guest, [],
        extra=f'''    virtiofsd.package = "{stand_in}";
    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/d"; proto = "virtiofs"; }} ];''',
        host_extra="  microvm.host.startupTimeout = 3;")
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit(60) == 1
    assert "the VM was not ready within 3 s" in run.text(), run.text()
    assert not (state / "g" / "booted").exists()
    no_processes_left(state)


def test_kvmtool_gets_home_in_the_vm_directory_standin_lkvm(microvm, guest, tmp_path):
    # lkvm needs a working KVM, which these machines lack: a stand-in records its environment,
    # in its working directory, which is the VM's: whoever the hypervisor runs as may write there.
    stand_in = tmp_path / "lkvm-stand-in"
    stand_in.write_text("#!/bin/sh\necho \"$HOME\" > lkvm-env\necho \"$@\" >> lkvm-env\n")
    stand_in.chmod(0o755)
    host, state = write_host(tmp_path, guest, [],
                             extra=f'    hypervisor = "kvmtool"; kvmtool.package = "{stand_in}";')
    record = state / "g" / "lkvm-env"
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit(60) == 0, run.text()
    home, args = record.read_text().splitlines()
    assert home == str(state / "g")
    assert args.startswith("run ")
    no_processes_left(state)


def test_preferred_file_handles_fall_back_with_the_c_virtiofsd(microvm, guest, tmp_path):
    """inodeFileHandles = "prefer" (upstream's default) with Debian's C virtiofsd, which has no
    file handles: the share works without them, and -v says so."""
    share = tmp_path / "share"
    share.mkdir()
    (share / "marker").write_text("prefer\n")
    host, state = write_host(
        tmp_path, guest, ["microvm.shares=data:virtiofs"],
        extra=f'''    shares = [ {{ tag = "data"; source = "{share}"; mountPoint = "/data";
                  proto = "virtiofs"; }} ];''',
        host_extra='  microvm.virtiofsd.inodeFileHandles = "prefer";')
    apply(microvm, host)
    plan = subprocess.run([microvm, "--config", str(host), "-v", "plan", "g"],
                          capture_output=True, text=True)
    assert plan.returncode == 0, plan.stderr
    if "c virtiofsd" not in plan.stdout:
        pytest.skip("the virtiofsd here is the Rust one, which has file handles")
    assert "honoured without them" in plan.stderr, plan.stderr
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit() == 0, run.text()[-3000:]
    assert "SHARE data prefer" in run.lines(), run.text()[-3000:]
    no_processes_left(state)
