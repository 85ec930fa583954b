{
  microvm.vms.web.config.microvm.interfaces = [
    { type = "macvtap"; id = "vm-web"; mac = "02:00:00:00:00:01";
      macvtap = { link = "eth0"; mode = "brigde"; }; }
  ];
}
