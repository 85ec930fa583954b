#!/usr/bin/python3
"""Flake VMs: what Nix costs microvm, each against a baseline in the same run.

  list    `microvm list` over 1000 installed VMs of which half are flake VMs
          (runners that are Nix store paths, flakes recorded), against the same
          over 1000 VMs with a config: plain list never runs Nix, so the two
          should match. Checked too: under strace, list executes no program.
  apply   `microvm apply --no-start` of 20 flake VMs that are already built
          (nothing changed), against 20 `nix build` calls one after the other,
          what 20 install-microvm-NAME units run.

Nix runs offline (NIX_CONFIG: no substituters, no sandbox). The test flake has
no inputs: each declaredRunner is a derivation built with /bin/sh that lays out
a runner as microvm.nix's lib/runner.nix does.

Usage: run.py [--microvm PATH] [--vms N] [--flake-vms N] [--repeat K]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NIX_CONFIG = "\n".join(["experimental-features = nix-command flakes", "substituters =",
                        "sandbox = false", "build-users-group ="])


def median_ms(argv, repeat, **kw):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
        times.append((time.perf_counter() - start) * 1000)
        if r.returncode != 0:
            sys.exit(f"{argv[0]} failed: {r.stderr.decode()[-2000:]}")
    return statistics.median(times)


def write_flake(path, names):
    os.makedirs(path)
    with open(os.path.join(path, "flake.nix"), "w", encoding="utf-8") as f:
        f.write('{\n  outputs = { self }: let\n    runner = name: derivation {\n'
                '      name = "microvm-qemu-${name}"; system = "x86_64-linux";\n'
                '      builder = "/bin/sh";\n'
                '      args = [ "-c" "/bin/mkdir -p $out/bin $out/share/microvm && '
                'echo qemu > $out/share/microvm/hypervisor && echo vnet_hdr > '
                '$out/share/microvm/tap-flags && printf \'#!/bin/sh\\\\nexit 0\\\\n\' > '
                '$out/bin/microvm-run && /bin/chmod 755 $out/bin/microvm-run" ];\n'
                '    };\n  in {\n')
        for n in names:
            f.write(f'    nixosConfigurations.{n}.config.microvm.declaredRunner = runner "{n}";\n')
        f.write('  };\n}\n')


def write_host(path, state, config_vms, flake_vms, flake):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{{\n  microvm.stateDir = "{state}";\n')
        for i in range(config_vms):
            f.write(f'  microvm.vms.vm{i}.config.microvm = {{ kernel = "/etc/hostname"; '
                    f'initrdPath = "/etc/hostname"; mem = {256 + i % 8 * 64}; }};\n')
        for name in flake_vms:
            f.write(f'  microvm.vms.{name}.flake = {flake};\n')
        f.write("}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--microvm", default=os.path.join(ROOT, "build", "release", "src", "microvm"))
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--flake-vms", type=int, default=20, help="for the apply benchmark")
    ap.add_argument("--repeat", type=int, default=11)
    args = ap.parse_args()
    mv = args.microvm
    nix = shutil.which("nix")
    if not nix:
        sys.exit("bench/nix: nix not found (apt-get install nix-bin)")
    os.environ["NIX_CONFIG"] = NIX_CONFIG
    half = args.vms // 2

    with tempfile.TemporaryDirectory() as tmp:
        names = [f"f{i}" for i in range(max(half, args.flake_vms))]
        flake = os.path.join(tmp, "flake")
        write_flake(flake, names)

        # list: config VMs only, then half flake VMs.
        base_host, base_state = os.path.join(tmp, "base.nix"), os.path.join(tmp, "state-base")
        write_host(base_host, base_state, args.vms, [], flake)
        mixed_host, mixed_state = os.path.join(tmp, "mixed.nix"), os.path.join(tmp, "state-mix")
        write_host(mixed_host, mixed_state, args.vms - half, names[:half], flake)
        for host in (base_host, mixed_host):
            start = time.perf_counter()
            r = subprocess.run([mv, "--config", host, "apply", "--no-start"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode != 0:
                sys.exit(f"apply failed: {r.stderr.decode()[-2000:]}")
            print(f"  (first apply of {os.path.basename(host)}: "
                  f"{(time.perf_counter() - start):.1f} s)")
        t_base = median_ms([mv, "--config", base_host, "list"], args.repeat)
        t_mixed = median_ms([mv, "--config", mixed_host, "list"], args.repeat)
        execs = "not checked (no strace)"
        if shutil.which("strace"):
            trace = os.path.join(tmp, "trace")
            subprocess.run(["strace", "-f", "-qq", "-e", "trace=execve", "-o", trace, mv,
                            "--config", mixed_host, "list"], stdout=subprocess.DEVNULL,
                           check=True)
            with open(trace, encoding="utf-8") as f:
                n = sum(1 for line in f if "execve(" in line)
            execs = f"{n - 1} programs executed by list"
        print(f"list   {args.vms} VMs: {args.vms - half} config + {half} flake "
              f"{t_mixed:7.1f} ms   {args.vms} config {t_base:7.1f} ms   ratio "
              f"{t_mixed / t_base:5.2f} (1.0: no cost for flake VMs); {execs}")

        # apply: N built flake VMs, unchanged.
        few_host, few_state = os.path.join(tmp, "few.nix"), os.path.join(tmp, "state-few")
        write_host(few_host, few_state, 0, names[:args.flake_vms], flake)
        subprocess.run([mv, "--config", few_host, "apply", "--no-start"], check=True,
                       stdout=subprocess.DEVNULL)
        repeat = max(3, args.repeat // 3)
        t_apply = median_ms([mv, "--config", few_host, "apply", "--no-start"], repeat)
        loop = ("for n in " + " ".join(names[:args.flake_vms]) + "; do " + nix +
                " build --no-link \"$1#nixosConfigurations.$n.config.microvm.declaredRunner\""
                " || exit 1; done")
        t_nix = median_ms(["bash", "-c", loop, "bash", flake], repeat)
        print(f"apply  {args.flake_vms} unchanged flake VMs: microvm apply {t_apply:7.1f} ms   "
              f"{args.flake_vms} nix build in a row {t_nix:7.1f} ms   ratio "
              f"{t_nix / t_apply:5.2f}x (above 1: microvm faster)")
        # The garbage-collector roots microvm wrote lead into this directory: not left behind.
        roots = "/nix/var/nix/gcroots/microvm"
        for name in os.listdir(roots) if os.path.isdir(roots) else []:
            link = os.path.join(roots, name)
            if os.path.islink(link) and os.readlink(link).startswith(tmp + "/"):
                os.unlink(link)


if __name__ == "__main__":
    main()
