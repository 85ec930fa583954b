# A declarative VM using most guest options, split over two files.
{ lib, ... }:
let
  net = { type = "tap"; id = "vm-web"; mac = "02:00:00:00:00:01"; };
in
{
  imports = [ ../include/web-extra.nix ];

  microvm.vms.web = {
    autostart = true;
    config = { config, pkgs, ... }: {
      networking.hostName = "web01";
      microvm = {
        hypervisor = "qemu";
        vcpu = 2;
        mem = lib.mkDefault 1024;
        kernel = "/boot/vmlinuz";
        initrdPath = "/boot/initrd.img";
        kernelParams = [ "console=ttyS0" ];
        interfaces = [
          net
          { type = "user"; id = "qemu"; mac = "02:00:00:00:00:02"; }
        ];
        forwardPorts = [ { from = "host"; host.port = 8080; guest.port = 80; } ];
        shares = [
          { tag = "ro-store"; source = "/nix/store"; mountPoint = "/nix/.ro-store"; proto = "virtiofs"; }
          { tag = "data"; source = "/srv/data"; mountPoint = "/data"; proto = "9p"; readOnly = true; }
        ];
        volumes = [ { image = "var.img"; mountPoint = "/var"; size = 256; } ];
        vsock.cid = 3;
        qemu.machineOpts = { accel = "tcg"; };
        qemu.extraArgs = [ "-no-reboot" ];
      };
      services.openssh.enable = true;
      users.users.root.password = "";
    };
  };
}
