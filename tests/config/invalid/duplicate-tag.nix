{
  microvm.vms.a.config.microvm.shares = [
    { tag = "data"; source = "/a"; mountPoint = "/a"; }
    { tag = "data"; source = "/b"; mountPoint = "/b"; }
  ];
}
