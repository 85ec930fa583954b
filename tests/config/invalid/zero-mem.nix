{
  microvm.vms.a.config.microvm.mem = 0;
}
