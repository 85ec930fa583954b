{ microvm.vms.a = {
  nixpkgs = /srv/nixpkgs;
  config.microvm.hypervisor = "qemu";
}; }
