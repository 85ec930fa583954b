# Declared VMs with and without autostart, an imperative one in
# microvm.autostart, restartIfChanged both ways.
{
  microvm.stateDir = "@TMP@/state";
  microvm.autostart = [ "imperative" ];
  microvm.vms.web.config.microvm = { kernel = "/boot/k"; initrdPath = "/boot/i"; };
  microvm.vms."db_1.internal" = {
    autostart = false;
    config.microvm = { kernel = "/boot/k"; initrdPath = "/boot/i"; };
  };
  microvm.vms.flaky = {
    restartIfChanged = false;
    config.microvm = { kernel = "/boot/k"; initrdPath = "/boot/i"; };
  };
}
