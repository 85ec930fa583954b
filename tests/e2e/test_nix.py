"""Flake VMs with a real Nix (Debian's nix-bin, offline): apply of a declarative flake VM,
microvm -c / -u / -R, install of a store path, garbage-collector roots, and what goes wrong.
The test flakes have no inputs: their declaredRunner is a derivation built with /bin/sh that
lays out a runner as microvm.nix's lib/runner.nix does, whose bin/microvm-run boots the test
guest under qemu (TCG)."""
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from test_monitor import mv
from test_foreign_runner import (foreign_runner, wait_for, console_f, no_foreign_processes,
                                 host_b as host)

NIX_CONFIG = "\n".join(["experimental-features = nix-command flakes", "substituters =",
                        "sandbox = false", "build-users-group ="])

BUILDER = r'''set -eu
/bin/mkdir -p "$out/bin" "$out/share/microvm"
/bin/cp "$run" "$out/bin/microvm-run"
/bin/cp "$shutdown" "$out/bin/microvm-shutdown"
/bin/chmod 755 "$out/bin/microvm-run" "$out/bin/microvm-shutdown"
echo qemu > "$out/share/microvm/hypervisor"
echo vnet_hdr > "$out/share/microvm/tap-flags"
for tag in $tags; do
  /bin/mkdir -p "$out/share/microvm/virtiofs/$tag"
  /bin/cp "$src/share/microvm/virtiofs/$tag/socket" "$out/share/microvm/virtiofs/$tag/socket"
  /bin/cp "$src/share/microvm/virtiofs/$tag/source" "$out/share/microvm/virtiofs/$tag/source"
done
'''


@pytest.fixture(autouse=True)
def offline_nix(monkeypatch):
    if shutil.which("nix") is None:
        pytest.fail("nix not found: apt-get install nix-bin (scripts/install-deps.sh does)")
    monkeypatch.setenv("NIX_CONFIG", NIX_CONFIG)


def make_flake(tmp_path, microvm, guest, vms, *, params=(), extra=""):
    """A flake at tmp_path/flake whose nixosConfigurations.NAME.config.microvm.declaredRunner,
    for each NAME of `vms`, is a runner booting the test guest."""
    flake = tmp_path / "flake"
    flake.mkdir(exist_ok=True)
    attrs = []
    for name in vms:
        work = tmp_path / f"layout-{name}"
        if work.exists():
            shutil.rmtree(work)
        work.mkdir()
        src = foreign_runner(microvm, work, guest, params=params, extra=extra)
        dst = flake / name
        if dst.exists():
            shutil.rmtree(dst)
        shutil.copytree(src, dst, symlinks=True)
        tags = sorted(os.listdir(dst / "share" / "microvm" / "virtiofs")) \
            if (dst / "share" / "microvm" / "virtiofs").exists() else []
        attrs.append(f'''    nixosConfigurations."{name}".config.microvm.declaredRunner = derivation {{
      name = "microvm-qemu-{name}"; system = "x86_64-linux"; builder = "/bin/sh";
      args = [ ./builder.sh ]; run = ./{name}/bin/microvm-run;
      shutdown = ./{name}/bin/microvm-shutdown; src = ./{name}; tags = "{" ".join(tags)}";
    }};''')
    (flake / "builder.sh").write_text(BUILDER)
    (flake / "flake.nix").write_text("{\n  outputs = { self }: {\n" + "\n".join(attrs) +
                                     "\n  };\n}\n")
    return flake


def record(state, name, link="current"):
    return os.readlink(state / ".host" / name / link)


def test_a_declarative_flake_vm_is_built_installed_and_boots_with_its_share(
        microvm, guest, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "marker").write_text("from-nix\n")
    flake = make_flake(tmp_path, microvm, guest, ["f"],
                       params=["microvm.shares=data:virtiofs", "microvm.hold=forever"],
                       extra=f'''    shares = [ {{ tag = "data"; source = "{data}"; mountPoint = "/d";
                  proto = "virtiofs"; }} ];''')
    h, state = host(tmp_path, f"  microvm.vms.f.flake = {flake};")
    r = mv(microvm, h, "apply", "--no-start")
    assert r.returncode == 0, r.stderr
    runner = record(state, "f")
    assert runner.startswith("/nix/store/") and runner.endswith("-microvm-qemu-f"), runner
    assert r.stdout == f"f: installed {runner}\n", r.stdout
    assert os.readlink(state / "f" / "current") == runner
    assert (state / "f" / "flake").read_text() == f"{flake}\n"
    assert (state / ".host" / "f" / "flake").read_text() == f"{flake}\n"
    assert not (state / ".host" / "f" / "toplevel").exists()
    if os.path.isdir("/nix/var/nix/gcroots"):
        assert os.readlink("/nix/var/nix/gcroots/microvm/f") == str(state / ".host/f/current")
        assert os.readlink("/nix/var/nix/gcroots/microvm/booted-f") == \
            str(state / ".host/f/booted")
    r = mv(microvm, h, "apply", "--no-start")
    assert r.returncode == 0 and r.stdout == f"f: unchanged, {runner}\n", r.stdout + r.stderr

    assert mv(microvm, h, "start", "f").returncode == 0
    try:
        wait_for(state, "SHARE data from-nix")
        assert record(state, "f", "booted") == runner
    finally:
        stop = mv(microvm, h, "stop", "f")
    assert stop.returncode == 0, stop.stderr
    log = console_f(state)
    assert "shutting the guest down (runner-script)" in log, log[-3000:]
    assert "GUEST-DOWN" in log.splitlines(), log[-3000:]
    no_foreign_processes(state)


