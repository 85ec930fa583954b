#!/usr/bin/env python3
"""Fail when C sources call a function the project has banned.

system(), popen()                    build a shell command line: argv vectors only.
sprintf(), vsprintf(), strcpy(),
strcat(), gets()                     no bound on the destination.

Comments, string and character literals are stripped first, so prose and
messages may name them.
"""
import os
import re
import sys

BANNED = ("system", "popen", "sprintf", "vsprintf", "strcpy", "strcat", "gets")
CALL = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(BANNED) + r")\s*\(")
# One alternative per token kind; only code is kept, literals become "".
TOKENS = re.compile(
    r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|[^/"\']+|.',
    re.S,
)


def strip(text):
    out = []
    for m in TOKENS.finditer(text):
        tok = m.group(0)
        if tok.startswith(("//", "/*")):
            out.append("\n" * tok.count("\n"))  # keep line numbers
        elif tok[0] in "\"'":
            out.append('""')
        else:
            out.append(tok)
    return "".join(out)


def sources(paths):
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        for root, _, files in os.walk(path):
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    yield os.path.join(root, name)


def main(argv):
    if len(argv) < 2:
        print("usage: banned-functions.py PATH...", file=sys.stderr)
        return 2
    found = 0
    checked = 0
    for path in sources(argv[1:]):
        checked += 1
        with open(path, encoding="utf-8") as f:
            code = strip(f.read())
        for lineno, line in enumerate(code.split("\n"), 1):
            for m in CALL.finditer(line):
                print(f"{path}:{lineno}: banned function {m.group(1)}()")
                found += 1
    if found:
        print(f"{found} call(s) of banned functions; see the list in {argv[0]}")
        return 1
    print(f"no banned functions in {checked} files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
