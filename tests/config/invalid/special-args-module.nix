{ microvm.vms.a = {
  specialArgs = { inputs = { }; };
  config.microvm.hypervisor = "qemu";
}; }
