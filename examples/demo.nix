# The VM `make demo` boots: the test guest (tests/guest/) run by microvm
# under qemu with TCG, with a virtiofs share and an ext4 volume that
# microvm creates on first start. Path literals are relative to this file,
# so it works from any checkout; the share's source, a string, is relative
# to the VM's directory (build/demo-state/demo), as with microvm.nix.
{
  microvm.stateDir = ../build/demo-state;

  microvm.vms.demo.config.microvm = {
    kernel = ../build/guest/vmlinux;
    initrdPath = ../build/guest/initrd.img;
    # No usable KVM is assumed: emulate the CPU on the q35 machine.
    cpu = "max";
    qemu.machine = "q35";
    qemu.machineOpts = { accel = "tcg"; };
    mem = 256;
    shares = [
      { tag = "demo"; source = "share"; mountPoint = "/mnt/demo"; proto = "virtiofs"; }
    ];
    volumes = [ { image = "data.img"; mountPoint = "/mnt/vol"; size = 16; } ];
    interfaces = [ { type = "user"; id = "net0"; mac = "02:00:00:00:00:01"; } ];
    # What the test guest's /init does (see tests/guest/README.md).
    kernelParams = [
      "quiet"
      "microvm.shares=demo:virtiofs"
      "microvm.volume=/dev/vda:/mnt/vol"
      "microvm.volwrite=/mnt/vol/hello:written-by-the-guest"
      "microvm.ip=10.0.2.15/24" "microvm.gw=10.0.2.2" "microvm.ping=10.0.2.2"
    ];
  };
}
