{ microvm.vms.a.config.microvm = {
  hypervisor = "qemu";
  binScripts.microvm-run = "echo mine";
}; }
