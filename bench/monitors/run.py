#!/usr/bin/python3
"""Benchmark: supervising N VMs at once, microvm's monitors against supervisord.

N declarative cloud-hypervisor VMs (default 200) whose hypervisor is a
stand-in (stand-in-hypervisor.c: it boots nothing and sleeps until a
signal ends it), with microvm.host.restartDelay = 0, and, in the same
run, supervisord with N [program:x] sections running the same binary
(autorestart=true, startsecs=0). Measured for both:

  start     microvm autostart (default --jobs, one per CPU, and --jobs 16)
            until it returns, every VM ready; supervisord from its start
            until getAllProcessInfo (what supervisorctl status asks) shows
            all N RUNNING
  memory    RSS and PSS (smaps_rollup) of every microvm monitor (the pid of
            STATE/.host/NAME/pid) summed and per VM, against supervisord's own;
            the stand-ins are left out of both
  restart   SIGKILL to one stand-in, until its replacement has been exec'd
            (its parent's children polled every 1 ms), once per VM
  stop      microvm stop --all against supervisorctl stop all

Run as root. Needs cc and supervisord (apt-get install supervisor).

Usage: run.py [--microvm PATH] [--vms N] [--repeat K] [--kills K] [--jobs J ...]
"""
import argparse
import http.client
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KIB = 1024


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- processes


def proc_start_time(pid):
    """Field 22 of /proc/PID/stat: what microvm's pid file records beside the pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            text = f.read()
    except OSError:
        return None
    return int(text[text.rindex(")") + 2:].split()[19])


def alive(pid, start_time):
    """Still there, not a zombie, and not a recycled pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] not in ("Z", "X") and int(fields[19]) == start_time


def rollup(pid):
    """/proc/PID/smaps_rollup in KiB: Rss, Pss, Pss_Anon, Pss_File, ..."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def children(pid):
    """Direct children of a single-threaded process."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return []


def exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def stand_in_child(parent, stand_in, tag=None):
    """The child of `parent` that has exec'd the stand-in (and, with a tag, was given it)."""
    for c in children(parent):
        if exe(c) == stand_in and (tag is None or tag.encode() in cmdline(c)[1:]):
            return c
    return None


def processes_mentioning(text):
    """Pids whose executable or command line names `text` (our temporary directory)."""
    found = []
    key = text.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        pid = int(entry)
        if (exe(pid) or "").startswith(text) or any(key in a for a in cmdline(pid)):
            found.append(pid)
    return found


def percentile(values, p):
    """Nearest rank."""
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def timed(argv, **kw):
    start = time.perf_counter()
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    ms = (time.perf_counter() - start) * 1000
    if r.returncode != 0:
        raise BenchError(f"{' '.join(argv)} failed ({r.returncode}):\n{r.stdout[-2000:]}"
                         f"{r.stderr[-2000:]}")
    return ms, r.stdout


# ---------------------------------------------------------------- set-up


def build_stand_in(tmp):
    out = os.path.join(tmp, "stand-in-hypervisor")
    src = os.path.join(HERE, "stand-in-hypervisor.c")
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise BenchError("no C compiler: apt-get install gcc")
    # Static where libc.a is there: fewer mappings; its memory is left out anyway.
    for extra in (["-static"], []):
        if subprocess.run([cc, "-O2", *extra, "-o", out, src], capture_output=True).returncode == 0:
            return out
    raise BenchError(f"cannot compile {src}")


def vm_name(i, n):
    return f"vm{i:0{len(str(n - 1))}d}"


def write_host(path, state, names, stand_in, kernel, initrd):
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'{{\n  microvm.stateDir = "{state}";\n  microvm.host.restartDelay = 0;\n')
        for name in names:
            f.write(f'  microvm.vms.{name}.config.microvm = {{ hypervisor = "cloud-hypervisor"; '
                    f'cloud-hypervisor.package = "{stand_in}"; kernel = "{kernel}"; '
                    f'initrdPath = "{initrd}"; }};\n')
        f.write("}\n")


