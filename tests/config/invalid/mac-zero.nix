{
  microvm.vms.a.config.microvm.interfaces = [ { type = "tap"; id = "vm-a"; mac = "00:00:00:00:00:00"; } ];
}
