{ microvm.vms.a.config.microvm.vsock.cid = 2; }
