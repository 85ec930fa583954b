"""microvm on a systemd host, with Debian's systemd 252 as PID 1 in systemd-nspawn: the binary
under test installed inside as `make install` lays it out (template unit, generator), a host
configuration in /etc/microvm/host.nix, and real guests booted by qemu (TCG) inside the
container. microvms.target starts the autostart set, a killed VM is restarted by systemd,
start returns once a VM is ready, apply restarts exactly the changed VMs with restartIfChanged,
the journal has the console, and stopping the target stops every VM gracefully."""
import json
import os
import time

import pytest

from nspawn import REPO_ROOT, wait_until
from test_autostart import vm

MICROVM = os.path.realpath(os.environ.get(
    "MICROVM", os.path.join(REPO_ROOT, "build", "release", "src", "microvm")))
BUILD = os.path.dirname(os.path.dirname(MICROVM))  # the meson build directory
GUEST_DIR = str(REPO_ROOT / "build" / "guest")
UNIT_DIR = "/usr/local/lib/systemd/system"  # the build's default prefix, as meson set it
TEMPLATES = ["microvm@.service", "microvm-tap-interfaces@.service",
             "microvm-macvtap-interfaces@.service", "microvm-pci-devices@.service",
             "microvm-virtiofsd@.service"]

CONTRIB = str(REPO_ROOT / "contrib")
pytestmark = pytest.mark.container(bind_ro=[os.path.dirname(MICROVM), GUEST_DIR,
                                            os.path.join(BUILD, "systemd"), CONTRIB])


def install(c, guest, body):
    """microvm as make install puts it, the configuration, and its VMs installed."""
    template = open(os.path.join(BUILD, "systemd", "microvm@.service")).read()
    exec_line = next(line for line in template.splitlines() if line.startswith("ExecStart="))
    binary = exec_line.split("=", 1)[1].split()[0]
    c.run(["mkdir", "-p", os.path.dirname(binary), UNIT_DIR, "/etc/systemd/system-generators"])
    c.run(["ln", "-sf", MICROVM, binary])
    for unit in TEMPLATES:
        c.write_file(f"{UNIT_DIR}/{unit}", open(os.path.join(BUILD, "systemd", unit)).read())
    c.run(["ln", "-sf", MICROVM, "/etc/systemd/system-generators/microvm-generator"])
    configure(c, body)
    c.run(["microvm", "apply", "--no-start"], timeout=120)
    c.daemon_reload()


def configure(c, body):
    c.write_file("/etc/microvm/host.nix", "{\n" + body + "}\n")


def console_of(c, name):
    return c.run(["cat", f"/var/lib/microvms/.host/{name}/console.log"], check=False).stdout


def wait_guest(c, name, marker="GUEST-UP", timeout=120):
    wait_until(lambda: marker in console_of(c, name).splitlines(), timeout,
               f"{marker} from vm {name}")


def active(c, unit):
    return c.show(unit, "ActiveState")


def assert_run_by_unit(c, name, main_pid):
    """status and list name the VM's unit as what runs it, and its main process."""
    unit = f"microvm@{name}.service"
    text = c.run(["microvm", "status", name]).stdout
    assert f"running, ready, systemd unit {unit} pid {main_pid}\n" in text, text
    st = json.loads(c.run(["microvm", "status", "--json", name]).stdout)
    assert (st["supervisor"], st["unit"], st["pid"]) == ("systemd-unit", unit, int(main_pid)), st
    vms = {v["name"]: v for v in json.loads(c.run(["microvm", "list", "--json"]).stdout)}
    assert (vms[name]["supervisor"], vms[name]["unit"]) == ("systemd-unit", unit), vms[name]
    listed = c.run(["microvm", "list"]).stdout
    assert f", running as systemd unit {unit}]" in listed, listed


