#!/usr/bin/env bash
# `make bench`: builds what ships, runs the native benchmarks (criterion),
# then prints the whole table (bench/report.mjs). Bounded: a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh >/dev/null
source scripts/toolchain.sh
scripts/build-npm.sh >/dev/null
scripts/build-worker.sh >/dev/null 2>&1
cargo bench --quiet --bench core -- --warm-up-time 1 --measurement-time 2 >target/bench-core.log 2>&1 ||
  { cat target/bench-core.log; exit 1; }
node bench/report.mjs
