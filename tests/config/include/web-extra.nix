# Merged into full-vm.nix: a normal definition beats the lib.mkDefault there,
# and lists concatenate.
{
  microvm.vms.web.config.microvm.mem = 512;
  microvm.vms.web.config.microvm.kernelParams = [ "quiet" ];
  microvm.vms.db.config.microvm.vsock.cid = 4;
}
