{ microvm.vms.a.config.microvm = {
  hypervisor = "vfkit";
  vfkit.logLevel = "debug";
}; }
