{
  microvm.vms.a.config.microvm.interfaces = [ { type = "tap"; id = "vm-web-f-b696e6"; mac = "02:00:00:00:00:01"; } ];
  microvm.vms.b.config.microvm.interfaces = [ { type = "tap"; id = "vm-web-frontend-eth0"; mac = "02:00:00:00:00:02"; } ];
}
