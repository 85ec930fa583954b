{
  microvm.vms.a.config.microvm.interfaces = [ { type = "tap"; id = "vm-tap"; mac = "02:00:00:00:00:01"; } ];
  microvm.vms.b.config.microvm.interfaces = [ { type = "tap"; id = "vm-tap"; mac = "02:00:00:00:00:02"; } ];
}
