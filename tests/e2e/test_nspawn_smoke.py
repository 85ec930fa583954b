"""A real systemd (Debian's 252) as PID 1 in systemd-nspawn does what microvm's
systemd integration relies on: template units of Type=notify, Restart=always,
generators and daemon-reload, the journal, and inside the container taps and
qemu booting the test guest. These test the harness (tests/e2e/nspawn.py) and
the facts it stands on, not microvm."""

import os
import select
import subprocess
import uuid

import pytest

from guest import REPO_ROOT, _cpu_khz
import nspawn
from nspawn import ContainerError, wait_until

WAIT = 30.0  # only turns a hang into a failure

# Says "waiting", holds until the test creates its gate file, then tells
# systemd it is ready and stays up: a start can be caught half-way.
DEMO_SCRIPT = """#!/bin/sh
echo "demo $1 waiting for /run/demo-gate-$1"
while [ ! -e "/run/demo-gate-$1" ]; do sleep 0.05; done
echo "demo $1 ready"
systemd-notify --ready
exec sleep infinity
"""

DEMO_UNIT = """[Unit]
Description=demo %i

[Service]
Type=notify
ExecStart=/usr/local/bin/demo %i
Restart=always
RestartSec=1
"""


def install_demo(c):
    c.write_file("/usr/local/bin/demo", DEMO_SCRIPT, 0o755)
    c.write_file("/etc/systemd/system/demo@.service", DEMO_UNIT)
    c.daemon_reload()


