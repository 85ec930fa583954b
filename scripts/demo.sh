#!/bin/bash
# make demo: run microvm on examples/host.nix (through examples/demo.nix,
# which puts in the test guest as the kernel): apply, which starts the
# autostart VM `web` under its monitor; its console; stop. The bridge br0
# that host.nix's tapScript attaches taps to lives in a network namespace
# of the demo's own, so the host's network is left alone.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
microvm=${MICROVM:-$root/build/release/src/microvm}
config=$root/examples/demo.nix
state=$root/build/demo-state
netns=microvm-demo
limit=${DEMO_TIMEOUT:-120}

fail() {
	echo "demo: FAILED: $*" >&2
	exit 1
}
mv() { ip netns exec "$netns" "$microvm" --config "$config" "$@"; }
step() { echo "demo: \$ microvm $*"; }
cleanup() {
	mv stop --all >/dev/null 2>&1 || true
	ip netns delete "$netns" 2>/dev/null || true
}

"$root/tests/guest/build-guest.sh" >/dev/null || fail "building the test guest failed (see above)"

ip netns delete "$netns" 2>/dev/null || true
ip netns add "$netns"
trap cleanup EXIT
ip -n "$netns" link set lo up
ip -n "$netns" link add br0 type bridge
ip -n "$netns" addr add 10.0.0.1/24 dev br0
ip -n "$netns" link set br0 up
echo "demo: bridge br0 (10.0.0.1/24) in network namespace $netns"

# The guest's TSC frequency: the microvm machine has no PIT to measure it with.
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
cat >"$root/build/demo-tsc.nix" <<EOF
{ microvm.vms.web.config.microvm.kernelParams = [ "tsc_early_khz=$khz" ];
  microvm.vms.db.config.microvm.kernelParams = [ "tsc_early_khz=$khz" ]; }
EOF

# A fresh state directory: the demo's own, under build/.
rm -rf "$state"
# The web VM's share: a directory in its working directory.
mkdir -p "$state/web/www"
echo "hello from the host" >"$state/web/www/marker"

step check
mv check || fail "the configuration does not check"
step apply
start=$EPOCHREALTIME
mv apply || fail "microvm apply failed"
step list
mv list

# The guest boots on its own time (TCG): wait for what its /init reports.
log=$state/web/console.log
deadline=$((SECONDS + limit))
until grep -qx "ECHO-READY" <(tr -d '\r' <"$log" 2>/dev/null); do
	[ $SECONDS -lt $deadline ] || fail "the guest did not come up within $limit s; the end of its log:
$(tail -n 20 "$log")"
	sleep 0.2
done
took=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
step "logs web"
mv logs web | tr -d '\r'

step "console web   (typing a line, then Ctrl-] to detach)"
{
	printf 'hello from the console\n'
	sleep 2
	printf '\035'
} | timeout 20 ip netns exec "$netns" "$microvm" --config "$config" console web | tr -d '\r'
echo

step "status web"
mv status web
step "stop --all"
mv stop --all || fail "microvm stop failed"

console=$(tr -d '\r' <"$log")
has() { grep -qxF "$1" <<<"$console"; }
has "SHARE www hello from the host" || fail "the guest did not read its share"
has "PING 10.0.0.1 ok" || fail "the guest did not reach the bridge through its tap"
has "ECHO hello from the console" || fail "the guest did not answer on its console"
has "GUEST-DOWN" || fail "the guest did not shut down cleanly"
echo "demo: web came up under its monitor in $took s, read its share over virtiofs, pinged"
echo "      the host through its tap on br0 (host.nix's tapScript), answered on its console"
echo "      and shut down on microvm stop; microvm tore everything down"
