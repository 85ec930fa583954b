{
  microvm.vms.a.config.microvm.interfaces = [ { type = "tap"; id = "vm-a"; mac = "03:00:00:00:00:01"; } ];
}
