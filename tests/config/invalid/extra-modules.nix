{ microvm.vms.a = {
  extraModules = [ ./db.nix ];
  config.microvm.hypervisor = "qemu";
}; }
