#!/bin/sh
# Run each fuzz harness for SECONDS, seeded with the configuration corpus
# (configuration readers) or tests/fuzz/seeds/NAME (the others). New
# inputs it finds are kept under build/fuzz-corpus/ and seed the next run;
# a crash leaves its input in build/fuzz-crashes/.
# Usage: run-fuzz.sh BUILD_DIR SECONDS
set -eu
build=${1:?usage: run-fuzz.sh BUILD_DIR SECONDS}
seconds=${2:?usage: run-fuzz.sh BUILD_DIR SECONDS}
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0
for name in config-nix config-json notify http-response runner-metadata balloon-answers; do
    corpus="$root/build/fuzz-corpus/$name"
    crashes="$root/build/fuzz-crashes/"
    mkdir -p "$corpus" "$crashes"
    # libFuzzer takes directories: gather the seeds into one.
    seeds="$root/build/fuzz-seeds/$name"
    rm -rf "$seeds"
    mkdir -p "$seeds"
    case $name in
    config-*)
        find "$root/tests/config" -name "*.${name#config-}" -not -name '*.expected*' \
            -exec cp {} "$seeds" \; ;;
    *) cp "$root/tests/fuzz/seeds/$name/"* "$seeds" ;;
    esac
    echo "fuzz-$name: ${seconds}s"
    if "$build/tests/fuzz/fuzz-$name" -max_total_time="$seconds" -max_len=8192 \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$crashes" \
        "$corpus" "$seeds" >"$root/build/fuzz-$name.log" 2>&1; then
        grep -E '^(Done|stat::number_of_executed_units)' "$root/build/fuzz-$name.log" || true
        echo "PASS fuzz-$name"
    else
        tail -n 40 "$root/build/fuzz-$name.log"
        echo "FAIL fuzz-$name: input saved under $crashes"
        status=1
    fi
done
exit $status
