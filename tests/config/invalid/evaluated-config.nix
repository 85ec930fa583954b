{ microvm.vms.a = {
  evaluatedConfig = { config.microvm.hypervisor = "qemu"; };
}; }
