#!/usr/bin/python3
"""Benchmarks of running and listing VMs, each against a baseline in the same run.

  run     microvm run of a VM whose "hypervisor" is /bin/true (a stand-in that
          exits at once: the time is microvm's own, before and after the
          hypervisor), against fork+exec of /bin/true. Target: within 3 ms.
  list    microvm list over N installed VMs, against a bash loop doing the
          same reads (readlink current and booted, cat the hypervisor file).
          Target: 20 times faster.
  apply   microvm apply of an N-VM configuration when nothing changed.
          Target: under 100 ms for 1000 VMs.

Usage: run.py [--microvm PATH] [--vms N] [--repeat K]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def median_ms(argv, repeat, **kw):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
        times.append((time.perf_counter() - start) * 1000)
        if r.returncode != 0:
            sys.exit(f"{argv[0]} failed: {r.stderr.decode()[-2000:]}")
    return statistics.median(times)


def write_host(path, state, n, hypervisor_binary="/bin/true"):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{{\n  microvm.stateDir = "{state}";\n')
        for i in range(n):
            f.write(f'  microvm.vms.vm{i}.config.microvm = {{ kernel = "/etc/hostname"; '
                    f'initrdPath = "/etc/hostname"; qemu.package = "{hypervisor_binary}"; '
                    f'mem = {256 + i % 8 * 64}; }};\n')
        f.write("}\n")


BASH_LIST = r'''
for d in "$1"/*; do
  [ -L "$d/current" ] || continue
  c=$(readlink "$d/current"); b=$(readlink "$d/booted" 2>/dev/null || true)
  h=$(cat "$d/current/share/microvm/hypervisor")
  echo "$(basename "$d") $h $c $b"
done
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--microvm", default=os.path.join(ROOT, "build", "release", "src", "microvm"))
    ap.add_argument("--vms", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=11)
    args = ap.parse_args()
    mv = args.microvm

    with tempfile.TemporaryDirectory() as tmp:
        # run: one VM, stand-in hypervisor /bin/true.
        one = os.path.join(tmp, "one.nix")
        write_host(one, os.path.join(tmp, "state-one"), 1)
        subprocess.run([mv, "--config", one, "apply"], check=True, stdout=subprocess.DEVNULL)
        t_true = median_ms(["/bin/true"], args.repeat * 3)
        t_run = median_ms([mv, "--config", one, "run", "vm0"], args.repeat * 3)
        print(f"run    fork+exec /bin/true {t_true:7.2f} ms   microvm run (stand-in "
              f"hypervisor /bin/true) {t_run:7.2f} ms   overhead {t_run - t_true:6.2f} ms "
              f"(target <= 3 ms)")

        many = os.path.join(tmp, "many.nix")
        state = os.path.join(tmp, "state-many")
        write_host(many, state, args.vms)
        start = time.perf_counter()
        subprocess.run([mv, "--config", many, "apply"], check=True, stdout=subprocess.DEVNULL)
        first = (time.perf_counter() - start) * 1000
        t_apply = median_ms([mv, "--config", many, "apply"], args.repeat)
        print(f"apply  {args.vms} VMs: first {first:7.1f} ms, unchanged {t_apply:7.1f} ms "
              f"(target < 100 ms)")

        t_list = median_ms([mv, "--config", many, "list"], args.repeat)
        t_bash = median_ms(["bash", "-c", BASH_LIST, "bash", state], max(3, args.repeat // 3))
        print(f"list   {args.vms} VMs: microvm list {t_list:7.1f} ms   bash loop {t_bash:8.1f} ms"
              f"   ratio {t_bash / t_list:5.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
