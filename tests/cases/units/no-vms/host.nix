# No VMs: the target and the configuration's drop-in only.
{ microvm.stateDir = "@TMP@/state"; }
