# What `make demo` runs: examples/host.nix as it is, with what a machine
# without VM images needs put in: the test guest (tests/guest/) as the
# kernel, qemu emulating the CPU (no usable KVM assumed), the state under
# build/. The demo makes the bridge br0 that host.nix's tapScript uses, in
# a network namespace of its own, and writes build/demo-tsc.nix: the
# microvm machine has no PIT, and under emulation the guest boots reliably
# only when told the TSC frequency (tsc_early_khz). Path literals are
# relative to this file.
{ lib, ... }:
let
  kernel = ../build/guest/vmlinux;
  initrd = ../build/guest/initrd.img;
  # microvm.nix's machine options for -M microvm, with emulation (TCG).
  tcg = {
    accel = "tcg"; acpi = "on"; mem-merge = "on"; pcie = "on"; pic = "off";
    pit = "off"; rtc = "on"; usb = "off";
  };
in
{
  imports = [ ./host.nix ../build/demo-tsc.nix ];

  microvm.stateDir = lib.mkForce ../build/demo-state;

  microvm.vms.web.config.microvm = {
    kernel = lib.mkForce kernel;
    initrdPath = lib.mkForce initrd;
    cpu = "max";
    qemu.machineOpts = tcg;
    vcpu = lib.mkForce 1;
    mem = lib.mkForce 256;
    # The share's source, relative to the VM's directory; Debian's C virtiofsd
    # cannot export it read-only, so readOnly is left out here.
    shares = lib.mkForce [
      { tag = "www"; source = "www"; mountPoint = "/var/www"; proto = "virtiofs"; }
    ];
    # What the test guest's /init does (see tests/guest/README.md).
    kernelParams = [
      "quiet"
      "microvm.shares=www:virtiofs"
      "microvm.volume=/dev/vda:/var"
      "microvm.ip=10.0.0.2/24"
      "microvm.ping=10.0.0.1"
      "microvm.hold=echo"
    ];
  };

  microvm.vms.db.config.microvm = {
    kernel = lib.mkForce kernel;
    initrdPath = lib.mkForce initrd;
    cpu = "max";
    qemu.machineOpts = tcg;
    mem = 256;
    kernelParams = [ "quiet" "microvm.volume=/dev/vda:/var/lib/postgresql" "microvm.hold=forever" ];
  };
}
