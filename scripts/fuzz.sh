#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each (default 5),
# from the committed seeds (fuzz/corpus/, made from the test vectors) plus
# the committed inputs that once failed (fuzz/regressions/), which libFuzzer
# runs first, so a known failing input fails the short run at once.
# New inputs go to target/fuzz-corpus/, never into the repository; a crash
# stops the run and leaves its input in fuzz/artifacts/ (copy it into
# fuzz/regressions/<target>/ with the fix).
#
#   scripts/fuzz.sh          # the test command's short run
#   make fuzz                # the long run: scripts/fuzz.sh 600, ten minutes per target
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
seconds=${1:-5}
cargo +nightly fuzz build -O >/dev/null 2>&1 || cargo +nightly fuzz build -O
for target in $(cargo +nightly fuzz list); do
  scratch="target/fuzz-corpus/$target"
  kept="fuzz/regressions/$target"
  mkdir -p "$scratch" "$kept"
  log="target/fuzz-$target.log"
  if ! cargo +nightly fuzz run -O "$target" "$scratch" "fuzz/corpus/$target" "$kept" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz: $target FAILED (input in fuzz/artifacts/$target/)"
    exit 1
  fi
  runs=$(grep -m1 -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  echo "fuzz: $target ok, $runs executions in ${seconds}s, no crash"
done
