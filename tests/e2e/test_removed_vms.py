"""VMs removed from host.nix: apply stops them gracefully, forgets their records and links, and
gc collects their runners, while their directories and volumes stay unless --prune-volumes.
Imperative VMs are never touched. `apply --dry-run` and `plan` say all of it beforehand."""
import os
import signal
import subprocess
import time

from test_apply import vm, write_host, apply, runner_of, snapshot
from test_monitor import mv
import test_run


def two_vm_host(tmp_path, state):
    both, _ = write_host(tmp_path / "both", vm("a") + vm("b"), state)
    only_a, _ = write_host(tmp_path / "only-a", vm("a"), state)
    return both, only_a


def runners_of(state, name):
    return [e for e in os.listdir(state / ".runners") if e.endswith("-" + name)]


def declared_a_and_b(microvm, tmp_path):
    state = tmp_path / "state"
    for d in ("both", "only-a"):
        (tmp_path / d).mkdir()
    both, only_a = two_vm_host(tmp_path, state)
    apply(microvm, both)
    return state, both, only_a


def test_a_removed_vm_is_forgotten_and_its_directory_stays(microvm, tmp_path):
    state, both, only_a = declared_a_and_b(microvm, tmp_path)
    (state / "b" / "data.img").write_text("the VM's data\n")
    runner_a = runner_of(state, "a")
    r = apply(microvm, only_a)
    assert "b: removed; its directory" in r.stdout and "stays with its volumes" in r.stdout, \
        r.stdout
    assert not (state / ".host" / "b").exists()
    for link in ("current", "toplevel", "booted", "flake"):
        assert not os.path.lexists(state / "b" / link), link
    assert (state / "b" / "data.img").read_text() == "the VM's data\n"
    assert runners_of(state, "b") == []
    assert runner_of(state, "a") == runner_a
    assert [e for e in os.listdir(state) if e.startswith(".#")] == []
    # Nothing left to do: a second apply changes nothing.
    before = snapshot(state)
    r = apply(microvm, only_a)
    assert "b:" not in r.stdout, r.stdout
    assert snapshot(state) == before
    # Declared again: installed afresh.
    r = apply(microvm, both)
    assert "b: installed" in r.stdout, r.stdout
    assert (state / "b" / "data.img").exists()


def test_prune_volumes_deletes_the_directory_without_following_links(microvm, tmp_path):
    state, both, only_a = declared_a_and_b(microvm, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("not the VM's\n")
    (state / "b" / "sub").mkdir()
    os.symlink(outside, state / "b" / "link")
    os.symlink(outside, state / "b" / "sub" / "link")
    r = apply(microvm, only_a, "--prune-volumes")
    assert f"b: removed, with its directory {state}/b" in r.stdout, r.stdout
    assert not os.path.lexists(state / "b")
    assert (outside / "keep").read_text() == "not the VM's\n"
    assert (state / "a" / "current").exists()


def test_imperative_vms_are_left_alone(microvm, tmp_path):
    """A VM installed with `microvm install` carries no mark of host.nix: an apply that does not
    declare it must not remove it."""
    state, both, only_a = declared_a_and_b(microvm, tmp_path)
    runner = state / ".runners" / runner_of(state, "a")
    r = mv(microvm, both, "install", "imp", str(runner))
    assert r.returncode == 0, r.stderr
    r = apply(microvm, only_a)
    assert "imp:" not in r.stdout, r.stdout
    assert (state / ".host" / "imp" / "current").exists()
    assert not (state / ".host" / "b").exists()


def test_a_vm_installed_before_the_mark_existed_counts_by_its_toplevel(microvm, tmp_path):
    state, both, only_a = declared_a_and_b(microvm, tmp_path)
    (state / ".host" / "b" / "declared").unlink()
    r = apply(microvm, only_a)
    assert "b: removed" in r.stdout, r.stdout
    assert not (state / ".host" / "b").exists()


def test_dry_run_and_plan_say_what_apply_would_do_and_do_nothing(microvm, tmp_path):
    state, both, only_a = declared_a_and_b(microvm, tmp_path)
    changed = tmp_path / "changed"
    changed.mkdir()
    host, _ = write_host(changed, vm("a", "mem = 1024;") + vm("c"), state)
    before = snapshot(state)
    r = mv(microvm, host, "apply", "--dry-run", "--prune-volumes")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("a: install ") and "(changed)" in line for line in lines), lines
    assert any(line.startswith("c: install ") for line in lines), lines
    assert ("b: no longer in the configuration: forget its runners, delete its directory with "
            "its volumes") in lines, lines
    plan = mv(microvm, host, "plan")
    assert plan.returncode == 0, plan.stderr
    assert "b: no longer in the configuration: forget its runners; its directory and volumes " \
           "stay" in plan.stdout.splitlines(), plan.stdout
    assert snapshot(state) == before
    same = mv(microvm, both, "plan")
    assert same.stdout.splitlines() == ["a: unchanged", "a: start (autostart)", "b: unchanged",
                                        "b: start (autostart)"], same.stdout
    quiet = mv(microvm, both, "apply", "--dry-run", "--no-start")
    assert quiet.stdout.splitlines() == ["a: unchanged", "b: unchanged"], quiet.stdout


