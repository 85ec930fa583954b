"""Share sources that do not exist are created, as microvm.nix's host now does (tmpfiles:
microvm:kvm 0775, an existing one left as it is), only where nobody but root can change the
path: below directories root alone can write, or beneath the VM's directory without following
a symlink. Real qemu (TCG) and the real virtiofsd."""
import os
import pwd
import stat

from test_run import write_host, apply, Run, no_processes_left


def vm_owner():
    try:
        return pwd.getpwnam("microvm").pw_uid
    except KeyError:
        return 0


def share_host(tmp_path, guest, source):
    return write_host(tmp_path, guest, [],
                      extra=f'''    shares = [ {{ tag = "data"; source = "{source}"; mountPoint = "/d";
                  proto = "virtiofs"; }} ];''')


def test_a_missing_source_below_roots_directories_is_created(microvm, guest, tmp_path):
    source = tmp_path / "srv" / "shares" / "data"
    host, state = share_host(tmp_path, guest, source)
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit() == 0, run.text()[-3000:]
    st = os.stat(source)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o775
    assert st.st_uid == vm_owner()
    assert stat.S_IMODE(os.stat(source.parent).st_mode) == 0o755
    assert os.stat(source.parent).st_uid == 0
    no_processes_left(state)


def test_a_relative_source_is_created_beneath_the_vm_directory(microvm, guest, tmp_path):
    host, state = share_host(tmp_path, guest, "data/sub")
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit() == 0, run.text()[-3000:]
    st = os.stat(state / "g" / "data" / "sub")
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == vm_owner()
    no_processes_left(state)


def test_a_source_below_a_directory_others_can_write_is_refused(microvm, guest, tmp_path):
    shared = tmp_path / "open"
    shared.mkdir()
    shared.chmod(0o777)
    host, state = share_host(tmp_path, guest, shared / "data")
    apply(microvm, host)
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit(60) == 2, run.text()[-3000:]
    assert "microvm creates share sources only below directories root alone can change" in \
        run.text(), run.text()[-3000:]
    assert not (shared / "data").exists()
    assert not (state / "g" / "booted").exists()
    no_processes_left(state)


def test_a_planted_symlink_in_the_vm_directory_is_not_followed(microvm, guest, tmp_path):
    """The VM's user owns STATE/NAME: a link there must not make root create directories
    elsewhere."""
    target = tmp_path / "elsewhere"
    target.mkdir()
    host, state = share_host(tmp_path, guest, "data/new")
    apply(microvm, host)
    (state / "g").mkdir(exist_ok=True)
    os.symlink(target, state / "g" / "data")
    run = Run(microvm, host, tmp_path / "console.log")
    assert run.wait_exit(60) == 1, run.text()[-3000:]
    assert "create source" in run.text(), run.text()[-3000:]
    assert not (target / "new").exists()
    no_processes_left(state)
