{
  microvm.vms.a.config.microvm.interfaces = [
    { type = "user"; id = "qemu"; mac = "02:00:00:00:00:01"; }
    { type = "tap"; id = "vm-a"; mac = "02:00:00:00:00:01"; }
  ];
}
