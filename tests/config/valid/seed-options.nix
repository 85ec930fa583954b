# Every host option of microvm.nix's host module, set once.
{ config, lib, pkgs, ... }:
{
  microvm.autostart = [ "imperative" ];
  microvm.host.enable = true;
  microvm.host.tapScript = ''
    # Attach tap interface to bridge br0, and bring it up
    ip link set "$id" master br0 up
  '';
  microvm.host.useNotifySockets = false;
  microvm.stateDir = "/srv/microvms";
  microvm.virtiofsd.extraArgs = [ "--allow-mmap" ];
  microvm.virtiofsd.inodeFileHandles = "prefer";
  microvm.virtiofsd.threadPoolSize = 4;
  microvm.vms.imported = {
    flake = /srv/flakes/infra;
    updateFlake = "git+file:///srv/flakes/infra";
    autostart = false;
  };
  systemd.services."microvm-tap-interfaces@%i.service".enable = false;
}
