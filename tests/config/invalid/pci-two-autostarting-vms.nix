{
  microvm.vms.a.config.microvm.devices = [ { bus = "pci"; path = "0000:03:00.1"; } ];
  microvm.vms.b.config.microvm.devices = [ { bus = "pci"; path = "0000:03:00.1"; } ];
  microvm.vms.c.autostart = false;
  microvm.vms.c.config.microvm.devices = [ { bus = "pci"; path = "0000:03:00.1"; } ];
}
