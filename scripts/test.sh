#!/usr/bin/env bash
# `make test`: every test, in order, then one closing line with the totals
# of every test runner (cargo's own last line covers only its doc tests).
set -uo pipefail
cd "$(dirname "$0")/.."

# Each step says when it starts, in seconds since the test command began.
step() { printf '\n== %s  [%ss]\n' "$*" "$SECONDS"; }
fail() { printf '\ntest: FAILED at: %s\n' "$*"; exit 1; }

step "bootstrap"
scripts/bootstrap.sh || fail bootstrap
# Node.js 22 (from .tools/ where the machine's is older), cargo's tools.
source scripts/toolchain.sh

step "format and lint (native; the Worker and the npm core for wasm32)"
cargo fmt --check || fail "cargo fmt --check"
cargo clippy --quiet --all-targets -- -D warnings || fail clippy
# For wasm32: the core alone (no shell), then with each wasm shell.
for feature in "" worker js; do
  cargo clippy --quiet --lib --target wasm32-unknown-unknown --no-default-features --features "$feature" -- -D warnings ||
    fail "clippy (wasm32 ${feature:-core})"
done

step "signature vectors are what their generator (Python hmac, checked by openssl) writes"
python3 tests/vectors/generate_signatures.py --check || fail "vectors"

step "build the npm package (wasm-bindgen, wasm-opt, esbuild), the debugger page, and the Worker"
scripts/build-npm.sh || fail "npm build"
scripts/build-page.sh || fail "page build"
# The Worker is built as a deploy builds it: wrangler runs
# scripts/build-worker.sh (worker-build), then bundles. Its output is what
# tests/worker/deploy.test.mjs checks the README against.
dry_run_log=target/wrangler-dry-run.log
node_modules/.bin/wrangler deploy --dry-run --outdir target/wrangler-dry-run >"$dry_run_log" 2>&1 ||
  { cat "$dry_run_log"; fail "wrangler deploy --dry-run"; }
grep -E '^Total Upload' "$dry_run_log"

step "sizes within their budgets (bench/budgets.json)"
node bench/sizes.mjs --check || fail "size budget"

# Fuzzing compiles for a minute (nightly, sanitizers): it runs beside the
# tests below, at the lowest priority, so it takes only the CPU they leave
# while they wait on their servers. Its output comes at the end.
step "fuzz: started in the background (its output comes at the end)"
log=$(mktemp)
fuzz_log=$(mktemp)
# Its own process group, so that a test command that stops early stops it.
setsid nice -n 19 scripts/fuzz.sh 5 >"$fuzz_log" 2>&1 &
fuzz_pid=$!
trap 'kill -- -"$fuzz_pid" 2>/dev/null; rm -f "$log" "$fuzz_log"' EXIT

step "Rust tests (cargo test)"
cargo test 2>&1 | tee -a "$log"
rust=${PIPESTATUS[0]}

# suite NAME NODE_VERSION FILES...: one `node --test` run, on that Node.js,
# given files (never a bare directory, which newer Node.js reads as a module
# name and runs nothing). A suite that runs no test fails.
js=0
suite() {
  local name=$1 version=$2 out
  shift 2
  step "JS: $name (Node.js $version)"
  out=$(mktemp)
  PATH="$(node_bin "$version"):$PATH" node --test --test-concurrency=4 --test-reporter=spec "$@" 2>&1 | tee "$out" | tee -a "$log"
  local status=${PIPESTATUS[0]} ran
  ran=$(awk '/^ℹ tests / { print $3 }' "$out")
  rm -f "$out"
  if [ "${ran:-0}" -eq 0 ]; then
    printf 'test: the suite "%s" ran no test\n' "$name"
    status=1
  fi
  [ "$status" -eq 0 ] || js=1
}
suite "the Worker in workerd (Miniflare), the debugger page and the console in Chromium" "$NODE_VERSION" \
  tests/worker/*.test.mjs tests/page/*.test.mjs
suite "the npm package in Node.js and in Chromium" "$NODE_VERSION" tests/npm/*.test.mjs
# The package's Node.js suite again on the other lines it supports (the
# Chromium test is left out: Playwright itself needs Node.js 20; so is the
# imports test, whose tools, wrangler, Miniflare and Vite, need Node.js 22).
for version in $PACKAGE_NODE_VERSIONS; do
  [ "$version" = "$NODE_VERSION" ] && continue
  suite "the npm package in Node.js" "$version" $(ls tests/npm/*.test.mjs | grep -v -e '/browser\.test\.mjs$' -e '/imports\.test\.mjs$')
done

step "fuzz: every target for 5 s from the seeds and the kept failing inputs (scripts/fuzz.sh; longer: make fuzz)"
wait "$fuzz_pid"
fuzz=$?
cat "$fuzz_log"
[ "$fuzz" -eq 0 ] || printf 'test: fuzzing FAILED\n'

awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  /^ℹ pass / { p += $3 }  /^ℹ fail / { f += $3 }
  END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
printf 'time: %s s\n' "$SECONDS"
[ "$rust" -eq 0 ] && [ "$js" -eq 0 ] && [ "$fuzz" -eq 0 ]
