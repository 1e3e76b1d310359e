#!/usr/bin/env bash
# Builds the signature debugger into one self-contained file,
# www/dist/index.html: the page's script bundled with the npm package's web
# build and its .wasm inlined (esbuild), so the page opens from a file and
# loads nothing. The Worker serves it at GET / (wrangler.toml [assets]).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f pkg/dist/reamaze_bridge_bg.wasm ] || scripts/build-npm.sh >/dev/null
mkdir -p target/page www/dist
node_modules/.bin/esbuild www/src/debugger.mjs --bundle --format=iife --platform=browser --target=es2022 \
  --loader:.wasm=binary --minify --define:import.meta.url=document.baseURI --log-level=warning \
  --outfile=target/page/debugger.js
node --input-type=module -e '
  import { readFileSync, writeFileSync } from "node:fs";
  const template = readFileSync("www/src/index.html", "utf8");
  // "</script" inside the script would end the element early.
  const script = readFileSync("target/page/debugger.js", "utf8").replaceAll("</script", "<\\/script");
  if (!template.includes("<!-- page-script -->")) throw new Error("the template lost its <!-- page-script --> marker");
  writeFileSync("www/dist/index.html", template.replace("<!-- page-script -->", () => `<script>${script}</script>`));
'
ls -l www/dist/index.html
