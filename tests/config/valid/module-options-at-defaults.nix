# The VM options that stand for a Nix evaluation, at their defaults: accepted.
# The seed's host-wide virtiofsd settings fill in a guest that sets none;
# a guest's own setting wins.
{
  microvm.virtiofsd.inodeFileHandles = "never";
  microvm.virtiofsd.threadPoolSize = 4;
  microvm.vms.defaults = {
    evaluatedConfig = null;
    extraModules = [ ];
    specialArgs = { };
    config.microvm.hypervisor = "qemu";
  };
  microvm.vms.own = {
    config.microvm.virtiofsd.inodeFileHandles = "mandatory";
  };
}