def write_supervisord_conf(d, names, stand_in):
    conf = os.path.join(d, "supervisord.conf")
    logs = os.path.join(d, "logs")
    os.makedirs(logs, exist_ok=True)
    with open(conf, "w", encoding="utf-8") as f:
        f.write(f"""[unix_http_server]
file={d}/supervisor.sock

[supervisord]
nodaemon=true
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={logs}
minfds={max(1024, 4 * len(names) + 64)}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{d}/supervisor.sock
""")
        # The console of a microvm VM goes to STATE/.host/NAME/console.log; here to a log each.
        for name in names:
            f.write(f"\n[program:{name}]\ncommand={stand_in} {name}\nstartsecs=0\n"
                    f"autorestart=true\nredirect_stderr=true\n"
                    f"stdout_logfile={logs}/{name}.log\n")
    return conf


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost")
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.unix_path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        return UnixHTTPConnection(self.unix_path)


# ---------------------------------------------------------------- measurements


def memory(pids):
    """Sums of the rollups of `pids`, and the median process's RssAnon and RssFile."""
    rolls = [rollup(p) for p in pids]
    total = {k: sum(r.get(k, 0) for r in rolls) for k in ("Rss", "Pss", "Pss_Anon", "Pss_File")}
    total["RssAnon"] = statistics.median(r["RssAnon"] for r in rolls)
    total["RssFile"] = statistics.median(r["RssFile"] for r in rolls)
    return total


def restart_latency(names, find_child, after=None):
    """SIGKILL the stand-in of each name once; ms until its replacement has been exec'd,
    and, with `after`, ms until after(name) holds too."""
    spawned, settled = [], []
    for name in names:
        old = find_child(name)
        if old is None:
            raise BenchError(f"{name}: no stand-in hypervisor running")
        start = time.perf_counter()
        os.kill(old, signal.SIGKILL)
        end = start + 10
        while True:
            new = find_child(name)
            if new is not None and new != old:
                break
            if time.perf_counter() > end:
                raise BenchError(f"{name}: not restarted within 10 s of SIGKILL")
            time.sleep(0.001)
        spawned.append((time.perf_counter() - start) * 1000)
        if after:
            while not after(name):
                if time.perf_counter() > end:
                    raise BenchError(f"{name}: not ready within 10 s of SIGKILL")
                time.sleep(0.001)
            settled.append((time.perf_counter() - start) * 1000)
        time.sleep(0.05)  # let the supervisor finish with this one before the next
    return spawned, settled


class Microvm:
    def __init__(self, binary, host, state, stand_in):
        self.binary, self.host, self.state, self.stand_in = binary, host, state, stand_in

    def cmd(self, *args):
        return [self.binary, "--config", self.host, *args]

    def record(self, name, what):
        """Root's record of a VM: STATE/.host/NAME/WHAT, or STATE/NAME/WHAT for older revisions."""
        new = os.path.join(self.state, ".host", name, what)
        return new if os.path.isdir(os.path.join(self.state, ".host")) else \
            os.path.join(self.state, name, what)

    def monitor(self, name):
        """The monitor's pid, from its pid record (pid and start time), checked against /proc."""
        try:
            with open(self.record(name, "pid"), encoding="ascii") as f:
                fields = f.read().split()
        except FileNotFoundError:
            return None
        pid = int(fields[0])
        return pid if str(proc_start_time(pid)) == fields[1] else None

    def monitors(self, names):
        pids = [self.monitor(n) for n in names]
        missing = [n for n, p in zip(names, pids) if p is None]
        if missing:
            raise BenchError(f"no monitor running for {len(missing)} VMs ({missing[:5]})")
        return pids

    def child(self, name):
        mon = self.monitor(name)
        return stand_in_child(mon, self.stand_in) if mon else None

    def ready(self, name):
        return os.path.exists(self.record(name, "ready"))

    def autostart(self, names, jobs):
        ms, out = timed(self.cmd("autostart", *(["--jobs", str(jobs)] if jobs else [])))
        started = sum(1 for line in out.splitlines() if line.endswith(": started"))
        if started != len(names):
            raise BenchError(f"autostart started {started} of {len(names)} VMs:\n{out[-2000:]}")
        pids = self.monitors(names)
        without = [n for n, p in zip(names, pids) if stand_in_child(p, self.stand_in) is None]
        if without:
            raise BenchError(f"{len(without)} monitors have no stand-in running: {without[:5]}")
        return ms, pids

    def stop_all(self):
        ms, _ = timed(self.cmd("stop", "--all"))
        return ms


