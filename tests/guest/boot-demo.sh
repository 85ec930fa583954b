#!/bin/bash
# Boot the test guest once, by hand-visible means: build it, share a host
# directory over virtiofs, give it user-mode networking, show its console
# live and report what happened.  Used by `make demo`.
#
# Environment: DEMO_TIMEOUT (seconds, default 120), QEMU, VIRTIOFSD.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
limit=${DEMO_TIMEOUT:-120}
qemu=${QEMU:-qemu-system-x86_64}
virtiofsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
greeting="hello from the host"

fail() { echo "demo: FAILED: $*" >&2; exit 1; }

command -v "$qemu" >/dev/null || fail "$qemu not found (apt-get install qemu-system-x86)"
[ -x "$virtiofsd" ] || fail "virtiofsd not found at $virtiofsd (apt-get install qemu-system-common)"

paths=$("$here/build-guest.sh") || fail "building the guest failed (see above)"
kernel=$(sed -n 's/^kernel=//p' <<<"$paths")
initrd=$(sed -n 's/^initrd=//p' <<<"$paths")

work=$(mktemp -d /tmp/microvm-demo.XXXXXX)
vfs_pid=
cleanup() {
    if [ -n "$vfs_pid" ] && kill -0 "$vfs_pid" 2>/dev/null; then
        kill "$vfs_pid" 2>/dev/null || true
        wait "$vfs_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir "$work/share"
echo "$greeting" >"$work/share/marker"
sock=$work/vfs.sock
"$virtiofsd" --socket-path="$sock" -o source="$work/share" -o cache=auto \
    </dev/null >"$work/virtiofsd.log" 2>&1 &
vfs_pid=$!

# Wait until virtiofsd listens.  Checked in /proc/net/unix, not by
# connecting: virtiofsd serves exactly one connection.
for _ in $(seq 100); do
    grep -q " 00010000 .* $sock\$" /proc/net/unix && break
    kill -0 "$vfs_pid" 2>/dev/null ||
        fail "virtiofsd exited: $(tail -n 5 "$work/virtiofsd.log")"
    sleep 0.1
done
grep -q " 00010000 .* $sock\$" /proc/net/unix || fail "virtiofsd is not listening on $sock after 10 s"

echo "demo: booting $kernel under qemu (TCG, q35), console follows; limit ${limit} s"
start=$EPOCHREALTIME
set +e
timeout --foreground -k 5 "$limit" "$qemu" \
    -machine q35,accel=tcg -m 256 -nodefaults -display none -no-reboot \
    -serial stdio \
    -object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem \
    -chardev socket,id=vfs,path="$sock" -device vhost-user-fs-pci,chardev=vfs,tag=demo \
    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
    -kernel "$kernel" -initrd "$initrd" \
    -append "console=ttyS0 reboot=t panic=-1 quiet microvm.shares=demo:virtiofs microvm.ip=10.0.2.15/24 microvm.gw=10.0.2.2 microvm.ping=10.0.2.2" \
    </dev/null 2>&1 | tee "$work/console.log"
rc=${PIPESTATUS[0]}
set -e
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
console=$(tr -d '\r' <"$work/console.log")

has() { grep -qxF "$1" <<<"$console"; }
[ "$rc" != 124 ] || fail "the guest did not power off within $limit s; qemu was killed"
[ "$rc" = 0 ] || fail "qemu exited with status $rc after $took s"
has "GUEST-UP" || fail "the guest never came up (no GUEST-UP) in $took s"
has "GUEST-DOWN" || fail "qemu ended without the guest shutting down (no GUEST-DOWN)"
has "SHARE demo $greeting" || fail "the guest did not read the share (no 'SHARE demo $greeting')"
has "NET eth0 10.0.2.15/24" || fail "the guest did not configure its network (no 'NET eth0 ...')"
echo "demo: guest booted, read the share (\"$greeting\"), configured eth0, and powered off in $took s"
