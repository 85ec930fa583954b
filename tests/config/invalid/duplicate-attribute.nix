{
  microvm.stateDir = "/a";
  microvm.stateDir = "/b";
}
