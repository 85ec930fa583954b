"""Fixtures for the end-to-end tests, which boot real guests under qemu TCG."""

import shutil

import pytest

from guest import QEMU, GuestError, build_guest


@pytest.fixture(scope="session")
def guest():
    """The test guest (a GuestImage: kernel, initrd), built once per session."""
    if shutil.which(QEMU) is None:
        pytest.fail(f"{QEMU} not found; install it: apt-get install qemu-system-x86")
    try:
        return build_guest()
    except GuestError as e:
        pytest.fail(f"building the test guest failed:\n{e}", pytrace=False)
