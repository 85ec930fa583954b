#!/usr/bin/python3
"""Run every test suite and end with one closing line: `N passed, N failed`.

Usage: run-tests.py [--build DIR]... [--fuzz DIR] [--e2e-binary PATH] [-k EXPR]

- the meson suites (unit tests, lint) of each build directory given;
- a short run of each fuzz harness of the fuzzer build;
- the root filesystem the systemd tests boot in systemd-nspawn, built once and cached
  (tests/nspawn/build-rootfs.sh), before the end-to-end tests;
- the end-to-end tests (pytest, tests/e2e) against one microvm binary, twice: as the
  machine is, and with user microvm and group kvm created for the run (the hypervisors
  then run as microvm:kvm); the nspawn harness's own tests run in the first pass only.

Exit status 0 when nothing failed, 1 otherwise.
"""
import argparse
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A hung end-to-end run must end as a failure, not eat CI's budget.
E2E_DEADLINE_S = 25 * 60
# A first build of the nspawn rootfs takes a few minutes (debootstrap).
ROOTFS_DEADLINE_S = 30 * 60


def run_meson(build):
    """Run one build's meson tests; return (passed, failed, skipped)."""
    name = os.path.basename(build.rstrip("/"))
    print(f"==> meson tests ({name})", flush=True)
    subprocess.run(["meson", "test", "-C", build, "--print-errorlogs"], check=False)
    log = os.path.join(build, "meson-logs", "testlog.json")
    passed = failed = skipped = 0
    try:
        with open(log, encoding="utf-8") as f:
            results = [json.loads(line) for line in f if line.strip()]
    except OSError as e:
        print(f"run-tests: no results from {build}: {e}", file=sys.stderr)
        return 0, 1, 0
    for r in results:
        if r["result"] in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r["result"] == "SKIP":
            skipped += 1
        else:
            failed += 1
            print(f"FAILED ({name}): {r['name']}: {r['result']}")
    return passed, failed, skipped


def run_pytest(binary, keyword, label="", junit_name="e2e-junit.xml", skip_files=()):
    """Run the end-to-end tests; return (passed, failed, skipped)."""
    print(f"==> end-to-end tests{label} (microvm binary: {binary})", flush=True)
    junit = os.path.join(ROOT, "build", junit_name)
    if os.path.exists(junit):
        os.unlink(junit)
    env = dict(os.environ, MICROVM=binary)
    cmd = ["/usr/bin/python3", "-m", "pytest", "-ra", "-p", "no:cacheprovider",
           f"--junitxml={junit}", os.path.join(ROOT, "tests", "e2e")]
    if keyword:
        cmd += ["-k", keyword]
    cmd += [f"--ignore={os.path.join(ROOT, 'tests', 'e2e', f)}" for f in skip_files]
    try:
        subprocess.run(cmd, cwd=ROOT, env=env, check=False, timeout=E2E_DEADLINE_S)
    except subprocess.TimeoutExpired:
        print(f"run-tests: end-to-end tests exceeded {E2E_DEADLINE_S} s and were stopped")
        return 0, 1, 0
    try:
        suites = ET.parse(junit).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"run-tests: no end-to-end results: {e}", file=sys.stderr)
        return 0, 1, 0
    total = failed = skipped = 0
    for s in suites.iter("testsuite"):
        total += int(s.get("tests", 0))
        failed += int(s.get("failures", 0)) + int(s.get("errors", 0))
        skipped += int(s.get("skipped", 0))
    return total - failed - skipped, failed, skipped