def test_microvms_target_starts_the_autostart_set_and_stops_it_gracefully(systemd_container,
                                                                          guest):
    c = systemd_container
    install(c, guest, vm(guest, "a") + vm(guest, "b", "    autostart = false;"))
    assert "microvms.target" in c.show("multi-user.target", "Wants")
    # microvm.nix's: every VM's install unit, the autostart set's VM units.
    assert set(c.show("microvms.target", "Wants").split()) == {
        "microvm@a.service", "install-microvm-a.service", "install-microvm-b.service"}
    c.systemctl("start", "microvms.target", timeout=180)
    assert active(c, "microvm@a.service") == "active"
    assert active(c, "microvm@b.service") == "inactive"
    # Type=notify: active means ready; the VM's status says so too.
    assert '"ready":true' in c.run(["microvm", "status", "--json", "a"]).stdout.replace(" ", "")
    wait_guest(c, "a")
    assert "GUEST-UP" in c.journal("microvm@a.service")
    doctor = c.run(["microvm", "doctor"], check=False).stdout
    assert "supervisor: VMs run as systemd units" in doctor, doctor
    c.systemctl("stop", "microvms.target", timeout=180)
    # The VMs' stop jobs run on after the target's: wait for them, bounded.
    wait_until(lambda: active(c, "microvm@a.service") == "inactive", 180, "microvm@a to stop")
    lines = console_of(c, "a").splitlines()
    assert "CTRL-ALT-DEL" in lines and "GUEST-DOWN" in lines, lines[-20:]


def test_a_killed_vm_is_restarted_by_systemd(systemd_container, guest):
    c = systemd_container
    install(c, guest, vm(guest, "a"))
    r = c.run(["microvm", "start", "a"], timeout=180)
    assert "a: started" in r.stdout, r.stdout + r.stderr
    wait_guest(c, "a")
    first = c.show("microvm@a.service", "MainPID")
    assert_run_by_unit(c, "a", first)
    c.systemctl("kill", "-s", "KILL", "microvm@a.service")
    wait_until(lambda: c.show("microvm@a.service", "NRestarts") == "1"
               and active(c, "microvm@a.service") == "active", 120, "a restart of microvm@a")
    assert c.show("microvm@a.service", "MainPID") != first
    # A fresh console log per start: this is the restarted guest's.
    wait_guest(c, "a")
    assert_run_by_unit(c, "a", c.show("microvm@a.service", "MainPID"))
    r = c.run(["microvm", "stop", "a"], timeout=200)
    assert "a: stopped" in r.stdout, r.stdout + r.stderr
    assert active(c, "microvm@a.service") == "inactive"


