#!/usr/bin/env python3
"""Write host-eval.nix's `compact` report one option a line, keys in a fixed order."""
import json
import sys

report = json.load(sys.stdin)
print("{")
print(f'  "microvmRev": {json.dumps(report["microvmRev"])},')
print(f'  "nixpkgsLibVersion": {json.dumps(report["nixpkgsLibVersion"])},')
print('  "options": [')
lines = [
    "    " + json.dumps({k: o[k] for k in ("name", "type", "default", "module")})
    for o in sorted(report["options"], key=lambda o: o["name"])
]
print(",\n".join(lines))
print("  ]")
print("}")
