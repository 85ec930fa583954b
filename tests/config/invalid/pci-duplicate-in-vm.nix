{
  microvm.vms.a.config.microvm.devices = [
    { bus = "pci"; path = "0000:01:00.0"; }
    { bus = "usb"; path = "vendorid=0x1234,productid=0x5678"; }
    { bus = "pci"; path = "0000:01:00.0"; }
  ];
}