def test_apply_restarts_exactly_the_changed_vms_with_restart_if_changed(systemd_container, guest):
    c = systemd_container
    install(c, guest, vm(guest, "a") + vm(guest, "keep", "    restartIfChanged = false;") +
            vm(guest, "same"))
    c.systemctl("start", "microvms.target", timeout=240)
    for name in ("a", "keep", "same"):
        wait_guest(c, name)
    ids = {n: c.show(f"microvm@{n}.service", "InvocationID") for n in ("a", "keep", "same")}
    configure(c, vm(guest, "a", mem=320) + vm(guest, "keep", "    restartIfChanged = false;",
                                               mem=320) + vm(guest, "same"))
    r = c.run(["microvm", "apply"], check=False, timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "a: changed, restarting" in r.stdout, r.stdout
    assert "keep: changed, left running the old runner" in r.stdout, r.stdout
    now = {n: c.show(f"microvm@{n}.service", "InvocationID") for n in ("a", "keep", "same")}
    assert now["a"] != ids["a"]
    assert now["keep"] == ids["keep"] and now["same"] == ids["same"]
    assert all(active(c, f"microvm@{n}.service") == "active" for n in now)
    for name in ("a", "keep", "same"):
        wait_guest(c, name)
    c.systemctl("stop", "microvms.target", timeout=300)


def test_a_broken_configuration_leaves_the_units_out_and_says_why(systemd_container, guest):
    c = systemd_container
    install(c, guest, vm(guest, "a"))
    configure(c, '  microvm.vms.a.config.microvm.memory = 1;\n')
    c.daemon_reload()
    assert c.show("microvms.target", "LoadState") == "not-found"
    out = c.run(["/etc/systemd/system-generators/microvm-generator", "/tmp/g"], check=False)
    assert out.returncode == 0 and "no MicroVM units generated" in out.stderr, out.stderr


def test_a_vm_removed_from_host_nix_is_stopped_and_its_unit_no_longer_wanted(systemd_container,
                                                                            guest):
    c = systemd_container
    install(c, guest, vm(guest, "a") + vm(guest, "b"))
    c.systemctl("start", "microvms.target", timeout=240)
    for name in ("a", "b"):
        wait_guest(c, name)
    configure(c, vm(guest, "a"))
    r = c.run(["microvm", "apply"], check=False, timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "b: no longer in the configuration, stopping" in r.stdout, r.stdout
    assert active(c, "microvm@b.service") == "inactive"
    assert c.show("microvm@b.service", "NRestarts") == "0"
    assert set(c.show("microvms.target", "Wants").split()) == {
        "microvm@a.service", "install-microvm-a.service"}
    assert c.run(["test", "-e", "/var/lib/microvms/.host/b"], check=False).returncode == 1
    assert c.run(["test", "-d", "/var/lib/microvms/b"], check=False).returncode == 0
    assert active(c, "microvm@a.service") == "active"
    c.systemctl("stop", "microvms.target", timeout=180)


def test_register_with_machined_makes_the_vm_a_machine(systemd_container, guest):
    """As microvm.nix's microvm-register: machinectl lists the VM, class vm, under its
    machineId, while its unit runs; machined drops it when the unit stops."""
    c = systemd_container
    install(c, guest, vm(guest, "reg", "    autostart = false;").replace(
        "config.microvm = {", 'config.networking.hostName = "reg-host";\n    config.microvm = {\n'
        '      registerWithMachined = true;\n'
        '      machineId = "a67472e5-570e-5c8a-b18c-ae3c77701050";'))
    r = c.run(["microvm", "start", "reg"], timeout=180)
    assert "reg: started" in r.stdout, r.stdout + r.stderr
    machines = c.run(["machinectl", "list", "--no-legend", "--no-pager"]).stdout
    assert "reg-host" in machines and " vm " in f" {machines} ", machines
    assert c.run(["machinectl", "show", "reg-host", "--property=Id", "--value"]).stdout.strip() == \
        "a67472e5570e5c8ab18cae3c77701050"
    assert c.run(["machinectl", "show", "reg-host", "--property=Unit", "--value"]).stdout.strip() == \
        "microvm@reg.service"
    wait_guest(c, "reg")
    c.run(["microvm", "stop", "reg"], timeout=200)
    machines = c.run(["machinectl", "list", "--no-legend", "--no-pager"]).stdout
    assert "reg-host" not in machines, machines


def vm_with_parts(guest, name):
    """A VM with a tap and a virtiofs share whose marker file the guest prints."""
    return vm(guest, name, params=["microvm.shares=data:virtiofs"], config=f'''\
      interfaces = [ {{ type = "tap"; id = "vm-{name}"; mac = "02:00:00:00:00:0{len(name)}"; }} ];
      shares = [ {{ tag = "data"; source = "/srv/{name}"; mountPoint = "/d"; proto = "virtiofs";
                   socket = "data.sock"; }} ];''')


def test_helper_units_set_up_taps_and_virtiofsd_and_a_switched_off_one_is_not_there(
        systemd_container, guest):
    c = systemd_container
    c.run(["mkdir", "-p", "/srv/a", "/srv/bb"])
    c.write_file("/srv/a/marker", "from-unit\n")
    c.write_file("/srv/bb/marker", "bb\n")
    install(c, guest, vm_with_parts(guest, "a") + vm_with_parts(guest, "bb") +
            '  systemd.services."microvm-tap-interfaces@bb.service".enable = false;\n')
    helpers = ["microvm-tap-interfaces@a.service", "microvm-macvtap-interfaces@a.service",
               "microvm-pci-devices@a.service", "microvm-virtiofsd@a.service"]
    assert set(helpers) <= set(c.show("microvm@a.service", "Requires").split())
    assert "microvm-tap-interfaces@bb.service" not in c.show("microvm@bb.service", "Requires")
    r = c.run(["systemctl", "start", "microvm@a.service"], check=False, timeout=180)
    assert r.returncode == 0, c.run(["journalctl", "--no-pager", "-n", "60"]).stdout
    for unit in helpers + ["install-microvm-a.service"]:
        assert c.show(unit, "Result") == "success", unit
    assert active(c, "microvm-tap-interfaces@a.service") == "active"
    assert active(c, "microvm-virtiofsd@a.service") == "active"
    assert c.run(["ip", "link", "show", "vm-a"], check=False).returncode == 0
    vfs_pid = c.show("microvm-virtiofsd@a.service", "MainPID")
    assert "virtiofsd" in c.run(["ps", "-o", "comm=", "--ppid", vfs_pid]).stdout
    wait_guest(c, "a", "SHARE data from-unit")
    # The VM's own unit runs no virtiofsd: its helper's does.
    assert "virtiofsd" not in c.run(["ps", "-o", "comm=", "--ppid",
                                     c.show("microvm@a.service", "MainPID")], check=False).stdout

    # A killed VM is restarted (systemd restarts its PartOf helpers with it), and served.
    c.write_file("/srv/a/marker", "again\n")
    c.systemctl("kill", "--kill-who=main", "-s", "KILL", "microvm@a.service")
    wait_until(lambda: c.show("microvm@a.service", "NRestarts") == "1"
               and active(c, "microvm@a.service") == "active", 120, "a restart of microvm@a")
    wait_guest(c, "a", "SHARE data again")
    assert active(c, "microvm-tap-interfaces@a.service") == "active"
    assert c.run(["ip", "link", "show", "vm-a"], check=False).returncode == 0

    # A virtiofsd that dies takes the share from the guest: the VM's unit is restarted.
    vm_id = c.show("microvm@a.service", "InvocationID")
    c.write_file("/srv/a/marker", "third\n")
    served = c.run(["ps", "-o", "pid=", "--ppid",
                    c.show("microvm-virtiofsd@a.service", "MainPID")]).stdout.split()
    c.run(["kill", "-KILL", served[0]])
    wait_until(lambda: c.show("microvm@a.service", "InvocationID") not in ("", vm_id)
               and active(c, "microvm@a.service") == "active", 120, "microvm@a restarted")
    wait_guest(c, "a", "SHARE data third")

    # bb's taps are switched off: they must exist, and nothing sets them up.
    r = c.run(["systemctl", "start", "microvm@bb.service"], check=False, timeout=120)
    assert r.returncode != 0
    assert "microvm-tap-interfaces@ is switched off in host.nix" in c.journal("microvm@bb.service")
    c.run(["ip", "tuntap", "add", "vm-bb", "mode", "tap"])
    c.systemctl("reset-failed", "microvm@bb.service")
    c.systemctl("start", "microvm@bb.service", timeout=180)
    wait_guest(c, "bb", "SHARE data bb")
    assert active(c, "microvm-tap-interfaces@bb.service") == "inactive"

    # Stopping a VM stops its helpers after it: taps and sockets go.
    c.systemctl("stop", "microvm@a.service", "microvm@bb.service", timeout=200)
    # systemctl waits for the VMs' stop jobs; the helpers' follow theirs.
    for unit in helpers:
        wait_until(lambda: active(c, unit) == "inactive", 60, f"{unit} to stop")
    assert c.run(["ip", "link", "show", "vm-a"], check=False).returncode != 0
    assert c.run(["ip", "link", "show", "vm-bb"], check=False).returncode == 0  # the admin's
    assert c.run(["test", "-e", "/var/lib/microvms/a/data.sock"], check=False).returncode == 1
    lines = console_of(c, "a").splitlines()
    assert "GUEST-DOWN" in lines, lines[-20:]


def test_the_contrib_init_scripts_step_aside_under_systemd(systemd_container, guest):
    """Debian's systemd runs /etc/init.d scripts too: the sysvinit script must not start the
    autostart set a second time beside microvms.target."""
    c = systemd_container
    install(c, guest, vm(guest, "a"))
    env = ["env", f"MICROVM={MICROVM}"]
    r = c.run(env + ["sh", f"{CONTRIB}/sysvinit/microvms", "start"])
    assert "MicroVMs are systemd units on this host" in r.stdout, r.stdout
    assert active(c, "microvm@a.service") == "inactive"
    assert '"not-booted"' in c.run(["microvm", "status", "--json", "a"]).stdout
