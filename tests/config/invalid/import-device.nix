{
  imports = [ /dev/zero ];
}
