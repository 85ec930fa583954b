{
  microvm.vms.a.config.microvm.vsock.cid = 5;
  microvm.vms.b.config.microvm.vsock.cid = 5;
}
