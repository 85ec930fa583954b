#!/usr/bin/python3
"""Turn microvm.nix's evaluated runner examples into golden cases.

Input: runner-examples.<system>.json, produced by evaluating microvm.nix's
own runner code (lib/runner.nix, lib/runners/*.nix) with
runner-examples.nix (see README.md here). Output, per hypervisor and
sample: tests/cases/<hypervisor>-<sample>/

  host.json           a host configuration declaring VM "vm1" with the
                      sample's guest options, plus the paths that Nix would
                      have supplied (kernel, initrd, store disk, binary)
  env.json            host facts the command line depends on
  expected-argv.json  the command microvm.nix builds, split into argv as
                      bash splits it (words, quotes removed); files it
                      generates are named @RUNNER@/NAME, and a macvtap's
                      $(< /sys/class/net/ID/ifindex) is the index env.json fixes
  expected-files.json those generated files (firecracker's configuration)
  source.json         the microvm.nix commit and the command string

Usage: generate-cases.py EXAMPLES.json MICROVM_NIX_COMMIT [HYPERVISOR...]
"""
import json
import os
import re
import shlex
import sys

CASES = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STORE = "/nix/store/00000000000000000000000000000000-"

# The binary each runner calls, as microvm.nix finds it in its package.
BINARIES = {
    "qemu": STORE + "qemu_kvm/bin/qemu-system-x86_64",
    "cloud-hypervisor": STORE + "cloud-hypervisor/bin/cloud-hypervisor",
    "firecracker": STORE + "firecracker/bin/firecracker",
    "crosvm": STORE + "crosvm/bin/crosvm",
    "kvmtool": STORE + "kvmtool/bin/lkvm",
    "stratovirt": STORE + "stratovirt/bin/stratovirt",
    "alioth": STORE + "alioth/bin/alioth",
}
# The kernel file each runner boots: the bzImage, or the uncompressed
# vmlinux that microvm.nix takes from the kernel's dev output.
KERNELS = {hv: STORE + "linux/bzImage" for hv in BINARIES}
KERNELS.update({hv: STORE + "linux-dev/vmlinux"
                for hv in ("cloud-hypervisor", "firecracker", "crosvm")})
# The versions of the package stand-ins runner-examples.nix evaluates with.
VERSIONS = {"cloud-hypervisor": "49.0", "firecracker": "1.13.0"}
# A macvtap's /dev/tapN is looked up when the VM starts; cases fix it.
IFINDEX = {"vm-mvt0": 42}
ENV = {
    "arch": "x86_64",
    "netcat": STORE + "netcat/bin/nc",
    "bridgeHelper": "/run/wrappers/bin/qemu-bridge-helper",
    "seccomp": True,
    "unbuffer": STORE + "expect/bin/unbuffer",
    "ifindex": IFINDEX,
}
# Files the runner generates appear inline in the evaluated command.
INLINE_FILE = re.compile(r"<<FILE /nix/store/[0-9a-z]{32}-([^\n]+)\n(.*?)\nEOF>>", re.S)


def guest_config(hv, sample):
    cfg = dict(sample["config"])
    cfg["hypervisor"] = hv
    cfg["kernel"] = KERNELS[hv]
    cfg["initrdPath"] = STORE + "initrd/initrd"
    cfg["kernelParams"] = sample["kernelParams"]
    shares_store = any(s.get("source") == "/nix/store" for s in cfg.get("shares", []))
    if not shares_store:
        cfg["storeDisk"] = STORE + "microvm-store-disk.erofs"
    cfg.setdefault(hv, {})["package"] = BINARIES[hv]
    return {"microvm": cfg, "networking": {"hostName": "vm1"}}


def main():
    examples, commit = sys.argv[1], sys.argv[2]
    wanted = set(sys.argv[3:])
    with open(examples, encoding="utf-8") as f:
        data = json.load(f)
    for hv, samples in data.items():
        if wanted and hv not in wanted:
            continue
        for name, sample in samples.items():
            if sample["command"] == "<throws>":
                continue
            out = os.path.join(CASES, f"{hv}-{name}")
            os.makedirs(out, exist_ok=True)
            host = {"microvm": {"vms": {"vm1": {"config": guest_config(hv, sample)}}}}
            command = sample["command"]
            generated = {m.group(1): m.group(2) for m in INLINE_FILE.finditer(command)}
            command = INLINE_FILE.sub(lambda m: "@RUNNER@/" + m.group(1), command)
            for name, index in IFINDEX.items():
                command = command.replace(f"$(< /sys/class/net/{name}/ifindex)", str(index))
            files = {
                "host.json": host,
                "env.json": dict(ENV, **({"hypervisorVersion": VERSIONS[hv]}
                                         if hv in VERSIONS else {})),
                "expected-argv.json": shlex.split(command),
                "source.json": {"microvm.nix": commit, "command": sample["command"]},
            }
            if generated:
                files["expected-files.json"] = generated
            for fname, content in files.items():
                with open(os.path.join(out, fname), "w", encoding="utf-8") as f:
                    json.dump(content, f, indent=2)
                    f.write("\n")
            print(f"wrote {out}")


if __name__ == "__main__":
    main()
