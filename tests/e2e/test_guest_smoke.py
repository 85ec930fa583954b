"""Smoke tests of the test guest and of the boot harness itself.

Each boot runs under qemu TCG and takes a few seconds.
"""

import secrets
import time

import pytest

from guest import GuestError, GuestTimeout, boot, start_virtiofsd, virtiofs_args

NET_PARAMS = ["microvm.ip=10.0.2.15/24", "microvm.gw=10.0.2.2",
              "microvm.ping=10.0.2.2"]
NET_ARGS = ["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0"]


def fail_markers(g):
    return [line for line in g.lines() if line.split(" ", 1)[0].endswith("-FAIL")]


def test_boot_with_share_and_network(guest, tmp_path):
    token = secrets.token_hex(8)
    share = tmp_path / "share"
    share.mkdir()
    (share / "marker").write_text(f"{token}\n")

    with start_virtiofsd(share, log_path=tmp_path / "virtiofsd.log") as fs:
        g = boot(guest,
                 params=["microvm.shares=tag:virtiofs", *NET_PARAMS],
                 qemu_args=[*virtiofs_args(fs.socket_path, "tag"), *NET_ARGS],
                 shared_memory=True, log_path=tmp_path / "console.log")

    lines = g.lines()
    for marker in ("GUEST-UP", f"SHARE tag {token}", "NET eth0 10.0.2.15/24",
                   "PING 10.0.2.2 ok", "GUEST-DOWN"):
        assert marker in lines, f"no {marker!r} in {g.log_path}:\n{g.console}"
    assert lines.index("GUEST-UP") < lines.index(f"SHARE tag {token}") < lines.index("GUEST-DOWN")
    assert not fail_markers(g), g.console
    assert g.returncode == 0


def test_power_button_shuts_down(guest, tmp_path):
    with boot(guest, params=["microvm.hold=forever"], until="GUEST-UP",
              wait_exit=False, timeout=60, log_path=tmp_path / "console.log") as g:
        g.powerdown()
        g.wait_for("GUEST-DOWN", timeout=20)
        assert g.wait_exit(timeout=20) == 0
    lines = g.lines()
    assert lines.index("POWER-BUTTON") < lines.index("GUEST-DOWN"), g.console
    assert not fail_markers(g), g.console


def test_harness_detects_hung_boot(guest, tmp_path):
    # No such init: the kernel panics, and panic=0 (the later one wins) makes
    # it hang there, as a broken guest would.
    start = time.monotonic()
    with pytest.raises(GuestTimeout) as exc:
        boot(guest, params=["rdinit=/does-not-exist", "panic=0"], timeout=6,
             log_path=tmp_path / "console.log")
    assert time.monotonic() - start < 15, "the hard timeout did not hold"
    msg = str(exc.value)
    assert "no 'GUEST-DOWN' on the guest console within 6 s" in msg
    assert str(tmp_path / "console.log") in msg


def test_harness_detects_early_exit(guest, tmp_path):
    # Same panic, but panic=-1 reboots and -no-reboot ends qemu at once.
    with pytest.raises(GuestError) as exc:
        boot(guest, params=["rdinit=/does-not-exist"], timeout=30,
             log_path=tmp_path / "console.log")
    assert not isinstance(exc.value, GuestTimeout)
    assert "qemu exited" in str(exc.value)
    assert "Kernel panic" in str(exc.value)
