# /etc/microvm/host.nix: the host side of microvm.nix, without Nix.
#
# The option names, types and defaults are microvm.nix's (see
# `microvm options` or microvm-options(5)); lines copied from its
# documentation mean the same thing here. Check with `microvm check`,
# see the result with `microvm eval`.
{ config, lib, pkgs, ... }:
let
  # A kernel and initrd for VMs that microvm runs itself (without Nix).
  kernel = "/var/lib/microvm-images/vmlinuz";
  initrd = "/var/lib/microvm-images/initrd.img";
in
{
  imports = [ ./vms/db.nix ];

  microvm.stateDir = "/var/lib/microvms";

  # Put every tap on the bridge br0 (the interface name is in $id).
  microvm.host.tapScript = ''
    ip link set "$id" master br0 up
  '';

  microvm.virtiofsd.threadPoolSize = 2;

  microvm.vms.web = {
    autostart = true;
    config = {
      microvm = {
        hypervisor = "qemu";
        vcpu = 2;
        mem = 512;
        kernel = kernel;
        initrdPath = initrd;
        interfaces = [
          { type = "tap"; id = "vm-web"; mac = "02:00:00:00:00:01"; }
        ];
        shares = [
          { tag = "www"; source = "/srv/www"; mountPoint = "/var/www"; proto = "virtiofs"; readOnly = true; }
        ];
        volumes = [
          { image = "var.img"; mountPoint = "/var"; size = 1024; }
        ];
      };
    };
  };
}
