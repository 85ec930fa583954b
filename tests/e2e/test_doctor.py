"""microvm doctor on this host, and qemu's fallback to TCG where KVM cannot run guests.

Every expectation is derived from the host itself (device nodes opened here,
programs run here, /proc/cpuinfo, /sys/module), never written down.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QEMU = "qemu-system-x86_64"
BOOT_TIMEOUT = 120



def run(microvm, host, *args, timeout=60):
    return subprocess.run([microvm, "--config", str(host), *args], capture_output=True,
                          text=True, timeout=timeout)


def write_host(tmp_path, vms=""):
    state = tmp_path / "state"
    host = tmp_path / "host.nix"
    host.write_text(f'{{\n  microvm.stateDir = "{state}";\n{vms}}}\n')
    return host, state


def doctor_json(microvm, host):
    r = run(microvm, host, "doctor", "--json")
    findings = json.loads(r.stdout)
    return r, {f["check"]: f for f in findings}, findings


def opens(path):
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CLOEXEC))
        return True
    except OSError:
        return False


def cpu_flags():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        line = next((l for l in f if l.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


@pytest.fixture(scope="module")
def host_report(microvm, tmp_path_factory):
    """doctor --json against a configuration without VMs: only the host's own gaps."""
    host, _ = write_host(tmp_path_factory.mktemp("doctor"))
    r, by_check, findings = doctor_json(microvm, host)
    return r, by_check, findings


def test_every_finding_is_well_formed_and_the_exit_status_follows(host_report):
    r, by_check, findings = host_report
    assert [f["check"] for f in findings][:5] == ["configuration", "kvm", "tun", "vhost-net",
                                                  "vhost-vsock"]
    for f in findings:
        assert set(f) == {"check", "status", "detail", "hint"}
        assert f["status"] in ("ok", "info", "warning", "error") and f["detail"]
        if f["status"] in ("warning", "error"):
            assert f["hint"], f
    errors = [f for f in findings if f["status"] == "error"]
    assert r.returncode == (1 if errors else 0), r.stderr
    # No VM is configured, so nothing is an error that a VM would run into.
    assert by_check["configuration"]["status"] == "ok"
    assert by_check["state-directory"]["status"] == "info"


def test_kvm_verdict_matches_this_host(host_report):
    _, by_check, _ = host_report
    kvm = by_check["kvm"]
    if not os.path.exists("/dev/kvm"):
        assert kvm["status"] == "warning" and "does not exist" in kvm["detail"]
        return
    if kvm["status"] == "ok":
        assert kvm["detail"].startswith("KVM runs guests")
        return
    assert kvm["status"] == "warning"
    assert "qemu falls back to TCG" in kvm["detail"]
    # The machines these tests run on: a paravirtualised KVM (kvm_pvm) on a CPU
    # without vmx/svm, where a guest never gets anywhere.
    if os.path.isdir("/sys/module/kvm_pvm") and not cpu_flags() & {"vmx", "svm"}:
        assert re.match(r"KVM cannot run guests( at a usable speed)?: ", kvm["detail"]), kvm
        assert "kvm_pvm" in kvm["hint"]


def test_device_nodes_as_this_host_has_them(host_report):
    _, by_check, _ = host_report
    for check, path in (("tun", "/dev/net/tun"), ("vhost-net", "/dev/vhost-net"),
                        ("vhost-vsock", "/dev/vhost-vsock")):
        f = by_check[check]
        if opens(path):
            assert f["status"] == "ok" and path in f["detail"], f
        else:
            # Nothing configured needs it: a warning, with the module to load.
            assert f["status"] == "warning" and path in f["detail"], f
            if not os.path.exists(path):
                assert f["hint"].startswith("load it: modprobe "), f


def test_qemu_is_found_with_its_version(host_report):
    _, by_check, _ = host_report
    qemu = shutil.which(QEMU)
    if qemu is None:
        pytest.fail(f"{QEMU} not found; install it: apt-get install qemu-system-x86")
    first_line = subprocess.run([qemu, "--version"], capture_output=True, text=True,
                                timeout=30).stdout.splitlines()[0].strip()
    f = by_check["qemu"]
    assert f["status"] == "ok"
    assert f["detail"].startswith(first_line) and qemu in f["detail"]
    # The others: found with a version, or not found; no VM uses them, so never an error.
    for check, binary in (("cloud-hypervisor", "cloud-hypervisor"), ("firecracker", "firecracker"),
                          ("crosvm", "crosvm"), ("kvmtool", "lkvm"), ("stratovirt", "stratovirt"),
                          ("alioth", "alioth")):
        f = by_check[check]
        if shutil.which(binary):
            assert f["status"] in ("ok", "warning"), f
        else:
            assert f["status"] == "info" and "not found" in f["detail"], f


def test_text_output_says_the_same(microvm, host_report, tmp_path):
    _, by_check, findings = host_report
    host, _ = write_host(tmp_path)
    r = run(microvm, host, "doctor")
    lines = r.stdout.splitlines()
    for f in findings:
        # The KVM probe's timing differs between runs; the rest is identical.
        assert any(l.startswith(f"{f['status']:8} {f['check']}: ") for l in lines), f
    counts = {s: sum(f["status"] == s for f in findings)
              for s in ("ok", "info", "warning", "error")}
    assert lines[-1].startswith(f"{len(findings)} checks: {counts['ok']} ok, {counts['info']} info, ")
    assert "\033[" not in r.stdout


