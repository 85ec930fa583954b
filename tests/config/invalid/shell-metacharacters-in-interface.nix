{
  microvm.vms.web.config.microvm.interfaces = [
    { type = "tap"; id = "$(reboot)"; mac = "02:00:00:00:00:01"; }
  ];
}
