{
  microvm.vms.a.config.microvm.interfaces = [ { type = "tap"; id = "vm-a"; mac = "02:00:00:00:00:0a"; } ];
  microvm.vms.b.config.microvm.interfaces = [ { type = "macvtap"; id = "vm-b"; mac = "02:00:00:00:00:0A";
    macvtap = { link = "eth0"; mode = "bridge"; }; } ];
}
