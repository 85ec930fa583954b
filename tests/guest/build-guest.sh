#!/bin/bash
# Build the microvm test guest: Debian's current kernel plus a small busybox
# initramfs whose /init is tests/guest/init.
#
# Usage: tests/guest/build-guest.sh [OUTDIR]     (default: <repo>/build/guest)
#
# OUTDIR gets vmlinuz (the packaged bzImage), vmlinux (the same kernel
# uncompressed, for faster PVH boot), initrd.img, stamp (cache key) and info
# (what is inside).
# The build is cached: it reruns only when the kernel package version,
# tests/guest/init, this script or the busybox binary change.  The result is
# built in a temporary directory and renamed into place, so an interrupted
# build never leaves a half-written OUTDIR.
#
# Environment:
#   GUEST_KERNEL_META  kernel metapackage to follow (default linux-image-amd64;
#                      linux-image-cloud-amd64 is smaller but has no 9p)
#   GUEST_BUSYBOX      static busybox to embed (default /bin/busybox)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
meta=${GUEST_KERNEL_META:-linux-image-amd64}
busybox=${GUEST_BUSYBOX:-/bin/busybox}
init_src=$here/init

note() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

# Modules the guest loads, each with its dependencies.  A required module
# that is neither a module nor built in fails the build; optional ones only
# warn (the cloud kernel, for one, has no 9p).
required_modules="virtio_pci virtio_mmio virtio_net virtio_blk virtio_console
    fuse virtiofs vsock vmw_vsock_virtio_transport ext4 button evdev"
optional_modules="9p 9pnet_virtio"

# Busybox applets /init relies on.
needed_applets="sh mount umount modprobe ip ping httpd acpid poweroff reboot
    sleep awk sed tr head sort mkdir kill sync"

for tool in apt-cache apt-get dpkg-deb depmod modprobe cpio gzip sha256sum flock; do
    command -v "$tool" >/dev/null ||
        die "'$tool' not found; install it (apt-get install apt dpkg kmod cpio gzip coreutils util-linux)"
done

# --- output location and lock -----------------------------------------------
out=${1:-$repo/build/guest}
mkdir -p "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")
# One build per OUTDIR at a time (e.g. a test run and `make demo` at once).
exec 9>"$out.lock"
flock -w 900 9 || die "timed out waiting for another build of $out ($out.lock)"

[ -x "$busybox" ] ||
    die "no busybox at $busybox; install it: apt-get install busybox-static"
[ -f "$init_src" ] || die "missing $init_src"

sha() { sha256sum "$@" | cut -c1-64; }

# Where the results are, on stdout: kernel is the one to boot (the PVH
# vmlinux when there is one), vmlinuz the bzImage.
report() {
    echo "kernel=$1"
    echo "vmlinuz=$out/vmlinuz"
    echo "initrd=$out/initrd.img"
}

# Read a field of the previous build's stamp file (empty if none).
stamp_get() {
    if [ -f "$out/stamp" ]; then
        sed -n "s/^$1=//p" "$out/stamp" | head -n 1
    fi
}

# Fingerprint of apt's package lists: the kernel package that the
# metapackage resolves to can only change when these do.  Lets a cached run
# skip apt-cache, which costs about half a second per call.
apt_lists_sig() {
    { stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* /etc/apt/sources.list \
        /etc/apt/sources.list.d/* /etc/apt/preferences.d/* 2>/dev/null || true; } | sha
}

# Resolve $meta to the versioned kernel package (e.g. linux-image-6.1.0-NN-amd64)
# and its version.  Sets $pkg and $version.
resolve_kernel() {
    local show dep
    show=$(apt-cache show --no-all-versions "$meta" 2>/dev/null || true)
    # e.g. "Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)"
    dep=$(printf '%s\n' "$show" | sed -n 's/^Depends: *//p' | tr ',' '\n' |
        grep -m1 -E '^ *linux-image-[0-9]' || true)
    pkg=$(echo "$dep" | awk '{ print $1 }')
    version=$(echo "$dep" | sed -n 's/.*(= *\([^)]*\)).*/\1/p')
    [ -n "$pkg" ] || return 1
    if [ -z "$version" ]; then
        version=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
            sed -n 's/^Version: *//p' | head -n 1)
    fi
    [ -n "$version" ]
}

apt_update() {
    [ "$(id -u)" = 0 ] ||
        die "apt's package lists are missing or stale and only root can refresh them: run 'apt-get update' as root, then retry"
    note "refreshing apt package lists (apt-get update)"
    apt-get update -qq >&2 ||
        die "'apt-get update' failed; check the apt sources and network access to the Debian archive"
}

# --- cache check ------------------------------------------------------------
apt_sig=$(apt_lists_sig)
pkg='' version=''
if [ "$(stamp_get meta)" = "$meta" ] && [ "$(stamp_get apt_sig)" = "$apt_sig" ]; then
    pkg=$(stamp_get package)
    version=$(stamp_get version)
