"""autostart, apply's restarts (restartIfChanged) and host.enable: real qemu guests (TCG)."""
import json
import os
import resource
import subprocess
import time

from test_run import MACHINE_OPTS, ROOT, nix_list, no_processes_left, tsc_khz  # noqa: F401


def vm(guest, name, extra="", mem=256, hold="forever", params=(), config=""):
    """VM `name` of the test guest: `extra` lines beside its config, `params` more kernel
    parameters, `config` more lines of its microvm options."""
    params = nix_list(["quiet", f"tsc_early_khz={tsc_khz()}", f"microvm.hold={hold}", *params])
    return f'''  microvm.vms.{name} = {{
{extra}
    config.microvm = {{
      kernel = "{guest.kernel}"; initrdPath = "{guest.initrd}";
      cpu = "max"; mem = {mem}; qemu.machineOpts = {MACHINE_OPTS};
      kernelParams = {params};
{config}
    }};
  }};
'''


def write(tmp_path, body, name="host.nix"):
    host = tmp_path / name
    host.write_text(f'{{\n  microvm.stateDir = "{tmp_path / "state"}";\n{body}}}\n')
    return host


def tmp_state(host):
    return host.parent / "state"


def mv(microvm, host, *args, timeout=180):
    return subprocess.run([microvm, "--config", str(host), *args], capture_output=True, text=True,
                          timeout=timeout)


def listing(microvm, host):
    r = mv(microvm, host, "list", "--json")
    assert r.returncode == 0, r.stderr
    return {e["name"]: e for e in json.loads(r.stdout)}


def wait_booted(host, names):
    """A Ctrl-Alt-Del before the guest's keyboard driver is up is lost: let them boot first."""
    state = tmp_state(host)
    for name in names:
        log = state / ".host" / name / "console.log"
        end = time.monotonic() + 90
        while log.exists() and (state / name / "booted").exists() and time.monotonic() < end:
            if "GUEST-UP" in log.read_text(errors="replace").splitlines():
                break
            time.sleep(0.1)


def stop_all(microvm, host, names):
    wait_booted(host, names)
    r = mv(microvm, host, "stop", *names)
    assert r.returncode == 0, r.stdout + r.stderr


def test_autostart_starts_exactly_the_autostart_set(microvm, guest, tmp_path):
    # "d" is installed in the state directory, not declared: as an imperative VM is, with
    # `microvm install` of a runner built elsewhere (here by an apply into another state
    # directory; apply would remove a VM it installed that the configuration dropped).
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    other = write(elsewhere, vm(guest, "d"), "other.nix")
    assert mv(microvm, other, "apply", "--no-start").returncode == 0
    host = write(tmp_path, '  microvm.autostart = [ "d" ];\n' + vm(guest, "a") + vm(guest, "b") +
                 vm(guest, "c", "    autostart = false;"))
    runner = os.path.realpath(tmp_state(other) / ".host" / "d" / "current")
    r = mv(microvm, host, "install", "d", runner)
    assert r.returncode == 0, r.stderr
    r = mv(microvm, host, "apply", "--no-start")
    assert r.returncode == 0, r.stderr
    assert all(e["state"] == "not-booted" for e in listing(microvm, host).values())

    try:
        r = mv(microvm, host, "autostart", "--jobs", "2")
        assert r.returncode == 0, r.stdout + r.stderr
        assert sorted(r.stdout.splitlines()) == ["a: started", "b: started", "d: started"]
        vms = listing(microvm, host)
        assert {n for n, e in vms.items() if e["state"] == "running"} == {"a", "b", "d"}
        assert vms["c"]["state"] == "not-booted"
        # Running VMs are left alone.
        r = mv(microvm, host, "autostart")
        assert sorted(r.stdout.splitlines()) == [
            "a: already running", "b: already running", "d: already running"]
    finally:
        stop_all(microvm, host, ["a", "b", "c", "d"])
    no_processes_left(tmp_path / "state")


def test_autostart_reports_each_failure(microvm, guest, tmp_path):
    host = write(tmp_path, '  microvm.autostart = [ "ghost" ];\n' + vm(guest, "a"))
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    try:
        r = mv(microvm, host, "autostart")
        assert r.returncode == 1
        assert r.stdout == "a: started\n"
        assert "vm ghost is not installed" in r.stderr and "1 of 2 VMs did not start" in r.stderr
    finally:
        stop_all(microvm, host, ["a"])


