#!/usr/bin/python3
"""Benchmark: reading, merging and validating a large host configuration.

For N VMs (default 250, 500, 1000, 2000), generates host.nix with
gen-host.py and times, in the same run and on the same file:

  microvm eval --json   read, merge against the schema, apply every default,
                        check the host, print the full evaluated tree
  microvm check         the same without printing
  nix-instantiate --eval --strict --json
                        Debian's Nix reading the same file (the baseline)

Each command runs REPEAT times; the median wall time is reported, with
the ratio baseline / microvm and the time per VM (linearity).

Usage: run.py [--microvm PATH] [--repeat K] [N ...]
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


def median_ms(argv, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        times.append((time.perf_counter() - start) * 1000)
        if r.returncode != 0:
            sys.exit(f"{' '.join(argv)} failed: {r.stderr.decode()}")
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--microvm", default=os.path.join(ROOT, "build", "release", "src", "microvm"))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("sizes", type=int, nargs="*", default=[250, 500, 1000, 2000])
    args = ap.parse_args()
    nix = shutil.which("nix-instantiate")
    if not nix:
        sys.exit("nix-instantiate not found: apt-get install nix-bin")

    print(f"{'VMs':>6} {'nix ms':>9} {'eval ms':>9} {'check ms':>9} {'nix/eval':>9} "
          f"{'nix/check':>10} {'eval us/VM':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            host = os.path.join(tmp, f"host-{n}.nix")
            subprocess.run([os.path.join(HERE, "gen-host.py"), str(n), host], check=True)
            t_nix = median_ms([nix, "--eval", "--strict", "--json", host], args.repeat)
            t_eval = median_ms([args.microvm, "--config", host, "eval", "--json"], args.repeat)
            t_check = median_ms([args.microvm, "--config", host, "check"], args.repeat)
            print(f"{n:>6} {t_nix:>9.1f} {t_eval:>9.1f} {t_check:>9.1f} {t_nix / t_eval:>9.2f} "
                  f"{t_nix / t_check:>10.2f} {t_eval * 1000 / n:>11.1f}")


if __name__ == "__main__":
    main()
