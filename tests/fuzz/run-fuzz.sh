#!/bin/sh
# Run each configuration fuzzer for SECONDS, seeded with the configuration
# corpus. New inputs it finds are kept under build/fuzz-corpus/ and seed
# the next run; a crash leaves its input in build/fuzz-crashes/.
# Usage: run-fuzz.sh BUILD_DIR SECONDS
set -eu
build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS}
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0
for kind in nix json; do
    corpus="$root/build/fuzz-corpus/$kind"
    crashes="$root/build/fuzz-crashes/"
    mkdir -p "$corpus" "$crashes"
    # libFuzzer takes directories: gather the seeds into one.
    seeds="$root/build/fuzz-seeds/$kind"
    rm -rf "$seeds"
    mkdir -p "$seeds"
    find "$root/tests/config" -name "*.$kind" -not -name '*.expected*' -exec cp {} "$seeds" \;
    echo "fuzz-config-$kind: ${seconds}s"
    if "$build/tests/fuzz/fuzz-config-$kind" -max_total_time="$seconds" -max_len=8192 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes" \
        "$corpus" "$seeds" >"$root/build/fuzz-$kind.log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units)' "$root/build/fuzz-$kind.log" || true
        echo "PASS fuzz-config-$kind"
    else
        tail -n 40 "$root/build/fuzz-$kind.log"
        echo "FAIL fuzz-config-$kind: input saved under $crashes"
        status=1
    fi
done
exit $status
