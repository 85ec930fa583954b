#!/bin/sh
# Fails when a C file in src/ or tests/ differs from what clang-format makes of it.
set -eu
root=${1:?usage: format-check.sh SOURCE_ROOT}
cd "$root"
files=$(find src tests -name '*.[ch]' -not -path 'tests/lint/fixtures/*' | sort)
# shellcheck disable=SC2086 # one argument per file
if clang-format --dry-run -Werror $files; then
    echo "$(echo "$files" | wc -l) files formatted"
else
    echo "run 'make format' to fix the files above"
    exit 1
fi