fi
if [ -z "$pkg" ] || [ -z "$version" ]; then
    if ! resolve_kernel; then
        apt_update
        apt_sig=$(apt_lists_sig)
        resolve_kernel || die "cannot resolve kernel metapackage '$meta' to a kernel package (try: apt-cache depends $meta)"
    fi
fi

key=$(printf '%s\n' "$meta" "$pkg" "$version" "$(sha "$init_src")" \
    "$(sha "${BASH_SOURCE[0]}")" "$(sha "$busybox")" | sha)

if [ "$(stamp_get key)" = "$key" ] && [ -f "$out/$(stamp_get kernel)" ] &&
    [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
    if [ "$(stamp_get apt_sig)" != "$apt_sig" ]; then
        # The lists changed but not the kernel: remember, to skip apt-cache
        # next time.  Rename so the stamp is never half-written.
        sed "s/^apt_sig=.*/apt_sig=$apt_sig/" "$out/stamp" >"$out/stamp.new" &&
            mv "$out/stamp.new" "$out/stamp"
    fi
    note "up to date ($pkg $version) in $out"
    report "$out/$(stamp_get kernel)"
    exit 0
fi

# --- build ------------------------------------------------------------------
note "building guest: kernel $pkg $version, busybox $busybox"
# Leftovers of a killed build (we hold the lock, so none is in use).
rm -rf "$(dirname "$out")/.$(basename "$out").build."*
tmp=
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
tmp=$(mktemp -d "$(dirname "$out")/.$(basename "$out").build.XXXXXX")
chmod 755 "$tmp"

# Busybox must be static: the initramfs carries no libc.
if ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is dynamically linked; install the static one: apt-get install busybox-static"
fi
applets=$("$busybox" --list)
for a in $needed_applets; do
    grep -qx "$a" <<<"$applets" || die "$busybox lacks the '$a' applet"
done

mkdir "$tmp/dl"
# apt-get download run as root drops privileges to _apt, which must be able
# to write here (otherwise apt warns and downloads unsandboxed).
if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
    chown _apt "$tmp/dl"
fi
if ! (cd "$tmp/dl" && apt-get download -q "$pkg=$version" >&2); then
    # Usually stale package lists: the archive moved on to a newer kernel.
    note "download of $pkg $version failed; refreshing package lists and retrying once"
    apt_update
    apt_sig=$(apt_lists_sig)
    resolve_kernel || die "cannot resolve kernel metapackage '$meta' after apt-get update"
    key=$(printf '%s\n' "$meta" "$pkg" "$version" "$(sha "$init_src")" \
        "$(sha "${BASH_SOURCE[0]}")" "$(sha "$busybox")" | sha)
    (cd "$tmp/dl" && apt-get download -q "$pkg=$version" >&2) ||
        die "'apt-get download $pkg=$version' failed; check network access to the Debian archive"
fi
deb=$(echo "$tmp"/dl/*.deb)
[ -f "$deb" ] || die "apt-get download produced no .deb for $pkg"

kroot=$tmp/kernel
dpkg-deb -x "$deb" "$kroot" || die "cannot extract $deb (dpkg-deb -x)"
kvers=$(ls "$kroot/lib/modules")
[ "$(echo "$kvers" | wc -w)" = 1 ] || die "expected one kernel in $deb, found: $kvers"
kver=$kvers
[ -f "$kroot/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"
# Debian's package ships no modules.dep (its postinst runs depmod).
depmod -b "$kroot" "$kver" || die "depmod failed on the extracted kernel $kver"

# Module files to copy, dependencies (including soft ones) before users.
modpaths=()
add_module() { # NAME REQUIRED(0/1)
    local deps line
    if ! deps=$(modprobe -d "$kroot" -S "$kver" --show-depends "$1" 2>&1); then
        [ "$2" = 1 ] && die "kernel $pkg has no module or built-in '$1': $deps"
        note "warning: kernel $pkg lacks optional module '$1'; the guest cannot use it"
        return 0
    fi
    while read -r line; do
        case "$line" in
            insmod\ *) line=${line#insmod }; modpaths+=("${line%% *}") ;;
        esac # "builtin NAME" needs nothing
    done <<<"$deps"
}
for m in $required_modules; do add_module "$m" 1; done
for m in $optional_modules; do add_module "$m" 0; done

# --- initramfs tree ---------------------------------------------------------
ir=$tmp/initramfs
moddir=$ir/lib/modules/$kver
mkdir -p "$ir"/{bin,sbin,usr/bin,usr/sbin,etc/acpi/PWRF,proc,sys,dev,run,tmp,mnt,www} "$moddir"

cp "$busybox" "$ir/bin/busybox"
"$busybox" --list-full | while read -r applet; do
    [ -e "$ir/$applet" ] || ln -s /bin/busybox "$ir/$applet"
done

# Copy each module once, uncompressed: busybox modprobe may not read
# compressed modules.  The load list keeps first-seen order.
: >"$ir/etc/guest-modules"
declare -A seen=()
for p in "${modpaths[@]}"; do
    [ -z "${seen[$p]:-}" ] || continue
    seen[$p]=1
    rel=${p#"$kroot/lib/modules/$kver/"}
    dst=$moddir/${rel%.ko*}.ko
    mkdir -p "$(dirname "$dst")"
    case "$p" in
        *.ko)     cp "$p" "$dst" ;;
        *.ko.xz)  xz -dc "$p" >"$dst" || die "cannot decompress $p (apt-get install xz-utils)" ;;
        *.ko.zst) zstd -qdc "$p" >"$dst" || die "cannot decompress $p (apt-get install zstd)" ;;
        *.ko.gz)  gzip -dc "$p" >"$dst" || die "cannot decompress $p" ;;
        *)        die "unexpected module file $p" ;;
    esac
    basename "$dst" .ko >>"$ir/etc/guest-modules"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
    [ -f "$kroot/lib/modules/$kver/$f" ] && cp "$kroot/lib/modules/$kver/$f" "$moddir/"
done
depmod -b "$ir" "$kver" || die "depmod failed on the initramfs module tree"

install -m 755 "$init_src" "$ir/init"
# busybox acpid runs /etc/acpi/PWRF/00000080 on a power-button press.
printf '#!/bin/sh\nexec /init --power-button\n' >"$ir/etc/acpi/PWRF/00000080"
chmod 755 "$ir/etc/acpi/PWRF/00000080"
echo 'microvm-guest' >"$ir/www/index.html"
echo 'root:x:0:0:root:/root:/bin/sh' >"$ir/etc/passwd"
echo 'root:x:0:' >"$ir/etc/group"

# --- uncompressed kernel for direct (PVH) boot ------------------------------
# Decompressing Debian's xz bzImage takes about 2 s under TCG; qemu can
# instead boot the uncompressed ELF kernel through its PVH entry point
# (CONFIG_PVH), which halves the boot time.  Like scripts/extract-vmlinux in
# the kernel tree: find the compressed payload by its magic and unpack it.
elf_complete() { # FILE: ELF whose section header table lies inside the file
    local shoff shentsize shnum
    [ "$(head -c 4 "$1")" = $'\x7fELF' ] || return 1
    shoff=$(od -An -t u8 -j 40 -N 8 "$1")
    shentsize=$(od -An -t u2 -j 58 -N 2 "$1")
    shnum=$(od -An -t u2 -j 60 -N 2 "$1")
    [ $((shoff + shentsize * shnum)) -le "$(stat -c %s "$1")" ]
}
extract_vmlinux() { # BZIMAGE OUT
    local spec tool magic off
    for spec in 'xz --single-stream:\xfd7zXZ\x00' 'zstd -q:\x28\xb5\x2f\xfd' \
        'lz4 -q:\x02\x21\x4c\x18' 'gzip -q:\x1f\x8b\x08'; do
        tool=${spec%%:*}
        magic=${spec#*:}
        command -v "${tool%% *}" >/dev/null || continue
        for off in $(LC_ALL=C grep -obUaP "$magic" "$1" | cut -d: -f1); do
            # Data after the payload makes some decompressors exit non-zero;
            # elf_complete judges the result instead.
            tail -c +$((off + 1)) "$1" | $tool -dc >"$2" 2>/dev/null || true
            elf_complete "$2" && return 0
        done
    done
    rm -f "$2"
    return 1
}

# --- assemble ---------------------------------------------------------------
mkdir "$tmp/out"
cp "$kroot/boot/vmlinuz-$kver" "$tmp/out/vmlinuz"
kernel=vmlinuz
if ! grep -qx 'CONFIG_PVH=y' "$kroot/boot/config-$kver"; then
    note "warning: $pkg lacks CONFIG_PVH; only the (slower) bzImage is built"
elif extract_vmlinux "$tmp/out/vmlinuz" "$tmp/out/vmlinux"; then
    kernel=vmlinux
else
    note "warning: cannot extract vmlinux from $pkg's bzImage (install xz-utils/zstd/lz4); only the (slower) bzImage is built"
fi
(cd "$ir" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) |
    gzip -9n >"$tmp/out/initrd.img" || die "cannot create the initramfs archive (cpio/gzip)"
{
    echo "kernel package: $pkg $version (via $meta)"
    echo "kernel release: $kver"
    echo "boot kernel: $kernel"
    echo "busybox: $("$busybox" | head -n 1)"
    echo "modules (load order):"
    sed 's/^/  /' "$ir/etc/guest-modules"
} >"$tmp/out/info"
# The stamp goes last: a directory with a stamp is complete.
cat >"$tmp/out/stamp" <<EOF
key=$key
meta=$meta
apt_sig=$apt_sig
package=$pkg
version=$version
kernel_release=$kver
kernel=$kernel
EOF

# Swap the new build in.  Between the two renames OUTDIR is briefly absent,
# which the next run treats as "not built"; it is never half-written.
[ ! -e "$out" ] || mv "$out" "$tmp/old"
mv "$tmp/out" "$out"

note "built $pkg $version in $out ($(du -h "$out/initrd.img" | cut -f1) initramfs)"
report "$out/$kernel"
