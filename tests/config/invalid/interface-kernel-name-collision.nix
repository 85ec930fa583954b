{
  microvm.vms.a.config.microvm.interfaces = [ { type = "tap"; id = "vm-web-frontend-1834"; mac = "02:00:00:00:00:01"; } ];
  microvm.vms.b.config.microvm.interfaces = [ { type = "tap"; id = "vm-web-frontend-4546"; mac = "02:00:00:00:00:02"; } ];
}
