{
  microvm.vms.web = { };
  microvm.autostart = [ "web" "../other-state/vm" ];
}
