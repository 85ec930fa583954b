"""Boot the microvm test guest under qemu (TCG) and watch its console.

The guest (tests/guest/) reports what it did as marker lines on its serial
console; tests/guest/README.md lists them.  This module builds it, boots it
with a hard timeout, streams the console to a log file and waits for
markers.  Every way a boot can go wrong (timeout, qemu exiting early, qemu
not starting) raises GuestError, an AssertionError, so pytest reports a
test failure carrying the tail of the console log.  A hung boot is killed,
never retried.
"""

import json
import shlex
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "tests" / "guest" / "build-guest.sh"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
VIRTIOFSD = os.environ.get("VIRTIOFSD", "/usr/lib/qemu/virtiofsd")

# reboot=t: a reboot triple-faults, which qemu -no-reboot turns into an exit
# (also where there is no ACPI to power off).  panic=-1: a kernel panic
# reboots, and so also ends qemu, at once.
DEFAULT_PARAMS = ("console=ttyS0", "reboot=t", "panic=-1", "quiet")

TAIL_LINES = 40


class GuestError(AssertionError):
    """The guest or the harness around it did not do what was expected."""


class GuestTimeout(GuestError):
    """A marker or qemu's exit did not come in time; qemu has been killed."""


@dataclass(frozen=True)
class GuestImage:
    kernel: Path   # what to pass to -kernel (the PVH vmlinux when built)
    initrd: Path
    vmlinuz: Path  # the packaged bzImage, for bootloaders that need one


def build_guest(outdir=None, timeout=900):
    """Run build-guest.sh (a no-op when cached) and return a GuestImage."""
    cmd = [str(BUILD_SCRIPT)] + ([str(outdir)] if outdir else [])
    try:
        res = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise GuestError(f"{BUILD_SCRIPT} did not finish in {timeout} s")
    if res.returncode != 0:
        raise GuestError(f"{BUILD_SCRIPT} failed (exit {res.returncode}):\n"
                         f"{res.stderr[-4000:]}")
    paths = dict(line.split("=", 1)
                 for line in res.stdout.splitlines() if "=" in line)
    try:
        return GuestImage(kernel=Path(paths["kernel"]),
                          initrd=Path(paths["initrd"]),
                          vmlinuz=Path(paths["vmlinuz"]))
    except KeyError as e:
        raise GuestError(f"{BUILD_SCRIPT} did not report {e}:\n{res.stdout}")


def _short_tempdir(prefix):
    # Unix socket paths are limited to 107 bytes; pytest's tmp_path can be
    # longer, so sockets live in a short directory under /tmp.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


def _tail(text, n=TAIL_LINES):
    lines = text.splitlines()
    return "\n".join(lines[-n:]) if lines else "(empty)"