def build_nspawn_rootfs():
    """Build (or find cached) the nspawn rootfs outside the end-to-end deadline; return
    (passed, failed, skipped). A failure is counted here; the tests needing it fail too."""
    print("==> nspawn rootfs (tests/nspawn/build-rootfs.sh)", flush=True)
    if os.geteuid() != 0:
        print("run-tests: not root: no nspawn rootfs (the systemd tests skip)")
        return 0, 0, 1
    script = os.path.join(ROOT, "tests", "nspawn", "build-rootfs.sh")
    try:
        r = subprocess.run([script], stdin=subprocess.DEVNULL, check=False,
                           timeout=ROOTFS_DEADLINE_S)
    except subprocess.TimeoutExpired:
        print(f"run-tests: the nspawn rootfs build exceeded {ROOTFS_DEADLINE_S} s")
        return 0, 1, 0
    if r.returncode != 0:
        print(f"run-tests: the nspawn rootfs build failed (exit {r.returncode})")
        return 0, 1, 0
    return 0, 0, 0


def account_exists(kind, name):
    return subprocess.run(["getent", kind, name], capture_output=True).returncode == 0


def run_pytest_as_microvm(binary, keyword):
    """The same tests with user microvm and group kvm present, as docs/running.md tells every
    host to have them: started as root, the hypervisors then run as microvm:kvm. Created for
    this pass and removed after it; what existed before is left alone."""
    if os.geteuid() != 0:
        print("run-tests: not root: the pass with microvm:kvm is skipped")
        return 0, 0, 1
    made = []
    try:
        if not account_exists("group", "kvm"):
            subprocess.run(["groupadd", "--system", "kvm"], check=True)
            made.append(("groupdel", "kvm"))
        if not account_exists("passwd", "microvm"):
            subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                            "/usr/sbin/nologin", "-g", "kvm", "microvm"], check=True)
            made.insert(0, ("userdel", "microvm"))
        # Tests in a container (whose tree has no microvm user) and of the generated units
        # involve no VM user of this host: once is enough.
        return run_pytest(binary, keyword, " with the hypervisor as microvm:kvm",
                          "e2e-microvm-junit.xml",
                          skip_files=["test_nspawn_smoke.py", "test_nspawn_units.py",
                                      "test_nspawn_logs.py", "test_units.py"])
    finally:
        for cmd in made:
            subprocess.run(list(cmd), check=False)


def run_fuzz(build, seconds):
    """Short fuzzing runs of every harness; return (passed, failed, skipped)."""
    print(f"==> fuzzing ({seconds} s per harness)", flush=True)
    script = os.path.join(ROOT, "tests", "fuzz", "run-fuzz.sh")
    r = subprocess.run([script, build, str(seconds)], capture_output=True, text=True,
                       check=False)
    print(r.stdout, end="")
    print(r.stderr, end="", file=sys.stderr)
    passed = sum(1 for line in r.stdout.splitlines() if line.startswith("PASS "))
    failed = sum(1 for line in r.stdout.splitlines() if line.startswith("FAIL "))
    if r.returncode != 0 and failed == 0:
        failed = 1
    return passed, failed, 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", action="append", default=[],
                    help="meson build directory whose tests to run (repeatable)")
    ap.add_argument("--e2e-binary", help="microvm binary for the end-to-end tests")
    ap.add_argument("-k", dest="keyword", help="only end-to-end tests matching this expression")
    ap.add_argument("--no-microvm-pass", action="store_true",
                    help="run the end-to-end tests once, as the machine is, not again with "
                         "user microvm and group kvm")
    ap.add_argument("--fuzz", metavar="BUILD", help="fuzzer build directory to run briefly")
    ap.add_argument("--fuzz-seconds", type=int, default=20, help="seconds per fuzz harness")
    args = ap.parse_args()

    totals = [0, 0, 0]
    for build in args.build:
        for i, n in enumerate(run_meson(build)):
            totals[i] += n
    if args.fuzz:
        for i, n in enumerate(run_fuzz(args.fuzz, args.fuzz_seconds)):
            totals[i] += n
    if args.e2e_binary:
        binary = os.path.abspath(args.e2e_binary)
        runs = [build_nspawn_rootfs(), run_pytest(binary, args.keyword)]
        if not args.no_microvm_pass:
            runs.append(run_pytest_as_microvm(binary, args.keyword))
        for result in runs:
            for i, n in enumerate(result):
                totals[i] += n

    passed, failed, skipped = totals
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
