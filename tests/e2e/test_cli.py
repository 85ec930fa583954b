"""The microvm command line itself: version, help, usage errors and exit codes."""
import json
import os
import re
import subprocess

import pytest


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run(microvm, *args, env=None):
    return subprocess.run([microvm, *args], capture_output=True, text=True, timeout=30,
                          env=env)


def project_version():
    with open(os.path.join(ROOT, "meson.build"), encoding="utf-8") as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def test_version_matches_the_project(microvm):
    for args in (["--version"], ["-V"], ["version"]):
        r = run(microvm, *args)
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"microvm {project_version()}\n"


def command_table():
    """The command names registered in src/cmd/commands.c, in table order (not the internal
    entry points, which people never run)."""
    with open(os.path.join(ROOT, "src", "cmd", "commands.c"), encoding="utf-8") as f:
        text = f.read().split("internal_commands[]")[0]
    return re.findall(r'^\s*\{ "([a-z-]+)", ', text, re.M)


def test_help_lists_exactly_the_commands(microvm):
    r = run(microvm, "--help")
    assert r.returncode == 0
    listed = re.findall(r"^  ([a-z][a-z-]*) ", r.stdout.split("Commands:\n")[1].split("\n\n")[0],
                        re.M)
    assert listed == command_table()
    assert {"check", "eval", "options", "help", "version"} <= set(listed)
    # Every listed command exists: `help COMMAND` knows it.
    for name in listed:
        assert run(microvm, "help", name).returncode == 0


def test_the_monitor_entry_point_is_not_for_people(microvm):
    """start execs `microvm monitor`; by hand it only says so."""
    listed = re.findall(r"^  ([a-z][a-z-]*) ", run(microvm, "--help").stdout, re.M)
    assert "monitor" not in listed
    r = run(microvm, "monitor", "web")
    assert r.returncode == 2 and "started by 'microvm start', not by hand" in r.stderr


def test_unknown_command_is_a_usage_error(microvm):
    r = run(microvm, "frobnicate", env=dict(os.environ, NO_COLOR="1"))
    assert r.returncode == 2
    assert "microvm: error: unknown command 'frobnicate'" in r.stderr
    assert "microvm --help" in r.stderr
    assert "\033[" not in r.stderr


def test_unknown_option_is_a_usage_error(microvm):
    r = run(microvm, "--no-such-option")
    assert r.returncode == 2
    assert "microvm --help" in r.stderr


def test_no_command_prints_usage_and_fails(microvm):
    r = run(microvm)
    assert r.returncode == 2
    assert "Usage: microvm" in r.stderr


def test_extra_arguments_are_rejected(microvm):
    r = run(microvm, "version", "extra")
    assert r.returncode == 2
    assert "version takes no arguments" in r.stderr


def test_microvm_nix_flags(microvm, tmp_path):
    host = tmp_path / "host.nix"
    host.write_text(f'{{ microvm.stateDir = "{tmp_path}/state"; '
                    'microvm.vms.a.config.microvm = { kernel = "/k"; initrdPath = "/i"; }; }')
    assert run(microvm, "--config", str(host), "apply", "--no-start").returncode == 0
    r = run(microvm, "--config", str(host), "-l", env=dict(os.environ, NO_COLOR="1"))
    assert r.returncode == 0 and r.stdout.startswith("a: current("), r.stdout
    # -r NAME is run: here it fails on the missing kernel, as run does.
    r = run(microvm, "--config", str(host), "-r", "a")
    assert r.returncode == 1 and "microvm.kernel /k" in r.stderr
    r = run(microvm, "--config", str(host), "-s", "x")
    assert r.returncode == 1 and "vm x is not running" in r.stderr, r.stderr
    # -f belongs to -c, -R to -u (flake VMs, tests/e2e/test_nix.py).
    for flag in (["-f", "/x"], ["-R"], ["-R", "-c", "x"], ["-f", "/x", "-u", "x"]):
        r = run(microvm, "--config", str(host), *flag)
        assert r.returncode == 2 and "-f goes with -c NAME, -R with -u NAME" in r.stderr, r.stderr
    r = run(microvm, "--config", str(host), "-u", "x")
    assert r.returncode == 1 and "vm x has no flake recorded" in r.stderr, r.stderr
    r = run(microvm, "--config", str(host), "-u", "a")
    assert r.returncode == 1 and "managed fully declaratively" in r.stderr, r.stderr


def test_output_that_cannot_be_written_is_a_failure(microvm, tmp_path):
    """A full disk (/dev/full) under eval's streamed JSON and under an ordinary command."""
    host = tmp_path / "host.nix"
    host.write_text("{ microvm.vms.a.config.microvm.hypervisor = \"qemu\"; }\n")
    for args, message in ((["eval", "--json"], "eval: writing the result"),
                          (["check"], "writing to standard output"),
                          (["options"], "writing to standard output")):
        with open("/dev/full", "w") as full:
            r = subprocess.run([microvm, "--config", str(host), *args], stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=30)
        assert r.returncode == 1, (args, r.stderr)
        assert message in r.stderr and "No space left on device" in r.stderr, r.stderr