def _cpu_khz():
    """Host TSC rate for tsc_early_khz= (skips a slow calibration on microvm)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return int(float(line.split(":")[1]) * 1000)
    except OSError:
        pass
    return None


class Guest:
    """A qemu process running the guest, with its console captured.

    The console is appended to log_path as it arrives; lines() and the
    wait_* methods look at it.  Use boot() to create one.
    """

    def __init__(self, cmd, log_path, workdir):
        self.cmd = cmd
        self.log_path = Path(log_path)
        self._workdir = workdir
        self.qmp_path = workdir / "qmp.sock"
        self.stderr_path = self.log_path.with_name(self.log_path.name + ".qemu-stderr")
        self._text = ""
        self._cond = threading.Condition()
        self._eof = False
        self.started = time.monotonic()
        self._log = open(self.log_path, "wb")
        self._stderr = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE,
                                         stderr=self._stderr,
                                         start_new_session=True)
        except OSError as e:
            self._close_files()
            raise GuestError(f"cannot start {cmd[0]}: {e}")
        self._reader = threading.Thread(target=self._read_console, daemon=True)
        self._reader.start()

    # --- console ------------------------------------------------------------

    def _read_console(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if chunk:
                self._log.write(chunk)
                self._log.flush()
            with self._cond:
                if chunk:
                    self._text += chunk.decode("utf-8", "replace").replace("\r", "")
                else:
                    self._eof = True
                self._cond.notify_all()
            if not chunk:
                return

    @property
    def console(self):
        with self._cond:
            return self._text

    def lines(self):
        """Console lines so far, without line endings."""
        return self.console.splitlines()

    def markers(self, prefix):
        """Console lines starting with prefix (e.g. "SHARE ")."""
        return [line for line in self.lines() if line.startswith(prefix)]

    def has(self, marker):
        return bool(self.markers(marker))

    @property
    def elapsed(self):
        return time.monotonic() - self.started

    @property
    def returncode(self):
        return self.proc.poll()

    # --- waiting ------------------------------------------------------------

    def _fail(self, cls, what):
        self.kill()
        try:
            stderr = self.stderr_path.read_text(errors="replace").strip()
        except OSError:
            stderr = ""
        msg = (f"{what}\n"
               f"  after {self.elapsed:.1f} s; qemu exit status: {self.returncode}\n"
               f"  console log: {self.log_path}\n"
               f"  command: {shlex.join(self.cmd)}\n"
               f"--- last {TAIL_LINES} console lines ---\n{_tail(self.console)}")
        if stderr:
            msg += f"\n--- qemu stderr ---\n{_tail(stderr, 15)}"
        raise cls(msg)

    def wait_for(self, marker, timeout=60.0):
        """Wait for a console line starting with marker and return it.

        Raises GuestError if qemu exits first, GuestTimeout (after killing
        qemu) if it does not come within timeout seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self._text.splitlines():
                    if line.startswith(marker):
                        return line
                if self._eof:
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.5))
        if self._eof:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
            self._fail(GuestError,
                       f"qemu exited (status {self.returncode}) before the "
                       f"guest printed {marker!r}")
        self._fail(GuestTimeout,
                   f"timeout: no {marker!r} on the guest console within {timeout:g} s")

    def wait_exit(self, timeout=30.0):
        """Wait for qemu to exit and return its exit status."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._fail(GuestTimeout, f"timeout: qemu did not exit within {timeout:g} s")
        self._reader.join(5)
        self._close_files()
        return self.proc.returncode

    # --- control ------------------------------------------------------------

    def qmp(self, command, arguments=None, timeout=5.0):
        """Run one QMP command and return its "return" value."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(str(self.qmp_path))
            f = s.makefile("rw")
            f.readline()  # greeting
            for cmd in ({"execute": "qmp_capabilities"},
                        {"execute": command, **({"arguments": arguments} if arguments else {})}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "event" not in reply:
                        break
                if "error" in reply:
                    raise GuestError(f"QMP {cmd['execute']} failed: {reply['error']}")
            return reply.get("return")

    def powerdown(self):
        """Press the ACPI power button (qemu system_powerdown)."""
        self.qmp("system_powerdown")

    def kill(self):
        """Kill qemu if it still runs; safe to call more than once."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        self._reader.join(5)
        self._close_files()

    def _close_files(self):
        for f in (self._log, self._stderr):
            if not f.closed:
                f.close()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()


def boot(image, *, params=(), qemu_args=(), machine="q35", memory_mb=256,
         shared_memory=False, until="GUEST-DOWN", timeout=60.0,
         log_path=None, wait_exit=True):
    """Boot the guest under qemu TCG and wait for a console marker.

    image          GuestImage (from build_guest() or the `guest` fixture)
    params         extra kernel parameters, e.g. ["microvm.hold=5"]
    qemu_args      extra qemu arguments (devices, netdevs, ...)
    machine        "q35", "microvm" or with options, e.g. "microvm,acpi=off"
                   (accel=tcg is added; for microvm also the settings that
                   virtiofs and a fast boot need, see tests/guest/README.md)
    shared_memory  back guest RAM with shared memfd (needed by virtiofs)
    until          marker to wait for; None returns right after starting
    timeout        hard limit in seconds for this call: on expiry qemu is
                   killed and GuestTimeout raised
    log_path       console log file (default: /tmp/mvguest-*-console.log,
                   kept after the boot so that failure messages can cite it)
    wait_exit      once the marker is seen, also wait (within the same
                   timeout) for qemu to exit

    Returns the Guest (check .returncode and .lines() / .markers()).
    Raises GuestError/GuestTimeout on failure.
    """
    workdir = _short_tempdir("mvguest-")
    if log_path is None:
        log_path = workdir.with_name(workdir.name + "-console.log")
    machine_type = machine.split(",")[0]
    params = list(DEFAULT_PARAMS) + list(params)
    mem_opts = []
    if shared_memory:
        mem_opts = ["-object", f"memory-backend-memfd,id=mem,size={memory_mb}M,share=on"]
        if machine_type == "microvm":
            machine += ",memory-backend=mem"  # microvm has no NUMA support
        else:
            mem_opts += ["-numa", "node,memdev=mem"]
    extra = []
    if machine_type == "microvm":
        # libvhost-user (virtiofsd) refuses legacy virtio, microvm's default.
        extra = ["-global", "virtio-mmio.force-legacy=false"]
        if khz := _cpu_khz():
            params.append(f"tsc_early_khz={khz}")
    cmd = [QEMU,
           "-machine", f"{machine},accel=tcg",
           "-m", str(memory_mb),
           "-nodefaults", "-display", "none", "-no-reboot",
           "-serial", "stdio",
           "-qmp", f"unix:{workdir / 'qmp.sock'},server=on,wait=off",
           "-kernel", str(image.kernel),
           "-initrd", str(image.initrd),
           "-append", " ".join(params),
           *mem_opts, *extra, *qemu_args]
    g = Guest(cmd, log_path, workdir)
    if until is None:
        return g
    deadline = g.started + timeout
    g.wait_for(until, timeout)
    if wait_exit:
        g.wait_exit(max(0.1, deadline - time.monotonic()))
    return g


# --- virtiofsd ----------------------------------------------------------------

def _unix_listening(path):
    """Is some process listening on the unix socket at path?

    Read from /proc/net/unix rather than by connecting: virtiofsd serves
    exactly one connection and exits when it closes, so a probe would use
    up the share.
    """
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                fields = line.split()
                # Flags 00010000 is __SO_ACCEPTCON: a listening socket.
                if len(fields) >= 8 and fields[7] == str(path) and fields[3] == "00010000":
                    return True
    except OSError:
        pass
    return False


class Virtiofsd:
    """A virtiofsd serving one directory on a vhost-user socket.

    It serves one VM connection and exits when that VM goes away; stop()
    cleans up either way (process, socket, and its temporary directory,
    which holds the default log).  Usable as a context manager.
    """

    def __init__(self, source, socket_path=None, *, cache="auto", log_path=None,
                 extra_args=()):
        self.source = Path(source)
        self._dir = _short_tempdir("mvfs-")
        self.socket_path = Path(socket_path) if socket_path else self._dir / "vfs.sock"
        self.log_path = Path(log_path) if log_path else self._dir / "virtiofsd.log"
        self.cmd = [VIRTIOFSD, f"--socket-path={self.socket_path}",
                    "-o", f"source={self.source}", "-o", f"cache={cache}",
                    *extra_args]
        self.proc = None

    def start(self, timeout=10.0):
        if not os.access(VIRTIOFSD, os.X_OK):
            raise GuestError(f"virtiofsd not found at {VIRTIOFSD} "
                             "(apt-get install qemu-system-common, or set VIRTIOFSD)")
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while not _unix_listening(self.socket_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                why = (f"exited with status {self.proc.returncode}"
                       if self.proc.returncode is not None
                       else f"not listening after {timeout:g} s")
                log = _tail(self.log_path.read_text(errors="replace"), 15)
                self.stop()
                raise GuestError(f"virtiofsd {why}: {shlex.join(self.cmd)}\n{log}")
            time.sleep(0.02)
        return self

    def stop(self, timeout=5.0):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.proc and not self._log.closed:
            self._log.close()
        try:
            self.socket_path.unlink()
        except OSError:
            pass
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_virtiofsd(source, socket_path=None, *, timeout=10.0, **kwargs):
    """Start virtiofsd on source and wait until its socket listens."""
    return Virtiofsd(source, socket_path, **kwargs).start(timeout)


def virtiofs_args(socket_path, tag, *, transport="pci"):
    """qemu arguments for a virtiofs device (needs boot(shared_memory=True)).

    transport "pci" for q35/pc, "mmio" for the microvm machine.
    """
    dev = "vhost-user-fs-pci" if transport == "pci" else "vhost-user-fs-device"
    return ["-chardev", f"socket,id=vfs-{tag},path={socket_path}",
            "-device", f"{dev},chardev=vfs-{tag},tag={tag}"]
