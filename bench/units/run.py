#!/usr/bin/python3
"""systemd units for many VMs: what microvm-generator costs at each daemon-reload, against
the monitor path's `apply --no-start` of the same configuration, in the same run.

  generate   `microvm generate-units DIR` of a host.nix with N VMs (half autostart), into
             an empty directory on a tmpfs each time, as systemd gives a generator one
             (/run/systemd/generator)
  apply      `microvm apply --no-start` of the same host.nix into a fresh state directory
             (every runner written), and again with nothing changed

Usage: run.py [--microvm PATH] [--vms N] [--repeat K]
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


def timed_ms(argv, prepare=None):
    if prepare:
        prepare()
    start = time.perf_counter()
    r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ms = (time.perf_counter() - start) * 1000
    if r.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {r.stderr.decode()[-2000:]}")
    return ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--microvm", default=os.path.join(ROOT, "build/release/src/microvm"))
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-units-")
    shm = tmp
    try:
        shm = tempfile.mkdtemp(prefix="bench-units-", dir="/dev/shm")
        state, out = os.path.join(tmp, "state"), os.path.join(shm, "out")
        host = os.path.join(tmp, "host.nix")
        with open(host, "w", encoding="utf-8") as f:
            f.write(f'{{\n  microvm.stateDir = "{state}";\n')
            for i in range(a.vms):
                f.write(f'  microvm.vms.vm{i} = {{ autostart = {"true" if i % 2 else "false"}; '
                        'config.microvm = { kernel = "/boot/k"; initrdPath = "/boot/i"; '
                        f'mem = {256 + i % 7}; }}; }};\n')
            f.write("}\n")
        mv = [a.microvm, "--config", host]

        def fresh_out():
            shutil.rmtree(out, ignore_errors=True)
            os.mkdir(out)

        def fresh_state():
            shutil.rmtree(state, ignore_errors=True)

        gen = [timed_ms(mv + ["generate-units", out], fresh_out) for _ in range(a.repeat)]
        fresh = [timed_ms(mv + ["apply", "--no-start"], fresh_state) for _ in range(a.repeat)]
        same = [timed_ms(mv + ["apply", "--no-start"]) for _ in range(a.repeat)]
        g, f, s = (statistics.median(x) for x in (gen, fresh, same))
        print(f"{a.vms} VMs, median of {a.repeat}:")
        print(f"  generate-units                 {g:9.1f} ms")
        print(f"  apply --no-start, fresh state  {f:9.1f} ms   generate is {f / g:.1f}x faster")
        print(f"  apply --no-start, unchanged    {s:9.1f} ms   generate is {s / g:.1f}x faster")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    main()
