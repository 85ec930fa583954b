{ microvm.vms.a.config.microvm.hypervisor = "cloud-hypervsior"; }
