"""microvm.registerWithMachined where no machined runs: the start says so once, it does not
pass in silence. Real qemu (TCG)."""
import signal

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
