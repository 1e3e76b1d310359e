#!/usr/bin/env bash
# `make test`: every test, in order, then one closing line with the totals
# of every test runner (cargo's own last line covers only its doc tests).
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\ntest: FAILED at: %s\n' "$*"; exit 1; }

step "bootstrap"
scripts/bootstrap.sh || fail bootstrap

step "format and lint (native; the Worker and the npm core for wasm32)"
cargo fmt --check || fail "cargo fmt --check"
cargo clippy --quiet --all-targets -- -D warnings || fail clippy
for feature in worker js; do
  cargo clippy --quiet --lib --target wasm32-unknown-unknown --no-default-features --features "$feature" -- -D warnings ||
    fail "clippy ($feature)"
done

step "signature vectors are what their generator (Python hmac, checked by openssl) writes"
python3 tests/vectors/generate_signatures.py --check || fail "vectors"

step "the core builds for wasm32-unknown-unknown"
cargo build --quiet --lib --release --target wasm32-unknown-unknown --no-default-features || fail "wasm build"

step "build the npm package (wasm-bindgen, wasm-opt, esbuild), the debugger page, and the Worker (worker-build)"
scripts/build-npm.sh || fail "npm build"
scripts/build-page.sh || fail "page build"
scripts/build-worker.sh >/tmp/reamaze-bridge-worker-build.log 2>&1 ||
  { cat /tmp/reamaze-bridge-worker-build.log; fail "worker build"; }

step "sizes within their budgets (bench/budgets.json)"
node bench/sizes.mjs --check || fail "size budget"

step "fuzz: every target for 5 s from the seed corpus (scripts/fuzz.sh; longer: scripts/fuzz.sh 600)"
scripts/fuzz.sh 5 || fail "fuzzing"

log=$(mktemp)
trap 'rm -f "$log"' EXIT

step "Rust tests (cargo test)"
cargo test 2>&1 | tee -a "$log"
rust=${PIPESTATUS[0]}

step "JS: the Worker in workerd (Miniflare), the npm package in Node and Chromium, the debugger page and the console in Chromium"
node --test --test-reporter=spec tests/worker/ tests/npm/ tests/page/ 2>&1 | tee -a "$log"
js=${PIPESTATUS[0]}

awk '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
  /^ℹ pass / { p += $3 }  /^ℹ fail / { f += $3 }
  END { printf "\ntests: %d passed, %d failed\n", p, f }' "$log"
[ "$rust" -eq 0 ] && [ "$js" -eq 0 ]