def test_apply_restarts_only_vms_with_restart_if_changed(microvm, guest, tmp_path):
    def body(mem):
        return vm(guest, "x", mem=mem) + vm(guest, "y", "    restartIfChanged = false;", mem=mem)

    host = write(tmp_path, body(256))
    try:
        # apply starts the autostart VMs that are not running.
        r = mv(microvm, host, "apply")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "x: started" in r.stdout and "y: started" in r.stdout, r.stdout
        before = listing(microvm, host)
        assert before["x"]["state"] == "running" and before["y"]["state"] == "running"

        wait_booted(host, ["x", "y"])
        write(tmp_path, body(320))
        r = mv(microvm, host, "apply")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "x: changed, restarting" in r.stdout and "x: started" in r.stdout, r.stdout
        assert "y: changed, left running the old runner (restartIfChanged = false)" in r.stdout
        after = listing(microvm, host)
        assert after["x"]["pid"] != before["x"]["pid"] and after["x"]["upToDate"] is True
        assert after["y"]["pid"] == before["y"]["pid"] and after["y"]["upToDate"] is False
        st = json.loads(mv(microvm, host, "status", "--json", "y").stdout)
        assert st["upToDate"] is False and st["ready"] is True
        plain = mv(microvm, host, "status", "y").stdout
        assert "(stale)" in plain, plain

        # Nothing changed: nothing restarts, nothing starts.
        r = mv(microvm, host, "apply")
        assert "restarting" not in r.stdout and "started" not in r.stdout, r.stdout
    finally:
        stop_all(microvm, host, ["x", "y"])
    no_processes_left(tmp_path / "state")


def test_disabled_host_module_does_nothing(microvm, guest, tmp_path):
    host = write(tmp_path, "  microvm.host.enable = false;\n" + vm(guest, "a"))
    for args in (["apply"], ["autostart"], ["start", "a"]):
        r = mv(microvm, host, *args)
        assert r.returncode == 0, r.stderr
        assert "the host module is disabled (microvm.host.enable = false)" in r.stdout
    assert not (tmp_path / "state" / "a").exists()


def test_sysvinit_script_starts_and_stops_the_autostart_set(microvm, guest, tmp_path):
    host = write(tmp_path, vm(guest, "a") + vm(guest, "b", "    autostart = false;"))
    assert mv(microvm, host, "apply", "--no-start").returncode == 0
    script = os.path.join(ROOT, "contrib", "sysvinit", "microvms")
    env = dict(os.environ, MICROVM=microvm, MICROVM_CONFIG=str(host))
    r = subprocess.run(["sh", script, "start"], capture_output=True, text=True, env=env,
                       timeout=180)
    assert r.returncode == 0 and "a: started" in r.stdout, r.stdout + r.stderr
    assert mv(microvm, host, "start", "b").returncode == 0
    wait_booted(host, ["a", "b"])
    r = subprocess.run(["sh", script, "stop"], capture_output=True, text=True, env=env,
                       timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(r.stdout.splitlines()[1:]) == ["a: stopped", "b: stopped"], r.stdout
    assert all(e["state"] == "not-booted" for e in listing(microvm, host).values())
    no_processes_left(tmp_path / "state")


def test_openrc_service_is_valid_shell():
    script = os.path.join(ROOT, "contrib", "openrc", "microvms")
    assert subprocess.run(["sh", "-n", script]).returncode == 0


def test_more_vms_than_open_files_allow(microvm, tmp_path):
    """autostart and stop --all keep one pipe open per VM in progress: past the open-file
    limit, the VMs left wait for a slot instead of failing. A stand-in cloud-hypervisor
    (a shell script that sleeps) keeps it fast; no guest boots."""
    stand_in = tmp_path / "cloud-hypervisor-stand-in"
    stand_in.write_text("#!/bin/sh\nexec sleep 100000\n")
    stand_in.chmod(0o755)
    boot = tmp_path / "boot-file"
    boot.write_bytes(b"\0" * 512)
    boot.chmod(0o644)
    names = [f"v{i:02d}" for i in range(40)]
    host = write(tmp_path, "".join(
        f'  microvm.vms.{n}.config.microvm = {{ hypervisor = "cloud-hypervisor"; '
        f'cloud-hypervisor.package = "{stand_in}"; kernel = "{boot}"; initrdPath = "{boot}"; }};\n'
        for n in names))
    assert mv(microvm, host, "apply", "--no-start").returncode == 0

    def few_files():
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, resource.getrlimit(
            resource.RLIMIT_NOFILE)[1]))

    def limited(*args):
        return subprocess.run([microvm, "--config", str(host), *args], capture_output=True,
                              text=True, timeout=180, preexec_fn=few_files)

    try:
        r = limited("autostart", "--jobs", "40")
        assert r.returncode == 0, r.stderr[-2000:]
        assert sorted(r.stdout.splitlines()) == [f"{n}: started" for n in names]
        r = limited("stop", "--all")
        assert r.returncode == 0, r.stderr[-2000:]
        assert sorted(r.stdout.splitlines()) == [f"{n}: stopped" for n in names]
    finally:
        mv(microvm, host, "stop", "--all")
    assert all(e["state"] == "not-booted" for e in listing(microvm, host).values())
    no_processes_left(tmp_path / "state")
