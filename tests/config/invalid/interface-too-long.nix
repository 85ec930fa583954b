{
  microvm.vms.web.config.microvm.interfaces = [
    { type = "tap"; id = "vm-web-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; mac = "02:00:00:00:00:01"; }
  ];
}
