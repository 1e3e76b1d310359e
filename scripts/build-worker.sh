#!/usr/bin/env bash
# Builds the Worker into build/worker/ with worker-build, pointing it at
# local tools so that it downloads nothing: the cargo-installed wasm-bindgen
# (which must match the crate's pinned wasm-bindgen), and esbuild and
# wasm-opt from node_modules (npm packages esbuild and binaryen).
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN=${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen)}
export ESBUILD_BIN=${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}
export WASM_OPT_BIN=${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}
# The page the Worker serves as a static asset (GET /).
scripts/build-page.sh >/dev/null
worker-build --release --no-default-features --features worker
# worker-build's own wasm-opt pass keeps the function names (for panic
# traces): about 150 KB. Another pass drops them, with the same wasm feature
# set as the npm build.
node_modules/.bin/wasm-opt -Oz --converge --strip-debug --strip-producers --enable-bulk-memory --enable-mutable-globals \
  --enable-nontrapping-float-to-int --enable-sign-ext --enable-reference-types --enable-multivalue \
  build/index_bg.wasm -o build/index_bg.wasm
