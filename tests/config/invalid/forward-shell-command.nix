{
  microvm.vms.web.config.microvm = {
    interfaces = [ { type = "user"; id = "qemu"; mac = "02:00:00:00:00:01"; } ];
    forwardPorts = [
      { from = "guest"; guest.address = "10.0.2.10"; guest.port = 80;
        host.address = "127.0.0.1; touch /tmp/x"; host.port = 80; }
    ];
  };
}
