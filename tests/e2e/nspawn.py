"""Boot a real systemd as PID 1 in systemd-nspawn and drive it.

The root filesystem (tests/nspawn/build-rootfs.sh, cached under
build/nspawn-rootfs) is booted read-only under a tmpfs overlay
(`--volatile=overlay`): every container starts from the same tree, writes
vanish with it, and nothing needs copying or removing.  These machines have
no systemd and no system bus, so the container is not registered
(`--register=no --keep-unit`).  It has a network namespace of its own
(`--private-network`) and the host's /dev/net/tun, so taps made inside stay
inside.  Everything inside is reached with nsenter into all namespaces of
the container's PID 1, whose host pid nspawn reports over its notify socket.  Every wait is bounded: a boot, a command or a
shutdown that hangs raises ContainerError, an AssertionError, so pytest
reports a failure carrying the tail of the container's console.
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "tests" / "nspawn" / "build-rootfs.sh"
NSPAWN = "systemd-nspawn"
BOOT_TIMEOUT = 60.0
KILL_TIMEOUT = 30.0
# Inside the container: its own tools first, and no pager or colours.
CONTAINER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 "LANG": "C.UTF-8", "TERM": "dumb", "SYSTEMD_PAGER": "", "SYSTEMD_COLORS": "0"}
TAIL_LINES = 40


class ContainerError(AssertionError):
    """The container or the harness around it did not do what was expected."""


def build_rootfs(outdir=None, timeout=1800):
    """Run build-rootfs.sh (a no-op when cached) and return the rootfs path."""
    cmd = [str(BUILD_SCRIPT)] + ([str(outdir)] if outdir else [])
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ContainerError(f"{BUILD_SCRIPT} did not finish in {timeout} s")
    if res.returncode != 0:
        raise ContainerError(f"{BUILD_SCRIPT} failed (exit {res.returncode}):\n"
                             f"{res.stderr[-4000:]}")
    for line in res.stdout.splitlines():
        if line.startswith("rootfs="):
            return Path(line.split("=", 1)[1])
    raise ContainerError(f"{BUILD_SCRIPT} did not report rootfs=:\n{res.stdout}")


def unusable_reason():
    """Why systemd-nspawn cannot boot a container on this machine, or None.

    Only what the machine lacks counts; a missing package is a failure
    (scripts/install-deps.sh installs it), not a reason to skip."""
    if os.geteuid() != 0:
        return "systemd-nspawn needs root"
    for ns in ("pid", "mnt", "uts", "ipc", "net"):
        if not os.path.exists(f"/proc/self/ns/{ns}"):
            return f"the kernel has no {ns} namespaces"
    return None


def wait_until(predicate, timeout, what):
    """Poll predicate() until it returns something true, and return that.
    The timeout only turns a hang into a failure naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ContainerError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Container:
    """A systemd-nspawn container with systemd as its PID 1.

    rootfs    the tree to boot read-only under a tmpfs overlay (build_rootfs())
    name      the machine name and hostname (default: mvtest-RANDOM)
    bind      host paths bound read-write, at the same path inside
    bind_ro   host paths bound read-only, at the same path inside
    kvm       bind /dev/kvm too (an error where the host has none)
    log_path  where the console goes (default: a file stop() removes)

    Use boot() to create one and stop() (always) to end it."""

    def __init__(self, rootfs, *, name=None, bind=(), bind_ro=(), kvm=False, log_path=None):
        self.rootfs = Path(rootfs)
        self.name = name or f"mvtest-{uuid.uuid4().hex[:8]}"
        self.cmd = [NSPAWN, "--quiet", "--boot", f"--directory={self.rootfs}",
                    f"--machine={self.name}", "--register=no", "--keep-unit",
                    "--volatile=overlay", "--console=pipe", "--notify-ready=yes",
                    "--private-network", "--bind=/dev/net/tun"]
        if kvm:
            if not os.path.exists("/dev/kvm"):
                raise ContainerError("a container with /dev/kvm asked for, and the host has none")
            self.cmd.append("--bind=/dev/kvm")
        self.cmd += [f"--bind={p}" for p in bind]
        self.cmd += [f"--bind-ro={p}" for p in bind_ro]
        self.leader = None  # host pid of the container's PID 1
        self._leader_fd = None
        self.proc = None
        self._workdir = Path(tempfile.mkdtemp(prefix="mvnspawn-", dir="/tmp"))
        # The console; by default in the work directory, which stop() removes.
        self.log_path = Path(log_path) if log_path else self._workdir / "console.log"

    # --- life cycle ----------------------------------------------------------

    def start(self, timeout=BOOT_TIMEOUT):
        """Start nspawn and wait until the container's systemd has finished
        booting; raise ContainerError on anything else."""
        notify_path = self._workdir / "notify"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        try:
            sock.bind(str(notify_path))
            env = dict(os.environ, NOTIFY_SOCKET=str(notify_path))
            with open(self.log_path, "wb") as log:
                # Its own session: stop() can end nspawn and all it started.
                self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, env=env,
                                             start_new_session=True)
            self._await_ready(sock, time.monotonic() + timeout)
        finally:
            sock.close()
        state = self.run(["timeout", str(int(timeout)), "systemctl", "is-system-running",
                          "--wait"], check=False, timeout=timeout + 5).stdout.strip()
        if state != "running":
            failed = self.systemctl("--failed", "--plain", "--no-legend", check=False).stdout
            raise ContainerError(f"the container's systemd is {state or 'not answering'}, "
                                 f"not running; failed units:\n{failed}\n{self.describe()}")
        return self

    def _await_ready(self, sock, deadline):
        # nspawn names the leader as soon as it exists (X_NSPAWN_LEADER_PID)
        # and says READY=1 once the container's systemd has said it.
        ready = False
        while not (ready and self.leader):
            if self.proc.poll() is not None:
                raise ContainerError(f"{NSPAWN} exited with status {self.proc.returncode} "
                                     f"before the container was up\n{self.describe()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise ContainerError(f"the container did not boot in time\n{self.describe()}")
            sock.settimeout(min(left, 0.5))
            try:
                msg = sock.recv(4096).decode(errors="replace")
            except socket.timeout:
                continue
            for line in msg.splitlines():
                if line == "READY=1":
                    ready = True
                elif line.startswith("X_NSPAWN_LEADER_PID="):
                    self.leader = int(line.split("=", 1)[1])
                    self._leader_fd = os.pidfd_open(self.leader)

    def stop(self, timeout=30.0):
        """Power the container off (SIGTERM to nspawn asks its systemd to
        halt); kill it when that does not end it in time.  Idempotent."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill()
        if self._leader_fd is not None:
            os.close(self._leader_fd)
            self._leader_fd = None
        # What nspawn leaves when it does not get to clean up (named after us).
        shutil.rmtree(f"/run/systemd/nspawn/propagate/{self.name}", ignore_errors=True)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _kill(self):
        # nspawn killed alone would leave its PID 1 running.  Killing PID 1
        # takes its pid namespace with it; nspawn then exits on its own.
        if self._leader_fd is not None:
            try:
                signal.pidfd_send_signal(self._leader_fd, signal.SIGKILL)
            except ProcessLookupError:
                pass
            if not select.select([self._leader_fd], [], [], KILL_TIMEOUT)[0]:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise ContainerError(f"the container's PID 1 ({self.leader}) survived "
                                     f"SIGKILL for {KILL_TIMEOUT} s")
        try:
            self.proc.wait(KILL_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- inside the container ----------------------------------------------

    def nsenter(self, argv):
        """The command line that runs argv in all of the container's namespaces."""
        if self.leader is None:
            raise ContainerError("the container is not running")
        return ["nsenter", f"--target={self.leader}", "--all", "--", *argv]

    def run(self, argv, *, check=True, input=None, timeout=30.0):
        """Run argv inside the container; return the CompletedProcess (text).
        With check, a non-zero exit raises ContainerError with its output."""
        try:
            res = subprocess.run(self.nsenter(argv), input=input, capture_output=True,
                                 text=True, timeout=timeout, env=CONTAINER_ENV,
                                 stdin=None if input is not None else subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            raise ContainerError(f"{argv} did not finish in {timeout} s inside the container:"
                                 f"\n{e.stdout or ''}{e.stderr or ''}")
        if check and res.returncode != 0:
            raise ContainerError(f"{argv} failed inside the container (exit {res.returncode})"
                                 f":\n{res.stdout}{res.stderr}")
        return res

    def systemctl(self, *args, check=True, timeout=30.0):
        return self.run(["systemctl", "--no-pager", *args], check=check, timeout=timeout)

    def show(self, unit, prop):
        """One property of a unit, as `systemctl show -P` prints it."""
        return self.systemctl("show", "-P", prop, unit).stdout.strip()

    def daemon_reload(self):
        self.systemctl("daemon-reload")

    def journal(self, unit):
        """What the journal holds for a unit (its messages only)."""
        return self.run(["journalctl", "--no-pager", "-o", "cat", "-u", unit]).stdout

    def write_file(self, path, text, mode=0o644):
        """Write text to path inside the container, making its directory.
        The path and mode are arguments of a fixed script, never its text."""
        self.run(["sh", "-c", 'mkdir -p -- "$(dirname -- "$1")" && cat >"$1" && chmod "$2" "$1"',
                  "sh", str(path), format(mode, "o")], input=text)

    def describe(self):
        """The command and the tail of the console, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            text = ""
        lines = text.splitlines()[-TAIL_LINES:]
        return (f"  command: {' '.join(self.cmd)}\n"
                f"  PID 1: {self.leader} (a shell inside: nsenter -t {self.leader} -a bash)\n"
                f"  console ({self.log_path}):\n" + "\n".join(lines or ["(empty)"]))


def boot(rootfs, **kwargs):
    """Boot a container (see Container for the arguments) and return it running.
    On any failure the container is stopped before the error propagates."""
    c = Container(rootfs, **kwargs)
    try:
        return c.start()
    except BaseException:
        c.stop()
        raise


def main():
    """A shell in a fresh container, for debugging: the container goes when it ends."""
    import argparse
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--bind", action="append", default=[], help="host path, read-write")
    ap.add_argument("--bind-ro", action="append", default=[], help="host path, read-only")
    ap.add_argument("--kvm", action="store_true", help="bind /dev/kvm too")
    args = ap.parse_args()
    c = boot(build_rootfs(), bind=args.bind, bind_ro=args.bind_ro, kvm=args.kvm)
    try:
        print(f"container {c.name}, PID 1 is {c.leader} on the host; console: {c.log_path}")
        subprocess.run(c.nsenter(["bash", "-l"]), env=dict(CONTAINER_ENV, TERM=os.environ.get(
            "TERM", "dumb")), check=False)
    finally:
        c.stop()


if __name__ == "__main__":
    main()
