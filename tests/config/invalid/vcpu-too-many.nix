{
  microvm.vms.a.config.microvm = { vcpu = 100000; mem = 2048; };
}
