"""The configuration corpus: tests/config/{valid,invalid}.

Each valid configuration must pass `microvm check` and evaluate to exactly
its NAME.expected.json (`microvm eval --json`); each invalid one must fail
with exit status 2 and exactly the message in NAME.expected. Run with
UPDATE_GOLDEN=1 to rewrite the expected files after a deliberate change,
then review the diff.
"""
import glob
import os
import re
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "config")
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def cases(kind):
    files = sorted(glob.glob(os.path.join(CORPUS, kind, "*.nix")) +
                   glob.glob(os.path.join(CORPUS, kind, "*.json")))
    return [os.path.relpath(f, CORPUS) for f in files if ".expected" not in f]


def run(microvm, *args):
    # Relative paths from the corpus directory keep messages machine-independent.
    env = dict(os.environ, NO_COLOR="1")
    env.pop("MICROVM_CONFIG", None)
    return subprocess.run([microvm, *args], cwd=CORPUS, capture_output=True, text=True,
                          timeout=30, env=env)


def expected_file(case, suffix):
    return os.path.join(CORPUS, os.path.splitext(case)[0] + suffix)


def compare(path, got):
    # Absolute paths in values depend on where the tree is checked out.
    got = got.replace(CORPUS, "@CORPUS@")
    if UPDATE:
        with open(path, "w", encoding="utf-8") as f:
            f.write(got)
    with open(path, encoding="utf-8") as f:
        assert got == f.read()



@pytest.mark.parametrize("case", cases("valid"))
def test_valid_configuration(microvm, case):
    check = run(microvm, "--config", case, "check")
    assert check.returncode == 0, check.stderr
    assert check.stdout.startswith(f"{case}: OK")
    ev = run(microvm, "--config", case, "eval", "--json")
    assert ev.returncode == 0, ev.stderr
    assert ev.stderr == ""
    compare(expected_file(case, ".expected.json"), ev.stdout)


@pytest.mark.parametrize("case", cases("invalid"))
def test_invalid_configuration(microvm, case):
    r = run(microvm, "--config", case, "check")
    assert r.returncode == 2, f"exit {r.returncode}: {r.stdout}{r.stderr}"
    assert r.stdout == ""
    # Every message names the file, line and column.
    assert re.match(r"microvm: error: \S+:\d+:\d+: ", r.stderr), r.stderr
    compare(expected_file(case, ".expected"), r.stderr)
    # eval refuses the same configuration the same way: no partial result.
    e = run(microvm, "--config", case, "eval")
    assert e.returncode == 2 and e.stdout == ""


def test_corpus_is_complete():
    for kind in ("valid", "invalid"):
        for case in cases(kind):
            suffix = ".expected.json" if kind == "valid" else ".expected"
            assert os.path.exists(expected_file(case, suffix)), f"{case} has no {suffix}"


@pytest.mark.parametrize("example", ["host.nix", "host.json"])
def test_examples_are_valid(microvm, example):
    path = os.path.join(ROOT, "examples", example)
    r = run(microvm, "--config", path, "check")
    assert r.returncode == 0, r.stderr


def test_options_cover_the_seed(microvm):
    """Every option of the seed reference is documented, with its seed type."""
    seed = os.path.join(ROOT, "..", "shared", "seed", "000_72a9a58603b40948.txt")
    if not os.path.exists(seed):
        pytest.skip("the seed option reference is not beside this checkout")
    with open(seed, encoding="utf-8") as f:
        lines = f.read().splitlines()
    names = [lines[i] for i in range(len(lines))
             if lines[i].startswith("microvm.") and " " not in lines[i]
             and i + 1 < len(lines) and lines[i + 1] == ""]
    assert len(names) >= 17
    for name in names:
        r = run(microvm, "options", name)
        assert r.returncode == 0, f"{name}: {r.stderr}"
        assert r.stdout.startswith(name + "\n")
        seed_type = lines[lines.index(name) + 1:].__iter__()
        want = next(line for line in seed_type if line.startswith("Type: "))
        # The seed typesets quotes; the option text uses plain ones.
        want = want.replace("\u201c", '"').replace("\u201d", '"')
        got = next(line for line in r.stdout.splitlines() if line.startswith("Type: "))
        assert lib_words(want) == lib_words(got), f"{name}: {want!r} not in\n{r.stdout}"


def lib_words(type_line):
    """A type as newer nixpkgs lib words it: types.path reads "absolute path" since the
    seed, and lib versions differ in their parentheses."""
    words = type_line.replace("(", "").replace(")", "")
    return re.sub(r"(?<!absolute )\bpath\b", "absolute path", words)