def run_piped(microvm, *args, stdin, cwd=None):
    return subprocess.run([microvm, *args], input=stdin, capture_output=True, timeout=30,
                          cwd=cwd, env=dict(os.environ, NO_COLOR="1"))


def test_configuration_from_a_pipe(microvm, tmp_path):
    """`--config -` and `--config /dev/stdin` read a pipe; relative imports resolve against
    the current directory, and JSON is recognised without a file name."""
    (tmp_path / "vm.nix").write_text("{ microvm.vms.b = { }; }\n")
    nix = b"{ imports = [ ./vm.nix ]; microvm.vms.a = { }; }\n"
    for name, shown in (("-", "<stdin>"), ("/dev/stdin", "/dev/stdin")):
        r = run_piped(microvm, "--config", name, "check", stdin=nix, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        assert r.stdout == f"{shown}: OK (2 VMs, 2 to autostart)\n".encode()
    r = run_piped(microvm, "--config", "-", "eval", "--json", "microvm.autostart",
                  stdin=b'{"microvm": {"vms": {"j": {}}}}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == ["j"]
    # Errors point into standard input.
    r = run_piped(microvm, "--config", "-", "check", stdin=b"{ microvm.vms = ; }")
    assert r.returncode == 2
    assert r.stderr.startswith(b"microvm: error: <stdin>:1:17: "), r.stderr


def test_configuration_pipe_over_the_cap(microvm):
    r = run_piped(microvm, "--config", "-", "check", stdin=b" " * ((64 << 20) + 1))
    assert r.returncode == 2
    assert b"<stdin>: larger than 64 MiB" in r.stderr, r.stderr


def test_import_of_a_fifo_is_refused_without_waiting(microvm, tmp_path):
    """Only the main configuration may be a pipe; a FIFO with no writer must not hang."""
    os.mkfifo(tmp_path / "fifo")
    host = tmp_path / "host.nix"
    host.write_text("{\n  imports = [ ./fifo ];\n}\n")
    r = run(microvm, "--config", str(host), "check")
    assert r.returncode == 2
    assert r.stderr.startswith(
        f"microvm: error: {host}:2:15: import {tmp_path}/fifo: is a pipe, not a regular file"), \
        r.stderr


def test_unreadable_import_names_its_position(microvm, tmp_path):
    secret = tmp_path / "secret.nix"
    secret.write_text("{ }\n")
    secret.chmod(0)
    host = tmp_path / "host.nix"
    host.write_text("{\n  imports = [ ./secret.nix ];\n}\n")
    # root reads anything: drop to nobody to see what an ordinary user sees.
    as_nobody = dict(user=65534, group=65534, extra_groups=[]) if os.geteuid() == 0 else {}
    r = subprocess.run([microvm, "--config", str(host), "check"], capture_output=True,
                       text=True, timeout=30, **as_nobody)
    assert r.returncode == 2
    assert r.stderr.startswith(
        f"microvm: error: {host}:2:15: import {secret}: Permission denied"), r.stderr


def test_eval_json_is_valid_utf8(microvm, tmp_path):
    """A Nix string holds any bytes; JSON output replaces ill-formed ones with U+FFFD."""
    host = tmp_path / "host.nix"
    host.write_bytes(b'{ microvm.host.tapScript = "a\xff b\xed\xa0\x80 c\xe2\x82 \xc3\xa9"; }\n')
    r = subprocess.run([microvm, "--config", str(host), "eval", "--json", "microvm.host.tapScript"],
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.decode("utf-8")) == "a\ufffd b\ufffd\ufffd\ufffd c\ufffd \u00e9"


@pytest.mark.parametrize("args", [
    ["start", "ok", "../other-state/vm"], ["stop", "../other-state/vm"],
    ["restart", "../other-state/vm"], ["status", "../other-state/vm"],
    ["status", "--json", "../other-state/vm"], ["run", "../other-state/vm"],
    ["run", "--stop-timeout", "5", "../other-state/vm"], ["plan", "../other-state/vm"],
    ["plan", "--json", "../other-state/vm"], ["console", "../other-state/vm"],
    ["logs", "../other-state/vm"], ["logs", "-f", "../other-state/vm"],
    ["-r", "../other-state/vm"],
])
def test_vm_names_on_the_command_line_are_checked_first(microvm, args):
    """A VM name is checked before the configuration is read or a path is built from it."""
    r = run(microvm, "--config", "/nonexistent/host.nix", *args,
            env=dict(os.environ, NO_COLOR="1"))
    assert r.returncode == 2, r.stderr
    command = "run" if args[0] == "-r" else args[0]
    assert r.stderr.startswith(
        f'microvm: error: {command}: "../other-state/vm" is not a VM name: a VM name is up to 64 '
        "letters, digits, '-', '_' or '.', starting with a letter or digit\n"), r.stderr
