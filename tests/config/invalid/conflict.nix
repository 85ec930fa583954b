{
  imports = [ ../include/other-statedir.nix ];
  microvm.stateDir = "/var/lib/microvms";
}
