{ microvm.vms.a.config.microvm = {
  hypervisor = "qemu";
  binScripts."../escape" = "echo out";
}; }
