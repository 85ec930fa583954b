#!/bin/sh
# Install the Debian packages microvm needs to build, test and run its demo.
# Idempotent: asks apt only for what is missing, and refreshes the package
# lists only when something has to be installed.
set -eu

# libsystemd-dev: the sd-journal header (logs reads a unit's journal; the library is loaded then).
BUILD="gcc meson ninja-build pkg-config libjansson-dev libmnl-dev libsystemd-dev"
TEST="libcmocka-dev python3 python3-pytest socat nix-bin clang-format clang libclang-rt-14-dev systemd man-db"
# The test guest and the VMs: qemu (with the C virtiofsd), a busybox
# initramfs, kernel module tools, and what volumes and taps need.
GUEST="qemu-system-x86 ipxe-qemu seabios busybox-static cpio kmod xz-utils util-linux e2fsprogs iproute2 procps"
# A real systemd as PID 1 in a container, for the systemd integration tests:
# systemd-nspawn boots a Debian rootfs that debootstrap builds.
NSPAWN="systemd-container debootstrap debian-archive-keyring"

missing=""
for pkg in $BUILD $TEST $GUEST $NSPAWN; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$status" in
    *" installed") ;;
    *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root, or: sudo apt-get install$missing" >&2
    exit 1
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086 # one argument per package
apt-get install -y -q $missing
