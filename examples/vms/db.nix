# A second VM in a file of its own, pulled in with `imports`.
{ lib, ... }:
{
  microvm.vms.db = {
    # Started by hand (`microvm start db`), not at boot.
    autostart = false;
    config.microvm = {
      hypervisor = "qemu";
      mem = lib.mkDefault 1024;
      kernel = "/var/lib/microvm-images/vmlinuz";
      initrdPath = "/var/lib/microvm-images/initrd.img";
      interfaces = [
        { type = "tap"; id = "vm-db"; mac = "02:00:00:00:00:02"; }
      ];
      volumes = [
        { image = "data.img"; mountPoint = "/var/lib/postgresql"; size = 4096; }
      ];
      vsock.cid = 4;
    };
  };
}
