rec { microvm.stateDir = "/srv"; }