def test_create_update_and_restart_only_when_the_runner_changed(microvm, guest, tmp_path):
    flake = make_flake(tmp_path, microvm, guest, ["f"], params=["microvm.hold=forever"])
    h, state = host(tmp_path)
    r = subprocess.run([microvm, "--config", str(h), "-c", "f", "-f", str(flake)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    first = record(state, "f")
    assert r.stdout.startswith(f"Created MicroVM f ({first})"), r.stdout
    again = subprocess.run([microvm, "--config", str(h), "-c", "f", "-f", str(flake)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "already exists" in again.stderr, again.stderr

    assert mv(microvm, h, "start", "f").returncode == 0
    try:
        wait_for(state, "GUEST-UP")
        # Nothing changed: -Ru leaves the VM running.
        r = subprocess.run([microvm, "--config", str(h), "-Ru", "f"], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "No reboot of MicroVM f required." in r.stdout, r.stdout
        pid = json.loads(mv(microvm, h, "status", "--json", "f").stdout)["pid"]
        # A change: -u alone says so, -Ru restarts into the new runner.
        make_flake(tmp_path, microvm, guest, ["f"], params=["microvm.hold=forever", "v=2"])
        outdated = mv(microvm, h, "list", "--outdated")
        assert outdated.returncode == 0, outdated.stderr
        assert outdated.stdout.startswith("f: \x1b") or outdated.stdout.startswith("f: outdated("), \
            outdated.stdout
        assert "microvm -Ru f" in outdated.stdout, outdated.stdout
        r = subprocess.run([microvm, "--config", str(h), "-u", "f"], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        second = record(state, "f")
        listed = mv(microvm, h, "list", "--outdated")
        assert listed.returncode == 0 and "outdated" not in listed.stdout, listed.stdout
        assert second != first and f"f: installed {second}" in r.stdout, r.stdout
        assert "Reboot MicroVM f for the new profile: microvm restart f" in r.stdout, r.stdout
        assert record(state, "f", "booted") == first
        r = subprocess.run([microvm, "--config", str(h), "-R", "-u", "f"],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        assert "Rebooting MicroVM f" in r.stdout, r.stdout
        st = json.loads(mv(microvm, h, "status", "--json", "f").stdout)
        assert st["state"] == "running" and st["pid"] != pid, st
        assert record(state, "f", "booted") == second
        # The new runner's guest, up (a Ctrl-Alt-Del before that would be lost).
        end = time.monotonic() + 120
        while not re.search(r"v=2\n(.*\n)*GUEST-UP\n", console_f(state)):
            assert time.monotonic() < end, console_f(state)[-3000:]
            time.sleep(0.1)
    finally:
        assert mv(microvm, h, "stop", "f").returncode == 0
    no_foreign_processes(state)


def test_install_of_a_store_path_records_it_with_gcroots(microvm, guest, tmp_path):
    flake = make_flake(tmp_path, microvm, guest, ["f"])
    out = subprocess.run(["nix", "build", "--no-link", "--json",
                          f"{flake}#nixosConfigurations.f.config.microvm.declaredRunner"],
                         capture_output=True, text=True, check=True).stdout
    path = json.loads(out)[0]["outputs"]["out"]
    h, state = host(tmp_path)
    link = tmp_path / "result"
    link.symlink_to(path)
    r = mv(microvm, h, "install", "g2", str(link))
    assert r.returncode == 0, r.stderr
    assert record(state, "g2") == path
    assert not os.listdir(state / ".runners") if (state / ".runners").exists() else True
    if os.path.isdir("/nix/var/nix/gcroots"):
        assert os.readlink("/nix/var/nix/gcroots/microvm/g2") == str(state / ".host/g2/current")
    r = mv(microvm, h, "install", "g2", path + "/bin")
    assert r.returncode == 2 and "inside a store path, not one" in r.stderr, r.stderr
    assert record(state, "g2") == path


def test_what_goes_wrong_says_so_and_keeps_the_runner(microvm, guest, tmp_path):
    flake = make_flake(tmp_path, microvm, guest, ["f"])
    h, state = host(tmp_path)
    r = subprocess.run([microvm, "--config", str(h), "-c", "f", "-f", str(flake)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    good = record(state, "f")

    # An attribute the flake does not have.
    r = subprocess.run([microvm, "--config", str(h), "-c", "nosuch", "-f", str(flake)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "does not provide attribute" in r.stderr, r.stderr
    assert not (state / ".host" / "nosuch" / "current").exists()

    # A ref with shell metacharacters is a word for Nix, never a command line.
    pwned = tmp_path / "pwned"
    r = subprocess.run([microvm, "--config", str(h), "-c", "x", "-f", f"{flake}; touch {pwned}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "failed" in r.stderr, r.stderr
    assert not pwned.exists()
    r = subprocess.run([microvm, "--config", str(h), "-c", "x", "-f", f"{flake}#evil"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "names an attribute" in r.stderr, r.stderr

    # A build that fails: the end of Nix's log, and the runner stays.
    (flake / "builder.sh").write_text("echo the-build-broke >&2; exit 3\n")
    r = subprocess.run([microvm, "--config", str(h), "-u", "f"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1 and "the-build-broke" in r.stderr, r.stderr
    assert record(state, "f") == good

    # A runner without bin/microvm-run, and one for a hypervisor nobody knows.
    (flake / "builder.sh").write_text("/bin/mkdir -p $out/share/microvm\n")
    r = subprocess.run([microvm, "--config", str(h), "-u", "f"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1 and "has neither bin/microvm-run" in r.stderr, r.stderr
    assert record(state, "f") == good
    (flake / "builder.sh").write_text(BUILDER + 'echo vmware > "$out/share/microvm/hypervisor"\n')
    r = subprocess.run([microvm, "--config", str(h), "-u", "f"], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 1 and "'vmware', which microvm does not know" in r.stderr, r.stderr
    assert record(state, "f") == good

    # Without Nix: apply names the package, and the VM keeps its runner.
    h2, _ = host(tmp_path, f"  microvm.vms.f.flake = {flake};")
    env = dict(os.environ, PATH="/usr/sbin:/sbin")
    r = subprocess.run([microvm, "--config", str(h2), "apply", "--no-start"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 1 and "apt-get install nix-bin" in r.stderr, r.stderr
    assert record(state, "f") == good


def test_update_flake_installs_once_and_declarative_vms_refuse_updates(microvm, guest,
                                                                       tmp_path):
    flake = make_flake(tmp_path, microvm, guest, ["f"])
    h, state = host(tmp_path, f'''  microvm.vms.f = {{ flake = {flake};
    updateFlake = "git+file:///srv/infra"; }};
  microvm.vms.d.config.microvm = {{ kernel = "{guest.kernel}"; initrdPath = "{guest.initrd}"; }};''')
    r = mv(microvm, h, "apply", "--no-start")
    assert r.returncode == 0, r.stderr
    first = record(state, "f")
    assert (state / ".host" / "f" / "flake").read_text() == "git+file:///srv/infra\n"
    make_flake(tmp_path, microvm, guest, ["f"], params=["v=3"])
    r = mv(microvm, h, "apply", "--no-start")
    assert r.returncode == 0, r.stderr
    assert "left as installed" in r.stdout and record(state, "f") == first, r.stdout
    r = subprocess.run([microvm, "--config", str(h), "-u", "d"], capture_output=True, text=True)
    assert r.returncode == 1, r.stderr
    assert "This MicroVM is managed fully declaratively and cannot be updated manually!" in \
        r.stderr, r.stderr


def test_a_microvm_nix_state_directory_moves_over_with_its_runner(microvm, guest, tmp_path):
    """docs/migrating.md: a state directory as microvm.nix leaves it (STATE/NAME/current and
    flake, no records of ours) gets the VM through install --flake, and -u works after."""
    flake = make_flake(tmp_path, microvm, guest, ["f"], params=["microvm.hold=forever"])
    out = subprocess.run(["nix", "build", "--no-link", "--json",
                          f"{flake}#nixosConfigurations.f.config.microvm.declaredRunner"],
                         capture_output=True, text=True, check=True).stdout
    path = json.loads(out)[0]["outputs"]["out"]
    h, state = host(tmp_path)
    (state / "f").mkdir(parents=True)
    os.symlink(path, state / "f" / "current")
    (state / "f" / "flake").write_text(f"{flake}\n")
    r = mv(microvm, h, "list")
    assert r.returncode == 0 and r.stdout == "", r.stdout  # links of STATE/NAME are not read
    runner = os.path.realpath(state / "f" / "current")
    r = mv(microvm, h, "install", "f", runner, "--flake", str(flake))
    assert r.returncode == 0, r.stderr
    assert record(state, "f") == path
    assert (state / ".host" / "f" / "flake").read_text() == f"{flake}\n"
    assert mv(microvm, h, "start", "f").returncode == 0
    try:
        wait_for(state, "GUEST-UP")
        r = subprocess.run([microvm, "--config", str(h), "-u", "f"], capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0 and "No reboot of MicroVM f required." in r.stdout, \
            r.stdout + r.stderr
    finally:
        assert mv(microvm, h, "stop", "f").returncode == 0
    no_foreign_processes(state)
