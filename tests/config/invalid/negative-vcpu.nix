{ microvm.vms.a.config.microvm.vcpu = -1; }
