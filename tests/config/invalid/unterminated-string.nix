{ microvm.stateDir = "/srv; }
