{
  imports = [ ./. ];
}
