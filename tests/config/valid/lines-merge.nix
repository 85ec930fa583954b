# tapScript is "strings concatenated with \n": definitions from several modules join.
{
  imports = [ ../include/tapscript-extra.nix ];
  microvm.host.tapScript = "ip link set \"$id\" up";
}
