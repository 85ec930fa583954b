#!/usr/bin/python3
"""Write a host configuration with N declarative VMs, each with a tap
interface, a virtiofs share, a 9p share and a volume.

Usage: gen-host.py N OUT.nix

The file is plain Nix data (no lib calls, no paths) so that
`nix-instantiate --eval --strict --json` reads the very same file.
"""
import sys


def vm(i):
    return f"""  microvm.vms.vm{i} = {{
    autostart = {"true" if i % 3 else "false"};
    config = {{
      microvm = {{
        hypervisor = "{("qemu", "cloud-hypervisor", "firecracker")[i % 3]}";
        vcpu = {1 + i % 4};
        mem = {256 * (1 + i % 8)};
        interfaces = [ {{ type = "tap"; id = "vm{i}-t"; mac = "02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}"; }} ];
        shares = [
          {{ tag = "store"; source = "/nix/store"; mountPoint = "/nix/.ro-store"; proto = "virtiofs"; }}
          {{ tag = "data"; source = "/srv/vm{i}"; mountPoint = "/data"; }}
        ];
        volumes = [ {{ image = "var.img"; mountPoint = "/var"; size = 1024; }} ];
        vsock.cid = {i + 3};
      }};
    }};
  }};
"""


def main():
    n, out = int(sys.argv[1]), sys.argv[2]
    with open(out, "w", encoding="utf-8") as f:
        f.write("{\n")
        f.write('  microvm.stateDir = "/var/lib/microvms";\n')
        for i in range(n):
            f.write(vm(i))
        f.write("}\n")


if __name__ == "__main__":
    main()
