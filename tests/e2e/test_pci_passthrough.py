"""PCI passthrough on the host: microvm.devices of bus "pci" bound to vfio-pci before the
hypervisor starts, their /dev/vfio group handed to the hypervisor's user, and all of it undone
on stop, and after a monitor that was killed.

Binding a real device takes it from the host, and this machine has no IOMMU: the monitor works
on a stand-in sysfs (MICROVM_TEST_SYSFS, MICROVM_TEST_DEV; test-only). Its attribute files are
FIFOs, read here in order by a stand-in for the kernel, which moves the device's driver link as
the kernel would before the monitor can look. The VM is a runner laid out as microvm.nix lays
it out (share/microvm/pci-devices), whose bin/microvm-run reports what it finds before it
starts real qemu. A real device is used only where one is named as safe to give."""
import json
import os
import signal
import stat
import subprocess
import threading

import pytest

from test_foreign_runner import console_f, foreign_runner, host_b, no_foreign_processes, wait_for

ADDR = "0000:01:00.0"
GROUP = "7"


class StandInKernel(threading.Thread):
    """Reads the writes the monitor makes, in order, doing what the kernel does on each."""

    def __init__(self, sysfs, writes):
        super().__init__(daemon=True)
        self.sysfs = sysfs
        self.writes = writes  # (file, expected text, what the kernel does after it)
        self.seen = []
        self.error = None

    def run(self):
        try:
            for name, _, then in self.writes:
                with open(self.sysfs / name) as f:  # blocks until the monitor opens it
                    self.seen.append((name, f.read()))
                then()
        except Exception as e:  # reported by the test
            self.error = e

    def unblock(self):
        """Let a read that waits for a write that never comes see end of file."""
        for name, _, _ in self.writes:
            try:
                os.close(os.open(self.sysfs / name, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass


def stand_in_sysfs(tmp_path):
    """A device 0000:01:00.0 driven by e1000e, in IOMMU group 7, vfio-pci loaded."""
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    device = sysfs / "devices" / "pci0000:00" / ADDR
    for d in (device, sysfs / "bus/pci/drivers/e1000e", sysfs / "bus/pci/drivers/vfio-pci",
              sysfs / "bus/pci/devices", sysfs / "kernel/iommu_groups" / GROUP, dev / "vfio"):
        d.mkdir(parents=True, exist_ok=True)
    for fifo in (sysfs / "bus/pci/drivers/e1000e/unbind",
                 sysfs / "bus/pci/drivers/vfio-pci/unbind",
                 sysfs / "bus/pci/drivers_probe", device / "driver_override"):
        os.mkfifo(fifo, 0o600)
    (device / "driver").symlink_to("../../../bus/pci/drivers/e1000e")
    (device / "iommu_group").symlink_to("../../../kernel/iommu_groups/" + GROUP)
    (sysfs / "bus/pci/devices" / ADDR).symlink_to("../../../devices/pci0000:00/" + ADDR)
    os.mknod(dev / "vfio" / GROUP, stat.S_IFCHR | 0o600, os.makedev(1, 3))
    subprocess.run(["chmod", "-R", "a+rX", str(sysfs)], check=True)
    return sysfs, dev, device


def kernel_for(sysfs, device):
    def bind(driver):
        def move():
            (device / "driver").unlink(missing_ok=True)
            if driver:
                (device / "driver").symlink_to("../../../bus/pci/drivers/" + driver)
        return move
    nothing = lambda: None  # noqa: E731
    dev = "devices/pci0000:00/" + ADDR + "/driver_override"
    return StandInKernel(sysfs, [
        # Setup: unbound from its driver, vfio-pci asked for, probed.
        ("bus/pci/drivers/e1000e/unbind", ADDR + "\n", bind(None)),
        (dev, "vfio-pci\n", bind("vfio-pci")),
        ("bus/pci/drivers_probe", ADDR + "\n", nothing),
        # Undo: override cleared, unbound from vfio-pci, probed: e1000e takes it back.
        (dev, "\n", nothing),
        ("bus/pci/drivers/vfio-pci/unbind", ADDR + "\n", bind("e1000e")),
        ("bus/pci/drivers_probe", ADDR + "\n", nothing),
    ])


def pci_runner(microvm, tmp_path, guest, sysfs, dev, addr):
    """A microvm.nix runner with share/microvm/pci-devices whose microvm-run says, before qemu,
    which driver the device has and who owns its /dev/vfio group."""
    runner = foreign_runner(microvm, tmp_path, guest, params=["microvm.hold=forever"])
    (runner / "share/microvm/pci-devices").write_text(addr + "\n")
    run = runner / "bin" / "microvm-run"
    device = f"{sysfs}/bus/pci/devices/{addr}"
    lines = run.read_text().splitlines()
    lines[2:2] = [
        f'echo "PCI-DRIVER $(basename "$(readlink {device}/driver)")"',
        f'echo "PCI-GROUP-OWNER $(stat -c %U:%G {dev}/vfio/$(basename "$(readlink '
        f'{device}/iommu_group)"))"',
    ]
    run.write_text("\n".join(lines) + "\n")
    return runner


def vm_user_group():
    try:
        subprocess.run(["id", "microvm"], check=True, capture_output=True)
        return "microvm:kvm"
    except subprocess.CalledProcessError:
        return "root:root"


def microvm_env(microvm, host, env, *args):
    return subprocess.run([microvm, "--config", str(host), *args], capture_output=True,
                          text=True, timeout=120, env=env)


def finish(kernel):
    kernel.join(60)
    if kernel.is_alive():
        kernel.unblock()
        kernel.join(10)
    assert kernel.error is None, kernel.error
    assert kernel.seen == [(name, text) for name, text, _ in kernel.writes], kernel.seen


def start_stand_in(microvm, guest, tmp_path):
    sysfs, dev, device = stand_in_sysfs(tmp_path)
    runner = pci_runner(microvm, tmp_path, guest, sysfs, dev, ADDR)
    host, state = host_b(tmp_path)
    env = dict(os.environ, MICROVM_TEST_SYSFS=str(sysfs), MICROVM_TEST_DEV=str(dev))
    r = microvm_env(microvm, host, env, "install", "f", str(runner))
    assert r.returncode == 0, r.stderr
    r = microvm_env(microvm, host, env, "plan", "--json", "f")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["pciDevices"] == [ADDR], r.stdout
    kernel = kernel_for(sysfs, device)
    kernel.start()
    start = microvm_env(microvm, host, env, "start", "f")
    if start.returncode != 0:
        kernel.unblock()
    assert start.returncode == 0, start.stderr + console_f(state)
    wait_for(state, "GUEST-UP")
    log = console_f(state)
    # The hypervisor found the device on vfio-pci, its group its own.
    assert "PCI-DRIVER vfio-pci" in log.splitlines(), log[-3000:]
    assert f"PCI-GROUP-OWNER {vm_user_group()}" in log.splitlines(), log[-3000:]
    record = state / ".host" / "f" / "pci-devices"
    assert record.read_text().startswith(f"{ADDR} e1000e {GROUP} "), record.read_text()
    return host, state, env, dev, device, kernel, record


def undone(state, dev, device, kernel, record):
    finish(kernel)
    assert os.readlink(device / "driver") == "../../../bus/pci/drivers/e1000e"
    st = os.lstat(dev / "vfio" / GROUP)
    assert (st.st_uid, st.st_gid) == (0, 0)
    assert not record.exists()
    no_foreign_processes(state)


def test_stand_in_sysfs_device_bound_before_the_hypervisor_and_given_back_on_stop(
        microvm, guest, tmp_path):
    host, state, env, dev, device, kernel, record = start_stand_in(microvm, guest, tmp_path)
    # A second VM with the same device is refused while the first has it; sysfs is untouched.
    runner = os.readlink(state / ".host" / "f" / "current")
    assert microvm_env(microvm, host, env, "install", "g", str(state / ".host" / "f" / runner)
                       ).returncode == 0
    other = microvm_env(microvm, host, env, "start", "g")
    assert other.returncode == 1, other.stderr
    assert f"PCI device {ADDR} is bound for vm f" in other.stderr, other.stderr
    stop = microvm_env(microvm, host, env, "stop", "f")
    assert stop.returncode == 0, stop.stderr
    undone(state, dev, device, kernel, record)


def test_stand_in_sysfs_device_given_back_after_the_monitor_was_killed(microvm, guest,
                                                                      tmp_path):
    host, state, env, dev, device, kernel, record = start_stand_in(microvm, guest, tmp_path)
    monitor = int((state / ".host" / "f" / "pid").read_text().split()[0])
    os.kill(monitor, signal.SIGKILL)
    # The device stays with vfio-pci until the next start or stop undoes it from the record.
    stop = microvm_env(microvm, host, env, "stop", "f")
    assert stop.returncode == 0, stop.stderr
    undone(state, dev, device, kernel, record)


def safe_real_device():
    """A device named as safe to give (MICROVM_TEST_PCI_DEVICE) that has an IOMMU group."""
    addr = os.environ.get("MICROVM_TEST_PCI_DEVICE")
    groups = os.listdir("/sys/kernel/iommu_groups") if os.path.isdir(
        "/sys/kernel/iommu_groups") else []
    if not groups:
        pytest.skip("no IOMMU groups on this host (the IOMMU is off or absent): no device can "
                    "be passed through")
    if not addr:
        pytest.skip("no device named safe to give: set MICROVM_TEST_PCI_DEVICE=DDDD:BB:DD.F "
                    "to one the host can do without")
    if not os.path.exists(f"/sys/bus/pci/devices/{addr}/iommu_group"):
        pytest.skip(f"{addr} has no IOMMU group")
    return addr


def test_real_device_bound_to_vfio_and_given_back(microvm, guest, tmp_path):
    addr = safe_real_device()
    device = f"/sys/bus/pci/devices/{addr}"
    before = os.path.basename(os.readlink(device + "/driver")) if os.path.exists(
        device + "/driver") else None
    runner = pci_runner(microvm, tmp_path, guest, "/sys", "/dev", addr)
    host, state = host_b(tmp_path)
    env = dict(os.environ)
    assert microvm_env(microvm, host, env, "install", "f", str(runner)).returncode == 0
    start = microvm_env(microvm, host, env, "start", "f")
    try:
        assert start.returncode == 0, start.stderr
        wait_for(state, "GUEST-UP")
        assert "PCI-DRIVER vfio-pci" in console_f(state).splitlines()
    finally:
        stop = microvm_env(microvm, host, env, "stop", "f")
    assert stop.returncode == 0, stop.stderr
    after = os.path.basename(os.readlink(device + "/driver")) if os.path.exists(
        device + "/driver") else None
    assert after == before
