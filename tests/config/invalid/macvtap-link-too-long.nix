{
  microvm.vms.web.config.microvm.interfaces = [
    { type = "macvtap"; id = "vm-web"; mac = "02:00:00:00:00:01";
      macvtap = { link = "enp0s20f0u1u2c2x"; mode = "bridge"; }; }
  ];
}
