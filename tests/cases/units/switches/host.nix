# Helper units switched off: taps for every VM (the seed's switch), virtiofsd
# for one VM; the other keeps its virtiofsd unit.
{
  microvm.stateDir = "@TMP@/state";
  systemd.services."microvm-tap-interfaces@%i.service".enable = false;
  systemd.services."microvm-virtiofsd@web".enable = false;
  microvm.vms.web.config.microvm = { kernel = "/boot/k"; initrdPath = "/boot/i"; };
  microvm.vms.db.config.microvm = { kernel = "/boot/k"; initrdPath = "/boot/i"; };
}
