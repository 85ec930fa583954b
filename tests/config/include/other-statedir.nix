{ microvm.stateDir = "/var/lib/other"; }