class Supervisord:
    def __init__(self, conf, d, names, stand_in):
        self.conf, self.dir, self.names, self.stand_in = conf, d, names, stand_in
        self.proc = None
        self.rpc = xmlrpc.client.ServerProxy(
            "http://localhost", transport=UnixTransport(os.path.join(d, "supervisor.sock")))

    def all_running(self):
        try:
            info = self.rpc.supervisor.getAllProcessInfo()
        except (OSError, xmlrpc.client.Error):
            return False
        return len(info) == len(self.names) and all(i["statename"] == "RUNNING" for i in info)

    def start(self):
        log = open(os.path.join(self.dir, "supervisord.out"), "ab")
        start = time.perf_counter()
        self.proc = subprocess.Popen(["supervisord", "-n", "-c", self.conf], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        while not self.all_running():
            if self.proc.poll() is not None:
                raise BenchError(f"supervisord exited ({self.proc.returncode}), see {self.dir}")
            if time.perf_counter() - start > 120:
                raise BenchError("supervisord: not all RUNNING within 120 s")
            time.sleep(0.01)
        ms = (time.perf_counter() - start) * 1000
        _, out = timed(["supervisorctl", "-c", self.conf, "status"])
        if out.count(" RUNNING ") != len(self.names):
            raise BenchError(f"supervisorctl status:\n{out[-2000:]}")
        return ms

    def child(self, name):
        return stand_in_child(self.proc.pid, self.stand_in, name)

    def stop_all(self):
        ms, _ = timed(["supervisorctl", "-c", self.conf, "stop", "all"])
        return ms

    def shutdown(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---------------------------------------------------------------- the run


def one_by_one(mv, names):
    """N separate `microvm start NAME`, as one init script or unit per VM would: each
    monitor is forked from a CLI process of its own, so monitors share no heap."""
    start = time.perf_counter()
    for name in names:
        timed(mv.cmd("start", name))
    ms = (time.perf_counter() - start) * 1000
    pids = mv.monitors(names)
    time.sleep(1)
    mem = memory(pids)
    mv.stop_all()
    return ms, mem


def lone_monitor(mv_binary, tmp, name, stand_in, kernel, initrd):
    """The floor: the one monitor of a host configuration of one VM."""
    host, state = os.path.join(tmp, "host-1.nix"), os.path.join(tmp, "state-1")
    write_host(host, state, [name], stand_in, kernel, initrd)
    timed([mv_binary, "--config", host, "apply", "--no-start"])
    mv = Microvm(mv_binary, host, state, stand_in)
    cleanups.append(lambda: cleanup_microvm(mv))
    timed(mv.cmd("start", name))
    try:
        time.sleep(1)
        return rollup(mv.monitors([name])[0])
    finally:
        timed(mv.cmd("stop", name))


def run(args, tmp):
    n = args.vms
    names = [vm_name(i, n) for i in range(n)]
    stand_in = build_stand_in(tmp)
    boot = os.path.join(tmp, "boot")
    os.makedirs(boot)
    kernel, initrd = os.path.join(boot, "kernel"), os.path.join(boot, "initrd")
    for path in (kernel, initrd):
        with open(path, "wb") as f:
            f.write(b"\0" * 4096)
    host = os.path.join(tmp, "host.nix")
    state = os.path.join(tmp, "state")
    write_host(host, state, names, stand_in, kernel, initrd)
    timed([args.microvm, "--config", host, "apply", "--no-start"])
    mv = Microvm(args.microvm, host, state, stand_in)
    sv_dir = os.path.join(tmp, "supervisord")
    os.makedirs(sv_dir)
    sv = Supervisord(write_supervisord_conf(sv_dir, names, stand_in), sv_dir, names, stand_in)
    cleanups.append(lambda: cleanup_microvm(mv))
    cleanups.append(sv.shutdown)

    kill_names = [names[i * n // args.kills] for i in range(args.kills)]
    res = {"start": {}, "start_runs": {}, "mem": [], "stop": [],
           "sv_start": [], "sv_mem": [], "sv_stop": []}

    # microvm: every round starts all N and stops them; the first also kills.
    for jobs in [None] + args.jobs:
        times = []
        for rep in range(args.repeat):
            ms, pids = mv.autostart(names, jobs)
            times.append(ms)
            if jobs is None:
                time.sleep(1)
                res["mem"].append(memory(pids))
                if rep == 0:
                    res["restart"], res["ready"] = restart_latency(kill_names, mv.child, mv.ready)
            started = [(p, proc_start_time(p)) for p in pids]
            res["stop"].append(mv.stop_all())
            left = [p for p, t in started if alive(p, t)]
            if left:
                raise BenchError(f"{len(left)} monitors still running after stop --all")
            print(f"  microvm round: --jobs {jobs or 'default'}: autostart {ms:.0f} ms",
                  file=sys.stderr)
        res["start"][jobs] = statistics.median(times)
        res["start_runs"][jobs] = times
    res["obo_start"], res["obo_mem"] = one_by_one(mv, names)
    print(f"  microvm one by one: {res['obo_start']:.0f} ms", file=sys.stderr)
    res["lone"] = lone_monitor(args.microvm, tmp, names[0], stand_in, kernel, initrd)

    for rep in range(args.repeat):
        res["sv_start"].append(sv.start())
        try:
            time.sleep(1)
            res["sv_mem"].append(memory([sv.proc.pid]))
            if rep == 0:
                res["sv_restart"], _ = restart_latency(kill_names, sv.child)
            res["sv_stop"].append(sv.stop_all())
        finally:
            sv.shutdown()
        print(f"  supervisord round: start {res['sv_start'][-1]:.0f} ms", file=sys.stderr)
    return res


def cleanup_microvm(mv):
    subprocess.run(mv.cmd("stop", "--all"), capture_output=True, timeout=300)


def report(args, res):
    n = args.vms
    ncpu = os.cpu_count()
    version = subprocess.run([args.microvm, "version"], capture_output=True,
                             text=True).stdout.strip()
    sv_version = subprocess.run(["supervisord", "--version"], capture_output=True,
                                text=True).stdout.strip()
    mem = {k: statistics.median(m[k] for m in res["mem"]) for k in res["mem"][0]}
    svm = {k: statistics.median(m[k] for m in res["sv_mem"]) for k in res["sv_mem"][0]}
    obo = res["obo_mem"]
    sv_start = statistics.median(res["sv_start"])
    print(f"{version}, supervisord {sv_version}; {n} VMs, {ncpu} CPUs; "
          f"medians of {args.repeat} runs")
    print()
    print(f"start all {n}: until autostart returns (every VM ready) | until all RUNNING")
    for jobs, ms in res["start"].items():
        label = f"microvm autostart --jobs {jobs}" if jobs else \
            f"microvm autostart (--jobs {ncpu}, the default)"
        print(f"  {label:<50} {ms:8.1f} ms   supervisord/microvm {sv_start / ms:5.2f}")
    print(f"  {f'microvm start NAME, {n} times one after the other':<50} "
          f"{res['obo_start']:8.1f} ms   (once)")
    print(f"  {'supervisord, startsecs=0':<50} {sv_start:8.1f} ms   (above 1: microvm faster)")
    print(f"  (autostart --jobs {ncpu}: from {min(res['start_runs'][None]):.0f} to "
          f"{max(res['start_runs'][None]):.0f} ms; supervisord from {min(res['sv_start']):.0f} "
          f"to {max(res['sv_start']):.0f} ms)")
    print()
    print(f"memory, stand-ins excluded{'':<28}RSS MiB  PSS MiB  RSS/VM KiB  PSS/VM KiB")
    rows = [(f"microvm: {n} monitors, autostart", mem),
            (f"microvm: {n} monitors, started one by one", obo),
            ("supervisord", svm)]
    for label, m in rows:
        print(f"  {label:<50} {m['Rss'] / KIB:8.1f} {m['Pss'] / KIB:8.1f} {m['Rss'] / n:11.1f} "
              f"{m['Pss'] / n:11.1f}")
    for label, m in (("autostart / supervisord", mem), ("one by one / supervisord", obo)):
        print(f"  {label:<50} {m['Rss'] / svm['Rss']:7.1f}x {m['Pss'] / svm['Pss']:7.2f}x"
              f"   (above 1: microvm uses more)")
    print(f"  target under 1024 KiB RSS per monitor: "
          f"{'met' if mem['Rss'] / n < 1024 else 'NOT met'}")
    print(f"  one monitor (autostart): RSS {mem['Rss'] / n:.0f} KiB = anonymous "
          f"{mem['RssAnon']:.0f} + files {mem['RssFile']:.0f}; PSS = anonymous "
          f"{mem['Pss_Anon'] / n:.0f} + files {mem['Pss_File'] / n:.0f}")
    print(f"  one monitor (one by one): RSS {obo['Rss'] / n:.0f} KiB = anonymous "
          f"{obo['RssAnon']:.0f} + files {obo['RssFile']:.0f}; PSS = anonymous "
          f"{obo['Pss_Anon'] / n:.0f} + files {obo['Pss_File'] / n:.0f}")
    lone = res["lone"]
    print(f"  the monitor of a 1-VM configuration, alone: RSS {lone['Rss']} KiB = anonymous "
          f"{lone['RssAnon']} + files {lone['RssFile']}; PSS {lone['Pss']} KiB")
    print()
    k = len(res["restart"])
    print(f"restart after SIGKILL, restartDelay = 0, {k} VMs once each{'':<9}median ms    p90 ms")
    rows = [("microvm: replacement stand-in exec'd", res["restart"]),
            ("microvm: STATE/NAME/ready again", res["ready"]),
            ("supervisord (autorestart=true): stand-in exec'd", res["sv_restart"])]
    for label, v in rows:
        print(f"  {label:<54} {statistics.median(v):8.1f} {percentile(v, 90):9.1f}")
    print(f"  supervisord/microvm (exec'd): median "
          f"{statistics.median(res['sv_restart']) / statistics.median(res['restart']):.1f}x "
          f"(above 1: microvm faster)")
    print()
    stop, sv_stop = statistics.median(res["stop"]), statistics.median(res["sv_stop"])
    print(f"stop all {n} (median of {len(res['stop'])} | {len(res['sv_stop'])})")
    print(f"  {'microvm stop --all':<50} {stop:8.1f} ms   "
          f"(from {min(res['stop']):.0f} to {max(res['stop']):.0f})")
    print(f"  {'supervisorctl stop all':<50} {sv_stop:8.1f} ms   "
          f"(from {min(res['sv_stop']):.0f} to {max(res['sv_stop']):.0f})")
    print(f"  supervisorctl/microvm {sv_stop / stop:.2f} (above 1: microvm faster)")


cleanups = []


def clean_up(tmp):
    """Stop every VM and supervisord; whatever still names `tmp` after a few tries (a start
    cut short can fork a monitor after the stop) is killed, and said."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)  # a second Ctrl-C does not cut this short
    for attempt in range(4):
        for fn in reversed(cleanups):
            try:
                fn()
            except Exception as e:  # noqa: BLE001 - clean up all the same
                print(f"clean-up: {e}", file=sys.stderr)
        time.sleep(0.5 * attempt)
        left = processes_mentioning(tmp)
        if not left:
            return
    for pid in left:
        args = b" ".join(cmdline(pid)).decode(errors="replace")
        print(f"clean-up: left behind, killed: {pid} {args}", file=sys.stderr)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--microvm", default=os.path.join(ROOT, "build", "release", "src", "microvm"))
    ap.add_argument("--vms", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--kills", type=int, default=20, help="VMs to SIGKILL, once each")
    ap.add_argument("--jobs", type=int, nargs="*", default=[16],
                    help="autostart --jobs values to time besides the default")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: microvm's monitors and supervisord run the stand-ins as root")
    for tool in ("supervisord", "supervisorctl"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install supervisor")
    if not os.access(args.microvm, os.X_OK):
        sys.exit(f"{args.microvm} not found: make build")
    args.microvm = os.path.abspath(args.microvm)
    args.kills = min(args.kills, args.vms)
    # Ctrl-C and SIGTERM alike go through the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    tmp = tempfile.mkdtemp(prefix="microvm-bench-monitors-")
    os.chmod(tmp, 0o711)  # where user microvm exists, the hypervisor runs as it
    try:
        res = run(args, tmp)
        report(args, res)
    except BenchError as e:
        sys.exit(f"bench/monitors: {e}")
    finally:
        clean_up(tmp)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
