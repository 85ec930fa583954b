{
  microvm.vms.a.config.microvm.devices = [
    { bus = "pci"; path = "01:00.0"; }
  ];
}
