#!/bin/bash
# make demo: build the test guest, install the VM of examples/demo.nix and
# run it with `microvm run`; its console follows; say what happened.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
microvm=${MICROVM:-$root/build/release/src/microvm}
config=$root/examples/demo.nix
limit=${DEMO_TIMEOUT:-120}

fail() { echo "demo: FAILED: $*" >&2; exit 1; }

"$root/tests/guest/build-guest.sh" >/dev/null || fail "building the test guest failed (see above)"
echo "demo: microvm --config examples/demo.nix apply"
"$microvm" --config "$config" apply || fail "microvm apply failed"
# The share: a directory in the VM's working directory.
mkdir -p "$root/build/demo-state/demo/share"
echo "hello from the host" >"$root/build/demo-state/demo/share/marker"
echo "demo: microvm --config examples/demo.nix run demo (console follows; limit ${limit} s)"
log=$(mktemp /tmp/microvm-demo.XXXXXX)
trap 'rm -f "$log"' EXIT
start=$EPOCHREALTIME
set +e
timeout --foreground -k 10 "$limit" "$microvm" --config "$config" run demo 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
console=$(tr -d '\r' <"$log")
has() { grep -qxF "$1" <<<"$console"; }

[ "$rc" != 124 ] || fail "the guest did not power off within $limit s"
[ "$rc" = 0 ] || fail "microvm run exited with status $rc after $took s"
has "GUEST-UP" || fail "the guest never came up"
has "SHARE demo hello from the host" || fail "the guest did not read the share"
has "VOLWRITE /mnt/vol/hello" || fail "the guest did not write its volume"
has "GUEST-DOWN" || fail "the guest did not shut down cleanly"
echo "demo: the guest booted, read its share over virtiofs, wrote to its volume"
echo "      (build/demo-state/demo/data.img) and powered off; microvm tore everything down in $took s"
