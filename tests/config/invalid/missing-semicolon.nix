{
  microvm.stateDir = "/srv"
  microvm.autostart = [ ];
}
