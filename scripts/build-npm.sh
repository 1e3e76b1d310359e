#!/usr/bin/env bash
# Builds the npm package's compiled parts into pkg/dist/:
#   reamaze_bridge.js + reamaze_bridge_bg.wasm  wasm-bindgen's ES module (web target), used by
#                                               every entry: Node ESM loads the .wasm from disk
#                                               synchronously, the browser entry fetches it in init()
#   index.cjs                                   the Node entry bundled as CommonJS (esbuild), for require()
#   redis.cjs                                   reamaze-bridge/redis as CommonJS, for require()
#   admin.html                                  the operators' console (scripts/build-page.sh), which
#                                               createBridge serves at GET /admin in Node
#   index.d.cts, redis.d.cts                    the types again, as CommonJS declarations, for
#                                               require() under TypeScript's node16/nodenext
# Local tools only: the cargo-installed wasm-bindgen (matching the crate's pin), and
# wasm-opt and esbuild from node_modules.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
out=pkg/dist
wasm=target/wasm32-unknown-unknown/release/reamaze_bridge.wasm

cargo build --quiet --lib --release --target wasm32-unknown-unknown --no-default-features --features js
rm -rf "$out" && mkdir -p "$out"
wasm-bindgen --target web --out-dir "$out" --out-name reamaze_bridge "$wasm"
# The wasm features rustc's wasm32 target enables by default, and no newer
# encodings, so Node 18+ and current browsers load it.
node_modules/.bin/wasm-opt -Oz --converge --enable-bulk-memory --enable-mutable-globals --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-reference-types --enable-multivalue \
  "$out/reamaze_bridge_bg.wasm" -o "$out/reamaze_bridge_bg.wasm"
node_modules/.bin/esbuild pkg/src/node.mjs --bundle --platform=node --format=cjs --log-level=warning \
  --outfile="$out/index.cjs" \
  --define:import.meta.url=__import_meta_url \
  --banner:js="const __import_meta_url = require('node:url').pathToFileURL(__filename).href;"
node_modules/.bin/esbuild pkg/src/redis.mjs --platform=node --format=cjs --log-level=warning --outfile="$out/redis.cjs"
scripts/build-page.sh console
cp www/dist/admin.html "$out/admin.html"
cp pkg/index.d.ts "$out/index.d.cts"
sed "s|from './index.js'|from './index.cjs'|" pkg/redis.d.ts >"$out/redis.d.cts"
ls -l "$out"
