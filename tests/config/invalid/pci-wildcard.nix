{
  microvm.vms.a.config.microvm.devices = [
    { bus = "pci"; path = "0000:01:00.*"; }
  ];
}
