{
  # 4 GiB, written in bytes: microvm.mem is in MiB.
  microvm.vms.a.config.microvm.mem = 4294967296;
}