def test_gaps_that_configured_vms_run_into_are_errors(microvm, tmp_path):
    host, _ = write_host(tmp_path, '''
  microvm.vms.ch.config.microvm = { hypervisor = "cloud-hypervisor"; kernel = "/k"; initrdPath = "/i";
    cloud-hypervisor.package = "/nonexistent/cloud-hypervisor"; };
  microvm.vms.q.config.microvm = { kernel = "/k"; initrdPath = "/i"; vsock.cid = 3;
    interfaces = [ { type = "tap"; id = "vm-q"; mac = "02:00:00:00:00:01"; } ]; };
''')
    r, by_check, findings = doctor_json(microvm, host)
    ch = by_check["cloud-hypervisor"]
    assert ch["status"] == "error" and "vm ch uses it" in ch["detail"]
    if by_check["kvm"]["status"] != "ok":
        assert by_check["kvm"]["status"] == "error" and "vm ch needs KVM" in by_check["kvm"]["detail"]
    vsock = by_check["vhost-vsock"]
    assert vsock["status"] == ("ok" if opens("/dev/vhost-vsock") else "error"), vsock
    tun = by_check["tun"]
    assert tun["status"] == ("ok" if opens("/dev/net/tun") else "error"), tun
    errors = sum(f["status"] == "error" for f in findings)
    assert r.returncode == 1
    assert f"{errors} check{'s' if errors != 1 else ''} failed" in r.stderr


def test_a_broken_configuration_is_reported_and_the_checks_go_on(microvm, tmp_path):
    host = tmp_path / "host.nix"
    host.write_text("{ microvm.stateDir = ; }\n")
    r, by_check, _ = doctor_json(microvm, host)
    assert by_check["configuration"]["status"] == "error"
    assert str(host) in by_check["configuration"]["detail"]
    assert "kvm" in by_check and "memlock" in by_check
    assert r.returncode == 1
    r = run(microvm, host, "doctor", "extra")
    assert r.returncode == 2


def kvm_verdict(microvm, tmp_path):
    host, _ = write_host(tmp_path / "doctor-first")
    _, by_check, _ = doctor_json(microvm, host)
    return by_check["kvm"]


def qemu_vm(tmp_path, params=(), guest=None):
    """A qemu VM with microvm.nix's defaults: no microvm.cpu, no machineOpts."""
    kernel = guest.kernel if guest else "/boot/vmlinuz"
    initrd = guest.initrd if guest else "/boot/initrd.img"
    params = " ".join(f'"{p}"' for p in params)
    return write_host(tmp_path, f'''
  microvm.vms.d.config.microvm = {{ kernel = "{kernel}"; initrdPath = "{initrd}"; mem = 256;
    kernelParams = [ {params} ]; }};
''')


def test_plan_uses_tcg_where_kvm_cannot_run_guests(microvm, tmp_path):
    (tmp_path / "doctor-first").mkdir()
    kvm = kvm_verdict(microvm, tmp_path)
    host, _ = qemu_vm(tmp_path)
    assert run(microvm, host, "apply", "--no-start").returncode == 0
    r = run(microvm, host, "plan", "--json", "d")
    assert r.returncode == 0, r.stderr
    argv = json.loads(r.stdout)["command"]["argv"]
    machine = argv[argv.index("-M") + 1]
    if kvm["status"] == "ok":
        assert "accel=kvm:tcg" in machine.split(",")
        assert "-enable-kvm" in argv and argv[argv.index("-cpu") + 1] == "host,+x2apic,-sgx"
        assert "TCG" not in r.stderr
    else:
        assert "accel=tcg" in machine.split(",")
        assert "-enable-kvm" not in argv and argv[argv.index("-cpu") + 1] == "max"
        # The same verdict doctor gave, up to the probe's timings.
        verdict = kvm["detail"].split(":")[0].split(";")[0]
        assert f"vm d: {verdict}" in r.stderr and "qemu runs it with TCG" in r.stderr


def cpu_khz():
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        mhz = re.search(r"cpu MHz\s*:\s*([0-9.]+)", f.read()).group(1)
    return int(float(mhz) * 1000)


def test_run_boots_a_default_qemu_vm_with_the_fallback(microvm, guest, tmp_path):
    """microvm.nix's default qemu settings boot here, whatever KVM can do."""
    (tmp_path / "doctor-first").mkdir()
    kvm = kvm_verdict(microvm, tmp_path)
    # -M microvm needs the TSC frequency under TCG: it has no PIT to calibrate against.
    host, state = qemu_vm(tmp_path, ["quiet", f"tsc_early_khz={cpu_khz()}"], guest)
    assert run(microvm, host, "apply", "--no-start").returncode == 0
    try:
        r = subprocess.run([microvm, "--config", str(host), "run", "d"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=BOOT_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the VM did not power off within {BOOT_TIMEOUT} s:\n"
                    f"{(e.stdout or b'').decode(errors='replace')[-3000:]}")
    out = r.stdout.decode(errors="replace").replace("\r", "")
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, out[-3000:] + err
    assert "GUEST-UP" in out.splitlines() and "GUEST-DOWN" in out.splitlines(), out[-3000:]
    assert ("qemu runs it with TCG" in err) == (kvm["status"] != "ok"), err