def test_start_of_a_notify_template_unit_returns_once_it_is_ready(systemd_container):
    c = systemd_container
    install_demo(c)
    start = subprocess.Popen(c.nsenter(["systemctl", "start", "demo@x"]),
                             env=nspawn.CONTAINER_ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        wait_until(lambda: "waiting" in c.journal("demo@x.service"), WAIT,
                   "demo@x to start waiting for its gate")
        assert c.show("demo@x", "ActiveState") == "activating"
        assert start.poll() is None, "systemctl start returned before READY=1"
        c.run(["touch", "/run/demo-gate-x"])
        out, _ = start.communicate(timeout=WAIT)
    finally:
        if start.poll() is None:
            start.kill()
            start.wait()
    assert start.returncode == 0, out
    assert c.show("demo@x", "ActiveState") == "active"
    assert c.show("demo@x", "SubState") == "running"


def test_a_killed_restart_always_unit_is_started_again(systemd_container):
    c = systemd_container
    install_demo(c)
    c.run(["touch", "/run/demo-gate-y"])
    c.systemctl("start", "demo@y")
    first = c.show("demo@y", "MainPID")
    assert c.show("demo@y", "NRestarts") == "0"
    c.systemctl("kill", "-s", "KILL", "demo@y")
    wait_until(lambda: c.show("demo@y", "NRestarts") == "1", WAIT, "demo@y to be restarted")
    wait_until(lambda: c.show("demo@y", "ActiveState") == "active", WAIT,
               "demo@y to be active again")
    assert c.show("demo@y", "MainPID") not in ("0", first)


GENERATOR = """#!/bin/sh
# A generator's first argument is its normal-priority output directory.
set -e
cat >"$1/generated-demo.service" <<EOF
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/echo generated-demo ran
EOF
mkdir -p "$1/demo.target.wants"
ln -s ../generated-demo.service "$1/demo.target.wants/generated-demo.service"
"""

DEMO_TARGET = """[Unit]
Description=demo target
"""


def test_a_generator_unit_appears_on_daemon_reload_and_a_target_starts_it(systemd_container):
    c = systemd_container
    c.write_file("/etc/systemd/system/demo.target", DEMO_TARGET)
    assert c.show("generated-demo.service", "LoadState") == "not-found"
    c.write_file("/etc/systemd/system-generators/demo-generator", GENERATOR, 0o755)
    c.daemon_reload()
    assert c.show("generated-demo.service", "LoadState") == "loaded"
    assert c.show("generated-demo.service", "FragmentPath") == \
        "/run/systemd/generator/generated-demo.service"
    c.systemctl("start", "demo.target")
    assert c.show("generated-demo.service", "ActiveState") == "active"


def test_a_failing_generator_does_not_stop_daemon_reload(systemd_container):
    # systemd 252 logs "GENERATOR failed with exit status 1." (at error
    # priority), keeps whatever it wrote, and goes on with the others: the
    # reload succeeds. The generator's own stderr goes to the console.
    c = systemd_container
    c.write_file("/etc/systemd/system/demo.target", DEMO_TARGET)
    c.write_file("/etc/systemd/system-generators/demo-generator", GENERATOR, 0o755)
    c.write_file("/etc/systemd/system-generators/broken-generator",
                 "#!/bin/sh\necho broken generator gives up >&2\nexit 1\n", 0o755)
    c.daemon_reload()
    assert c.show("generated-demo.service", "LoadState") == "loaded"
    c.systemctl("start", "demo.target")
    assert c.show("generated-demo.service", "ActiveState") == "active"
    # The generators run in a child of PID 1 named (sd-executor), which logs.
    failure = "/etc/systemd/system-generators/broken-generator failed with exit status 1."
    wait_until(lambda: failure in c.run(["journalctl", "--no-pager", "-o", "cat",
                                         "SYSLOG_IDENTIFIER=(sd-executor)"]).stdout,
               WAIT, "the journal to report the failed generator")


def test_the_journal_holds_a_units_output(systemd_container):
    c = systemd_container
    install_demo(c)
    c.run(["touch", "/run/demo-gate-j"])
    c.systemctl("start", "demo@j")
    text = wait_until(lambda: "demo j ready" in (t := c.journal("demo@j.service")) and t, WAIT,
                      "the journal to hold demo@j's output")
    lines = text.splitlines()
    assert lines.index("demo j waiting for /run/demo-gate-j") < lines.index("demo j ready")


def test_a_process_in_the_container_creates_a_tap_of_its_own(systemd_container):
    c = systemd_container
    tap = f"mvt{uuid.uuid4().hex[:8]}"  # no clash with the host's, however left
    c.run(["ip", "tuntap", "add", "dev", tap, "mode", "tap"])
    c.run(["ip", "link", "set", tap, "up"])
    assert tap in c.run(["ip", "-o", "link", "show", "dev", tap]).stdout
    # The container has a network namespace of its own: the host never sees it.
    assert not os.path.exists(f"/sys/class/net/{tap}")


GUEST_DIR = REPO_ROOT / "build" / "guest"


@pytest.mark.container(bind_ro=[str(GUEST_DIR)])
def test_qemu_in_the_container_boots_the_test_guest_on_a_tap(systemd_container, guest):
    c = systemd_container
    assert guest.kernel.parent == GUEST_DIR, "the guest is bound from build/guest"
    c.run(["ip", "tuntap", "add", "dev", "mvtap0", "mode", "tap"])
    c.run(["ip", "addr", "add", "10.77.0.1/24", "dev", "mvtap0"])
    c.run(["ip", "link", "set", "mvtap0", "up"])
    params = ["console=ttyS0", "reboot=t", "panic=-1", "quiet",
              "microvm.ip=10.77.0.2/24", "microvm.ping=10.77.0.1"]
    if khz := _cpu_khz():
        params.append(f"tsc_early_khz={khz}")
    qemu = ["timeout", "120", "qemu-system-x86_64", "-machine", "microvm,accel=tcg",
            "-m", "256", "-nodefaults", "-display", "none", "-no-reboot", "-serial", "stdio",
            "-kernel", str(guest.kernel), "-initrd", str(guest.initrd),
            "-append", " ".join(params),
            "-netdev", "tap,id=n0,ifname=mvtap0,script=no,downscript=no",
            "-device", "virtio-net-device,netdev=n0"]
    res = c.run(qemu, check=False, timeout=130)
    console = res.stdout + res.stderr
    if res.returncode == 124:
        raise ContainerError(f"qemu in the container did not finish in 120 s:\n{console}")
    assert "GUEST-UP" in console, console
    assert "PING 10.77.0.1 ok" in console, console
    assert "GUEST-DOWN" in console, console


# The binary under test, as the microvm fixture finds it, bound into the
# container with its build directory.
MICROVM = os.path.realpath(os.environ.get(
    "MICROVM", os.path.join(REPO_ROOT, "build", "release", "src", "microvm")))


@pytest.mark.container(bind_ro=[os.path.dirname(MICROVM)])
def test_the_microvm_binary_under_test_runs_in_the_container(systemd_container, microvm):
    assert os.path.realpath(microvm) == MICROVM
    out = systemd_container.run([MICROVM, "--version"]).stdout
    assert out.startswith("microvm "), out


# The harness itself: a container that cannot boot is a clear failure, and
# stop() leaves nothing of a container behind, even one that will not halt.

def exited(pidfd):
    return bool(select.select([pidfd], [], [], 0)[0])


def test_a_tree_without_an_os_fails_to_boot_clearly(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ContainerError, match="exited with status"):
        nspawn.boot(empty, log_path=tmp_path / "console.log")


def test_stop_powers_the_container_off(nspawn_rootfs, tmp_path):
    c = nspawn.boot(nspawn_rootfs, log_path=tmp_path / "console.log")
    leader = os.pidfd_open(c.leader)
    try:
        c.stop()
        assert c.proc.returncode == 0, c.describe()
        assert exited(leader)
    finally:
        os.close(leader)
        c.stop()


HANGS_AT_STOP = """[Service]
ExecStart=/bin/sleep infinity
ExecStop=/bin/sleep infinity
TimeoutStopSec=infinity
"""


def test_stop_kills_a_container_that_does_not_halt(nspawn_rootfs, tmp_path):
    c = nspawn.boot(nspawn_rootfs, log_path=tmp_path / "console.log")
    leader = os.pidfd_open(c.leader)
    try:
        c.write_file("/etc/systemd/system/hang.service", HANGS_AT_STOP)
        c.daemon_reload()
        c.systemctl("start", "hang.service")
        c.stop(timeout=2)
        assert exited(leader)
        assert c.proc.returncode != 0, c.describe()
    finally:
        os.close(leader)
        c.stop()
