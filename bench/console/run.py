#!/usr/bin/python3
"""How long an attached console waits while its VM is being stopped.

A VM under a monitor with a stand-in hypervisor (stand-in-echo-hypervisor.c) that
echoes its console, ignores SIGTERM and never answers on its API socket, so a stop
takes the longest way: the graceful request waits out its deadline, SIGTERM is
ignored, SIGKILL follows after the grace period. A client attached on the console
socket sends a token every few milliseconds and times its echo:

  idle     while the VM just runs: the baseline, measured in the same run;
  stopping from `microvm stop` until that command returns.

Reported: median, p99 and the longest wait, and stopping/idle ratios. With
--baseline-rev REV, the same for microvm built from that git revision.

Each binary is measured --repeat times (default 3); every run is reported, so a
scheduling stall on a busy host shows as one run's maximum, not as the rule.

Usage: bench/console/run.py [--binary PATH] [--baseline-rev REV] [--repeat N]
                            [--idle-seconds S]
"""
import argparse
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HELLO = b"microvm-console attached\n"


class BenchError(Exception):
    pass


def percentile(values, p):
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def build_stand_in(tmp):
    out = os.path.join(tmp, "stand-in-echo-hypervisor")
    src = os.path.join(HERE, "stand-in-echo-hypervisor.c")
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc or subprocess.run([cc, "-O2", "-o", out, src]).returncode != 0:
        raise BenchError(f"cannot compile {src} (apt-get install gcc)")
    return out


def build_revision(rev, tmp):
    """microvm built from git revision `rev`, in a worktree of its own."""
    tree = os.path.join(tmp, f"rev-{rev}")
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", tree, rev], check=True,
                   capture_output=True)
    try:
        subprocess.run(["meson", "setup", os.path.join(tree, "build"), tree, "-Dtests=false"],
                       check=True, capture_output=True)
        subprocess.run(["ninja", "-C", os.path.join(tree, "build"), "src/microvm"], check=True,
                       capture_output=True)
        out = os.path.join(tmp, f"microvm-{rev}")
        shutil.copy(os.path.join(tree, "build", "src", "microvm"), out)
        return out
    finally:
        subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", tree],
                       capture_output=True)


def console_socket(state):
    """Where the monitor serves the console: root's records, or (older layouts) the VM's dir."""
    for path in (os.path.join(state, ".host", "c", "console.sock"),
                 os.path.join(state, "c", "console.sock")):
        if os.path.exists(path):
            return path
    raise BenchError(f"no console socket under {state}")


class Console:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.seq = 0
        # Newer monitors greet an attached client; older ones say nothing.
        self.sock.settimeout(0.5)
        try:
            first = self.sock.recv(len(HELLO), socket.MSG_PEEK)
        except socket.timeout:
            first = b""
        if first and first == HELLO[:len(first)]:
            self.read_until(HELLO, 5)

    def read_until(self, token, timeout):
        end = time.monotonic() + timeout
        while token not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise BenchError(f"no echo of {token!r} within {timeout} s")
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise BenchError("the console closed")
            self.buf += chunk
        self.buf = self.buf.split(token, 1)[1]

    def ping(self, timeout=60):
        """Milliseconds until a fresh token comes back."""
        self.seq += 1
        token = f"<{self.seq}>".encode()
        start = time.perf_counter()
        self.sock.sendall(token)
        self.read_until(token, timeout)
        return (time.perf_counter() - start) * 1000


def measure(binary, stand_in, tmp, idle_seconds, interval):
    d = tempfile.mkdtemp(prefix="console-", dir=tmp)
    os.chmod(d, 0o755)
    state = os.path.join(d, "state")
    for f in ("kernel", "initrd"):
        with open(os.path.join(d, f), "w") as out:
            out.write("placeholder\n")
    host = os.path.join(d, "host.nix")
    with open(host, "w") as f:
        f.write(f'{{ microvm.stateDir = "{state}";\n'
                f'  microvm.vms.c.config.microvm = {{ hypervisor = "cloud-hypervisor"; '
                f'cloud-hypervisor.package = "{stand_in}"; kernel = "{d}/kernel"; '
                f'initrdPath = "{d}/initrd"; }}; }}\n')
    mv = [binary, "--config", host]
    for args in (["apply", "--no-start"], ["start", "c"]):
        r = subprocess.run(mv + args, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise BenchError(f"{' '.join(args)}: {r.stderr}")
    con = Console(console_socket(state))
    idle = []
    end = time.monotonic() + idle_seconds
    while time.monotonic() < end:
        idle.append(con.ping())
        time.sleep(interval)
    stop_began = time.perf_counter()
    stop = subprocess.Popen(mv + ["stop", "c"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    stopping = []
    worst_at = 0.0
    try:
        while stop.poll() is None:
            stopping.append(con.ping())
            if stopping[-1] == max(stopping):
                worst_at = time.perf_counter() - stop_began
            time.sleep(interval)
    except (BenchError, OSError):
        # The console goes away with the monitor, at the very end of the stop.
        try:
            stop.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise BenchError("the console went away while the stop went on")
    stop.wait()
    stop_s = time.perf_counter() - stop_began
    if os.environ.get("BENCH_VERBOSE"):
        print(f"  (longest wait ended {worst_at:.3f} s into the stop)")
    if stop.returncode != 0:
        raise BenchError(f"stop: {stop.stderr.read()}")
    shutil.rmtree(d, ignore_errors=True)
    return idle, stopping, stop_s


def report(label, idle, stopping, stop_s):
    print(f"{label}")
    print(f"  {'':24} {'pings':>6} {'median ms':>10} {'p99 ms':>9} {'max ms':>9}")
    for name, v in (("idle", idle), ("while stopping", stopping)):
        print(f"  {name:24} {len(v):6d} {percentile(v, 50):10.2f} {percentile(v, 99):9.2f} "
              f"{max(v):9.2f}")
    print(f"  the stop took {stop_s:.1f} s; longest wait while stopping / while idle: "
          f"{max(stopping) / max(idle):.1f}x; target under 10 ms: "
          f"{'met' if max(stopping) < 10 else 'NOT met'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "release", "src", "microvm"))
    ap.add_argument("--baseline-rev", help="also measure microvm built from this git revision")
    ap.add_argument("--idle-seconds", type=float, default=3)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--interval-ms", type=float, default=2)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the monitor creates its records as root")
    tmp = tempfile.mkdtemp(prefix="mvbench-console-")
    os.chmod(tmp, 0o755)
    try:
        stand_in = build_stand_in(tmp)
        runs = [("microvm " + args.binary, args.binary)]
        if args.baseline_rev:
            runs.append((f"microvm at {args.baseline_rev}", build_revision(args.baseline_rev, tmp)))
        for label, binary in runs:
            for i in range(args.repeat):
                report(f"{label}, run {i + 1} of {args.repeat}",
                       *measure(binary, stand_in, tmp, args.idle_seconds, args.interval_ms / 1000))
    except BenchError as e:
        sys.exit(f"bench/console: {e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
