"""Fixtures for the end-to-end tests, which boot real guests under qemu TCG."""

import os
import pwd
import shutil
import stat

import pytest

from guest import QEMU, GuestError, build_guest


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


@pytest.fixture(scope="session", autouse=True)
def udev_like_tun():
    """A hypervisor running as microvm:kvm opens /dev/net/tun itself. udev makes it 0666 on
    a normal host; these test machines have no udev. Only when user microvm exists (then
    the hypervisors switch to it), and put back at the end."""
    try:
        pwd.getpwnam("microvm")
        mode = stat.S_IMODE(os.stat("/dev/net/tun").st_mode)
    except (KeyError, OSError):
        yield
        return
    os.chmod("/dev/net/tun", mode | 0o666)
    yield
    os.chmod("/dev/net/tun", mode)
