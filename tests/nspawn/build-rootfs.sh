#!/bin/bash
# Build the Debian root filesystem that the systemd tests boot with
# systemd-nspawn: bookworm (minbase) with systemd as PID 1, dbus, iproute2,
# qemu and what microvm needs inside (e2fsprogs for volumes).
#
# Usage: tests/nspawn/build-rootfs.sh [OUTDIR]   (default: <repo>/build/nspawn-rootfs)
#
# OUTDIR gets rootfs/ (the tree to boot; tests never write to it, they
# boot it under an overlay), stamp (cache key) and info (what is inside).
# The build is cached: it reruns only when this script (packages, suite,
# tweaks) or the Debian mirror changes.  It is built in a temporary
# directory and renamed into place, so an interrupted build never leaves a
# half-written OUTDIR.
#
# Environment:
#   NSPAWN_MIRROR  Debian mirror to bootstrap from (default: the one apt
#                  uses for bookworm on this machine, else deb.debian.org)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
suite=bookworm
# systemd as PID 1, its bus and machined (registerWithMachined); ip for
# taps; qemu (with the C virtiofsd) for the guests microvm starts; mkfs for volumes; the libraries a host
# build of microvm (plain or sanitized) links, so it runs inside as it is.
# debootstrap resolves Depends only, which keeps qemu's Recommends (GUI,
# OVMF) out.
packages="systemd systemd-sysv systemd-container dbus iproute2 procps qemu-system-x86 e2fsprogs util-linux
    libjansson4 libmnl0 libasan8 libubsan1"

note() { echo "build-rootfs: $*" >&2; }
die() { echo "build-rootfs: error: $*" >&2; exit 1; }

for tool in debootstrap sha256sum flock; do
    command -v "$tool" >/dev/null ||
        die "'$tool' not found; install it (scripts/install-deps.sh, or apt-get install debootstrap coreutils util-linux)"
done

# The mirror apt uses here for $suite, from either source format.
apt_mirror() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk -v s="$suite" '$1 == "deb" && $0 !~ /\[/ && $3 == s { print $2; exit }
            $1 == "deb" && $0 ~ /\[/ { for (i = 2; i <= NF; i++) if ($i ~ /\]$/) break;
                if ($(i + 2) == s) { print $(i + 1); exit } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        # deb822 stanzas: a URIs line whose stanza's Suites name $suite.
        awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
            { uri = ""; ok = 0
              for (i = 1; i <= NF; i++) {
                  if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri = a[2] }
                  if ($i ~ /^Suites:/) { n = split($i, a, /[ \t]+/)
                      for (j = 2; j <= n; j++) if (a[j] == s) ok = 1 } }
              if (ok && uri != "") { print uri; exit } }' "$f"
    done
}
mirror=${NSPAWN_MIRROR:-$(apt_mirror | head -n 1)}
mirror=${mirror:-http://deb.debian.org/debian}

# --- output location and lock -----------------------------------------------
out=${1:-$repo/build/nspawn-rootfs}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
# One build per OUTDIR at a time (two test runs at once).
exec 9>"$out.lock"
flock -w 1800 9 || die "timed out waiting for another build of $out ($out.lock)"

sha() { sha256sum "$@" | cut -c1-64; }
stamp_get() {
    if [ -f "$out/stamp" ]; then
        sed -n "s/^$1=//p" "$out/stamp" | head -n 1
    fi
}
report() { echo "rootfs=$out/rootfs"; }

key=$(printf '%s\n' "$suite" "$mirror" "$packages" "$(sha "${BASH_SOURCE[0]}")" | sha)
if [ "$(stamp_get key)" = "$key" ] && [ -x "$out/rootfs/lib/systemd/systemd" ]; then
    note "up to date in $out"
    report
    exit 0
fi

[ "$(id -u)" = 0 ] || die "debootstrap needs root; run as root"

# --- build ------------------------------------------------------------------
note "building a $suite rootfs from $mirror (a few minutes, once)"
# Leftovers of a killed build (we hold the lock, so none is in use).
rm -rf "$(dirname "$out")/.$(basename "$out").build."*
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d "$(dirname "$out")/.$(basename "$out").build.XXXXXX")
chmod 755 "$tmp"
root=$tmp/out/rootfs
mkdir -p "$tmp/out"

include=$(xargs <<<"$packages" | tr ' ' ,)
if ! debootstrap --variant=minbase --include="$include" "$suite" "$root" "$mirror" \
    >"$tmp/debootstrap.log" 2>&1; then
    tail -n 30 "$tmp/debootstrap.log" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    die "debootstrap of $suite from $mirror failed (network access to the Debian archive?)"
fi

# --- make the container boot quietly and fast ---------------------------------
# No login prompt on the console nobody reads (nspawn starts
# console-getty.service when it hands the container a console).
for unit in console-getty.service getty@.service container-getty@.service \
    systemd-networkd-wait-online.service systemd-timesyncd.service apt-daily.timer \
    apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
    ln -sfn /dev/null "$root/etc/systemd/system/$unit"
done
# Every boot gets a fresh machine id from nspawn (empty file: not yet set).
: >"$root/etc/machine-id"
echo microvm-nspawn >"$root/etc/hostname"
# Shorter stop timeouts: a unit that ignores SIGTERM in a test should not
# hold the container's shutdown for the default 90 s.
mkdir -p "$root/etc/systemd/system.conf.d"
cat >"$root/etc/systemd/system.conf.d/50-tests.conf" <<'EOF'
[Manager]
DefaultTimeoutStopSec=10s
DefaultTimeoutStartSec=30s
EOF
# What apt fetched is not needed to boot.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root/debootstrap"

systemd_version=$(chroot "$root" /lib/systemd/systemd --version | head -n 1)
qemu_version=$(chroot "$root" qemu-system-x86_64 --version | head -n 1)
{
    echo "suite: $suite (minbase) from $mirror"
    echo "packages: $(xargs <<<"$packages")"
    echo "systemd: $systemd_version"
    echo "qemu: $qemu_version"
    echo "size: $(du -sh "$root" | cut -f1)"
} >"$tmp/out/info"
# The stamp goes last: a directory with a stamp is complete.
printf 'key=%s\nsuite=%s\nmirror=%s\n' "$key" "$suite" "$mirror" >"$tmp/out/stamp"

# Swap the new build in.  Between the two renames OUTDIR is briefly absent,
# which the next run treats as "not built"; it is never half-written.  The
# old tree goes with the temporary directory: containers still booted from
# it (a test run during a rebuild) lose their files.
[ ! -e "$out" ] || mv "$out" "$tmp/old"
mv "$tmp/out" "$out"

note "built in $out ($(sed -n 's/^size: //p' "$out/info"))"
report