def test_a_removal_killed_at_each_step_is_finished_by_the_next_apply(microvm, tmp_path):
    """SIGKILL at every state-changing step of a removal: the VM is either still known (and the
    next apply removes it) or gone, never half; debris is cleaned up."""
    state, both, only_a = declared_a_and_b(microvm, tmp_path)
    pristine = tmp_path / "pristine"
    subprocess.run(["cp", "-a", str(state), str(pristine)], check=True)
    n = 1
    while True:
        env = dict(os.environ, MICROVM_TEST_KILL_AT=f"state:{n}")
        r = subprocess.run([microvm, "--config", str(only_a), "apply", "--no-start",
                            "--prune-volumes"], env=env, capture_output=True, text=True,
                           timeout=120)
        if r.returncode != -signal.SIGKILL:
            assert r.returncode == 0, r.stderr
            break
        apply(microvm, only_a, "--prune-volumes")
        assert not os.path.lexists(state / "b") and not (state / ".host" / "b").exists()
        assert [e for e in os.listdir(state) if e.startswith(".#")] == []
        assert [e for e in os.listdir(state / ".host") if e.startswith(".#")] == []
        assert runners_of(state, "b") == []
        subprocess.run(["rm", "-rf", str(state)], check=True)
        subprocess.run(["cp", "-a", str(pristine), str(state)], check=True)
        n += 1
    assert n > 3, f"only {n - 1} kill points"


def test_a_running_removed_vm_is_shut_down_gracefully(microvm, guest, tmp_path):
    host, state = test_run.write_host(tmp_path, guest, ["microvm.hold=forever"])
    text = host.read_text()
    block = text[text.index("  microvm.vms.g."):text.rindex("}")]
    both = tmp_path / "both.nix"
    both.write_text(text[:text.rindex("}")] + block.replace("microvm.vms.g.", "microvm.vms.h.")
                    + "}\n")
    r = mv(microvm, both, "apply")
    assert r.returncode == 0, r.stdout + r.stderr
    r = mv(microvm, host, "apply", "--dry-run")
    assert "h: no longer in the configuration: stop, forget its runners; its directory and " \
           "volumes stay" in r.stdout.splitlines(), r.stdout
    log = state / ".host" / "h" / "console.log"
    # A Ctrl-Alt-Del before the guest's keyboard driver is up would be lost (docs/running.md).
    deadline = time.monotonic() + 120
    while "GUEST-UP" not in log.read_text(errors="replace").splitlines():
        assert time.monotonic() < deadline, log.read_text(errors="replace")[-2000:]
        time.sleep(0.1)
    with open(log, encoding="utf-8", errors="replace") as console:  # readable once removed
        r = mv(microvm, host, "apply")
        assert r.returncode == 0, r.stdout + r.stderr
        assert "h: no longer in the configuration, stopping" in r.stdout, r.stdout
        lines = console.read().replace("\r", "").splitlines()
    assert "CTRL-ALT-DEL" in lines and "GUEST-DOWN" in lines, lines[-20:]
    assert not log.exists() and not (state / ".host" / "h").exists()
    assert (state / "h").is_dir()
    st = mv(microvm, host, "status", "g")
    assert "running" in st.stdout, st.stdout
    assert mv(microvm, host, "stop", "g").returncode == 0
    test_run.no_processes_left(state)
    vm_dir = str(state / "h")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            assert os.readlink(f"/proc/{pid}/cwd") != vm_dir, pid
        except OSError:
            pass
