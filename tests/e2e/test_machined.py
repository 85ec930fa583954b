"""microvm.registerWithMachined where no machined runs: the start says so once, it does not
pass in silence. Real qemu (TCG)."""
import os
import signal
import time

from test_run import write_host, apply, Run, no_processes_left


def test_register_with_machined_is_reported_once(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"],
                             extra='''    registerWithMachined = true;''')
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    run.wait_for("GUEST-UP")
    run.proc.send_signal(signal.SIGTERM)
    assert run.wait_exit(60) == 0, run.text()[-3000:]
    said = [line for line in run.lines() if "microvm.registerWithMachined" in line]
    assert len(said) == 1, run.text()[-3000:]
    assert "vm g" in said[0] and "machined" in said[0]
    no_processes_left(state)


def test_without_the_option_nothing_is_said(microvm, guest, tmp_path):
    host, state = write_host(tmp_path, guest, [])
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit() == 0, run.text()[-3000:]
    assert "machined" not in run.text()


def hypervisor_pid(state):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/cwd") != str(state / "g"):
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"-kernel" in f.read():
                    return int(pid)
        except OSError:
            continue
    return None


def test_a_monitor_says_it_once_across_restarts(microvm, guest, tmp_path):
    """The hypervisor is killed; the monitor starts the VM again, and the second run neither
    repeats the notice nor trips over it."""
    from test_monitor import mv
    host, state = write_host(tmp_path, guest, ["microvm.hold=forever"],
                             extra='''    registerWithMachined = true;''')
    host.write_text(host.read_text().replace(
        "{\n", "{\n  microvm.host.restartDelay = 0;\n", 1))
    apply(microvm, host)
    r = mv(microvm, host, "start", "g")
    assert r.returncode == 0, r.stderr
    log = state / ".host" / "g" / "console.log"

    def wait_up(n):
        deadline = time.monotonic() + 180
        while log.read_text(errors="replace").count("GUEST-UP") < n:
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.2)
    try:
        wait_up(1)
        os.kill(hypervisor_pid(state), signal.SIGKILL)
        wait_up(2)
        st = mv(microvm, host, "status", "g")
        assert "running" in st.stdout, st.stdout + log.read_text(errors="replace")[-3000:]
    finally:
        stop = mv(microvm, host, "stop", "g", timeout=200)
    assert stop.returncode == 0, stop.stderr
    text = log.read_text(errors="replace")
    assert text.count("microvm.registerWithMachined") == 1, text[-3000:]
    no_processes_left(state)
