"""Fixtures for the end-to-end tests, which boot real guests under qemu TCG."""

import os
import shutil
import stat

import pytest

from guest import QEMU, GuestError, build_guest
import nspawn


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def microvm():
    """The binary under test: $MICROVM, else the release build."""
    path = os.environ.get("MICROVM", os.path.join(ROOT, "build", "release", "src", "microvm"))
    if not os.access(path, os.X_OK):
        pytest.fail(f"microvm binary not found at {path}: build first, or set MICROVM")
    return path


@pytest.fixture(scope="session")
def guest():
    """The test guest (a GuestImage: kernel, initrd), built once per session."""
    if shutil.which(QEMU) is None:
        pytest.fail(f"{QEMU} not found; install it: apt-get install qemu-system-x86")
    try:
        return build_guest()
    except GuestError as e:
        pytest.fail(f"building the test guest failed:\n{e}", pytrace=False)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "container(bind=(), bind_ro=(), kvm=False): what systemd_container binds "
        "in (host paths, at the same place inside)")


@pytest.fixture(scope="session")
def nspawn_rootfs():
    """The Debian rootfs the systemd tests boot (built once, cached under build/)."""
    if reason := nspawn.unusable_reason():
        pytest.skip(f"systemd-nspawn cannot run here: {reason}")
    if shutil.which(nspawn.NSPAWN) is None:
        pytest.fail(f"{nspawn.NSPAWN} not found; install it: scripts/install-deps.sh "
                    "(apt-get install systemd-container debootstrap)")
    try:
        return nspawn.build_rootfs()
    except nspawn.ContainerError as e:
        pytest.fail(f"building the nspawn rootfs failed:\n{e}", pytrace=False)


@pytest.fixture
def systemd_container(nspawn_rootfs, request, tmp_path):
    """A container booted for this test with a real systemd as PID 1 (an
    nspawn.Container), on a throwaway overlay of the cached rootfs; powered
    off, or killed, after the test whatever its outcome. Host paths it needs
    come from the test's `container` marker."""
    marker = request.node.get_closest_marker("container")
    options = dict(marker.kwargs) if marker else {}
    c = nspawn.boot(nspawn_rootfs, log_path=tmp_path / "container-console.log", **options)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(autouse=True)
def reachable_by_the_hypervisor(request):
    """Where user microvm exists, microvm runs the hypervisor as microvm:kvm, and it must
    reach what a test hands it (9p shares, stand-in programs) as it reaches /var/lib/microvms
    on a real host. pytest makes its temporary directories 0700: make them searchable."""
    if "tmp_path" not in request.fixturenames:
        return
    path = request.getfixturevalue("tmp_path")
    for d in (path, path.parent, path.parent.parent):
        st = d.stat()
        if st.st_uid == os.geteuid():
            d.chmod(stat.S_IMODE(st.st_mode) | 0o711)


@pytest.fixture(autouse=True)
def no_gcroots_left_behind(request):
    """Flake VMs and store-path installs add roots under /nix/var/nix/gcroots/microvm that
    lead into the test's state directory: removed after the test, as that directory goes."""
    if "tmp_path" not in request.fixturenames:
        yield
        return
    prefix = str(request.getfixturevalue("tmp_path")) + "/"
    yield
    roots = "/nix/var/nix/gcroots/microvm"
    for name in os.listdir(roots) if os.path.isdir(roots) else []:
        link = os.path.join(roots, name)
        if os.path.islink(link) and os.readlink(link).startswith(prefix):
            os.unlink(link)
