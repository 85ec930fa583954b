"""microvm plan: what a start would do, read from the installed runner."""
import json
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))



def run(microvm, host, *args):
    return subprocess.run([microvm, "--config", str(host), *args], capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def installed(microvm, tmp_path):
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
  microvm.host.tapScript = "ip link set \\"$id\\" master br0 up";
  microvm.vms.web.config.microvm = {{
    kernel = "/boot/vmlinuz"; initrdPath = "/boot/initrd.img"; vcpu = 2;
    cpu = "max"; qemu.machine = "q35"; qemu.machineOpts = {{ accel = "tcg"; }};
    interfaces = [ {{ type = "tap"; id = "vm-web"; mac = "02:00:00:00:00:01"; }} ];
    shares = [ {{ tag = "data"; source = "/srv"; mountPoint = "/data"; proto = "virtiofs"; }} ];
    volumes = [ {{ image = "var.img"; mountPoint = "/var"; size = 64; label = "var"; }} ];
  }};
}}
''')
    r = run(microvm, host, "apply", "--no-start")
    assert r.returncode == 0, r.stderr
    return host, state


def test_plan_json_lists_every_step(microvm, installed):
    host, state = installed
    r = run(microvm, host, "plan", "--json", "web")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["vm"] == "web" and plan["hypervisor"] == "qemu"
    assert plan["runner"] == os.readlink(state / "web" / "current").split("/")[-1]
    assert plan["workingDirectory"] == str(state / "web")
    vol = plan["volumes"][0]
    assert vol["create"] and vol["sizeMiB"] == 64
    assert vol["mkfs"] == ["mkfs.ext4", "-L", "var", str(state / "web" / "var.img")]
    tap = plan["interfaces"][0]
    assert tap["id"] == "vm-web" and tap["flags"] == ["vnet_hdr", "multi_queue"]
    assert tap["tapScript"] == 'ip link set "$id" master br0 up'
    vfs = plan["virtiofsd"][0]
    # microvm binds the socket in the VM's directory and hands it over as descriptor 3:
    # virtiofsd never touches a path the VM's user could swap.
    assert vfs["socket"] == "web-virtiofs-data.sock"
    assert "--fd=3" in vfs["argv"] and not any(a.startswith("--socket") for a in vfs["argv"])
    assert plan["readiness"] == "qmp"
    argv = plan["command"]["argv"]
    assert argv[argv.index("-M") + 1] == "q35,accel=tcg"
    assert argv[argv.index("-cpu") + 1] == "max" and "-enable-kvm" not in argv
    assert plan["shutdown"] == "qmp" and plan["socket"] == "web.sock"


def test_plan_text_and_errors(microvm, installed):
    host, _ = installed
    r = run(microvm, host, "plan", "web")
    assert r.returncode == 0
    assert "tap vm-web: create (vnet_hdr multi_queue)" in r.stdout
    assert "virtiofsd for share data" in r.stdout
    r = run(microvm, host, "plan", "absent")
    assert r.returncode == 1
    assert "vm absent is not installed" in r.stderr and "microvm apply" in r.stderr
    r = run(microvm, host, "plan")  # what apply would do
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "web: unchanged", r.stdout
    r = run(microvm, host, "plan", "web", "absent")
    assert r.returncode == 2
    r = run(microvm, host, "plan", "--json")
    assert r.returncode == 2


def test_plan_of_a_macvtap(microvm, tmp_path):
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
  microvm.vms.web.config.microvm = {{
    kernel = "/boot/vmlinuz"; initrdPath = "/boot/initrd.img"; vcpu = 2;
    interfaces = [ {{ type = "macvtap"; id = "vm-mv"; mac = "02:00:00:00:00:02";
                      macvtap = {{ link = "eth9"; mode = "vepa"; }}; }} ];
  }};
}}
''')
    assert run(microvm, host, "apply", "--no-start").returncode == 0
    r = run(microvm, host, "plan", "--json", "web")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    # qemu opens a queue per vCPU: /dev/tapN twice, as descriptors 3 and 4.
    assert plan["interfaces"] == [{"create": True, "fds": [3, 4], "id": "vm-mv", "ifname": "vm-mv",
                                   "link": "eth9",
                                   "mac": "02:00:00:00:00:02", "mode": "vepa",
                                   "owner": "microvm", "type": "macvtap"}]
    argv = plan["command"]["argv"]
    assert "tap,id=vm-mv,fds=3:4" in argv and plan["command"]["ifindexPending"] is False
    r = run(microvm, host, "plan", "web")
    assert "macvtap vm-mv: create on eth9, mode vepa, mac 02:00:00:00:00:02" in r.stdout
    assert "open its /dev/tapN as the hypervisor's descriptors 3, 4\n" in r.stdout


def test_plan_reports_a_missing_hypervisor(microvm, tmp_path):
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
  microvm.vms.a.config.microvm = {{ kernel = "/k"; initrdPath = "/i";
    qemu.package = "/nonexistent/qemu-system-x86_64"; }};
}}
''')
    assert run(microvm, host, "apply", "--no-start").returncode == 0
    r = run(microvm, host, "plan", "a")
    assert r.returncode == 1
    assert "/nonexistent/qemu-system-x86_64" in r.stderr
    assert "microvm.qemu.package" in r.stderr


def test_plan_lists_the_pci_devices_a_start_binds(microvm, tmp_path):
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
  microvm.vms.web.config.microvm = {{
    kernel = "/boot/vmlinuz"; initrdPath = "/boot/initrd.img";
    devices = [ {{ bus = "pci"; path = "0000:0A:1f.3"; }}
                {{ bus = "usb"; path = "vendorid=0x1234,productid=0x5678"; }} ];
  }};
}}
''')
    assert run(microvm, host, "apply", "--no-start").returncode == 0
    r = run(microvm, host, "plan", "--json", "web")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    # sysfs's spelling, lower case; the USB device is the hypervisor's alone.
    assert plan["pciDevices"] == ["0000:0a:1f.3"]
    r = run(microvm, host, "plan", "web")
    assert "PCI device 0000:0a:1f.3: bind to vfio-pci, /dev/vfio/GROUP owner " in r.stdout


def test_plan_of_a_long_interface_id(microvm, tmp_path):
    """An id longer than 15 bytes: the plan shows it and the kernel name derived from it."""
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'''{{
  microvm.stateDir = "{state}";
  microvm.vms.web.config.microvm = {{
    kernel = "/boot/vmlinuz"; initrdPath = "/boot/initrd.img";
    interfaces = [ {{ type = "tap"; id = "vm-web-frontend-eth0"; mac = "02:00:00:00:00:02"; }} ];
  }};
}}
''')
    assert run(microvm, host, "apply", "--no-start").returncode == 0
    r = run(microvm, host, "plan", "--json", "web")
    assert r.returncode == 0, r.stderr
    (it,) = json.loads(r.stdout)["interfaces"]
    assert (it["id"], it["ifname"]) == ("vm-web-frontend-eth0", "vm-web-f-b696e6")
    r = run(microvm, host, "plan", "web")
    assert "tap vm-web-f-b696e6 (alternative name vm-web-frontend-eth0): create" in r.stdout

    # Made by someone else, it is expected under its kernel name.
    host.write_text(host.read_text().replace(
        "{\n", '{\n  systemd.services."microvm-tap-interfaces@%i.service".enable = false;\n', 1))
    r = run(microvm, host, "plan", "web")
    assert ("tap vm-web-f-b696e6 (kernel name of id vm-web-frontend-eth0): expected to exist"
            in r.stdout), r.stdout + r.stderr
