"""systemd units from the host configuration: what microvm-generator writes (compared with the
golden files in tests/cases/units/), checked by the real systemd-analyze verify, and how the
generator behaves when systemd calls it with a broken configuration."""
import os
import pathlib
import shutil
import subprocess

import pytest

from test_monitor import mv

CASES = pathlib.Path(__file__).resolve().parent.parent / "cases" / "units"
BUILD_TEMPLATE = "microvm@.service"
HELPER_TEMPLATES = ["microvm-tap-interfaces@.service", "microvm-macvtap-interfaces@.service",
                    "microvm-pci-devices@.service", "microvm-virtiofsd@.service"]


def tree(root):
    """Every file and link under root, relative, with its content or its target."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            p = os.path.join(dirpath, n)
            rel = os.path.relpath(p, root)
            out[rel] = ("-> " + os.readlink(p)) if os.path.islink(p) else open(p).read()
    return out


def render(t, tmp_path, bindir):
    """The tree as text; the temporary directory, the binary's and the installed template's
    directory (the build's prefix) named by placeholders."""
    def shown(v):
        v = v.replace(str(tmp_path), "@TMP@").replace(f"={bindir}/microvm ", "=@BINDIR@/microvm ")
        if v.startswith("-> /") and v.endswith("/microvm@.service"):
            v = "-> @UNITDIR@/microvm@.service"
        return v
    return "".join(f"=== {k}\n{shown(v)}\n" for k, v in sorted(t.items()))


def template(microvm, tmp_path):
    """The shipped templates, as the build made them, with ExecStart on this build's binary;
    the text of microvm@.service."""
    d = tmp_path / "template"
    d.mkdir()
    texts = {}
    for name in [BUILD_TEMPLATE] + HELPER_TEMPLATES:
        built = pathlib.Path(microvm).resolve().parent.parent / "systemd" / name
        text = texts[name] = built.read_text()
        exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
        binary = exec_line.split("=", 1)[1].split()[0]
        (d / name).write_text(text.replace(binary, str(pathlib.Path(microvm).resolve())))
    return d, texts[BUILD_TEMPLATE]


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_generated_units_match_the_golden_files_and_verify(microvm, tmp_path, case):
    src = (CASES / case / "host.nix").read_text()
    host = tmp_path / "host.nix"
    host.write_text(src.replace("@TMP@", str(tmp_path)))
    out = tmp_path / "out"
    out.mkdir()
    r = mv(microvm, host, "generate-units", str(out))
    assert r.returncode == 0, r.stderr
    got = render(tree(out), tmp_path, os.path.dirname(os.path.realpath(microvm)))
    golden = CASES / case / "expected"
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(got)
    assert got == golden.read_text()
    tmpl, _ = template(microvm, tmp_path)
    units = [k.split("/")[-1] for k in tree(out) if k.startswith("microvms.target.wants/")]
    units += ["microvms.target", "microvm@vm-that-has-no-dropin.service"]
    units += [k for k in tree(out) if k.startswith("install-microvm-")]
    units += [h.replace("@", "@web") for h in HELPER_TEMPLATES]
    v = subprocess.run(["systemd-analyze", "verify", "--man=no", *units],
                       env=dict(os.environ, SYSTEMD_UNIT_PATH=f"{out}:{tmpl}:"),
                       capture_output=True, text=True, timeout=60)
    assert v.returncode == 0 and v.stderr == "", v.stderr


def test_the_template_runs_microvm_under_systemd(microvm, tmp_path):
    _, text = template(microvm, tmp_path)
    lines = text.splitlines()
    assert any(line.startswith("ExecStart=/") and line.endswith("/microvm run --under-systemd %i")
               for line in lines), text
    for setting in ("Restart=always", "RestartSec=5s", "LimitNOFILE=1048576",
                    "LimitMEMLOCK=infinity", "KillMode=mixed"):
        assert setting in lines, setting


def generator(microvm, tmp_path):
    link = tmp_path / "microvm-generator"
    link.symlink_to(pathlib.Path(microvm).resolve())
    return link


def test_the_generator_writes_into_its_first_directory(microvm, tmp_path):
    host = tmp_path / "host.nix"
    host.write_text(f'{{ microvm.stateDir = "{tmp_path}/state";\n'
                    '  microvm.vms.web.config.microvm.kernel = "/boot/k"; }\n')
    dirs = [tmp_path / d for d in ("normal", "early", "late")]
    for d in dirs:
        d.mkdir()
    r = subprocess.run([str(generator(microvm, tmp_path)), *map(str, dirs)],
                       env=dict(os.environ, MICROVM_CONFIG=str(host)), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert os.path.islink(dirs[0] / "microvms.target.wants" / "microvm@web.service")
    assert "MICROVM_CONFIG=" + str(host) in \
        (dirs[0] / "microvm@.service.d" / "50-config.conf").read_text()
    assert os.listdir(dirs[1]) == [] and os.listdir(dirs[2]) == []


def test_a_broken_configuration_does_not_fail_the_boot_and_generates_nothing(microvm, tmp_path):
    host = tmp_path / "host.nix"
    host.write_text('{ microvm.vms.web.config.microvm.memory = 512; }\n')
    out = [tmp_path / d for d in ("normal", "early", "late")]
    for d in out:
        d.mkdir()
    r = subprocess.run([str(generator(microvm, tmp_path)), *map(str, out)],
                       env=dict(os.environ, MICROVM_CONFIG=str(host)), capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0
    assert "microvm-generator:" in r.stderr and "host.nix:1:" in r.stderr, r.stderr
    assert "no MicroVM units generated" in r.stderr
    assert os.listdir(out[0]) == []


def test_a_disabled_host_module_generates_nothing(microvm, tmp_path):
    host = tmp_path / "host.nix"
    host.write_text('{ microvm.host.enable = false;\n'
                    '  microvm.vms.web.config.microvm.kernel = "/boot/k"; }\n')
    out = tmp_path / "out"
    out.mkdir()
    r = mv(microvm, host, "generate-units", str(out))
    assert r.returncode == 0, r.stderr
    assert os.listdir(out) == []


def test_the_man_page_renders():
    page = pathlib.Path(__file__).resolve().parent.parent.parent / "systemd" / \
        "microvm-generator.8"
    r = subprocess.run(["man", "-l", str(page)], capture_output=True, text=True,
                       env=dict(os.environ, MANWIDTH="80"), timeout=60)
    assert r.returncode == 0 and "microvm@.service" in r.stdout, r.stderr


def test_a_binary_in_a_directory_that_needs_quoting_names_the_installed_path(microvm, tmp_path):
    """install-microvm-NAME's ExecStart= is the generator's own directory, unless writing it
    there would need quoting (a space, a % specifier): then the build's bindir."""
    odd = tmp_path / "with space %i"
    odd.mkdir()
    shutil.copy(microvm, odd / "microvm")
    host = tmp_path / "host.nix"
    host.write_text(f'{{ microvm.stateDir = "{tmp_path}/state"; '
                    'microvm.vms.web.config.microvm = { kernel = "/k"; initrdPath = "/i"; }; }\n')
    out = tmp_path / "out"
    out.mkdir()
    r = mv(str(odd / "microvm"), host, "generate-units", str(out))
    assert r.returncode == 0, r.stderr
    text = (out / "install-microvm-web.service").read_text()
    assert "ExecStart=/usr/local/bin/microvm install-declared web\n" in text, text
