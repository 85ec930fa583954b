# Notify sockets and a start timeout of one's own.
{
  microvm.stateDir = "@TMP@/state";
  microvm.host.useNotifySockets = true;
  microvm.host.startupTimeout = 42;
  microvm.vms.web.config.microvm = {
    kernel = "/boot/k"; initrdPath = "/boot/i"; vsock.cid = 3;
  };
}
