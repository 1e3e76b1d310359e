#!/usr/bin/env bash
# Builds the Worker's two pages, each one self-contained file:
#   www/dist/index.html  the signature debugger: its script bundled with the npm
#                        package's web build, the .wasm inlined (esbuild), so it
#                        opens from a file and loads nothing. Served at GET /.
#   www/dist/admin.html  the operator console: its script inlined; it talks to
#                        the bridge's admin routes only. Served at GET /admin,
#                        by the Worker and by the npm package's createBridge
#                        (scripts/build-npm.sh copies it into pkg/dist).
# wrangler.toml's [assets] serves both.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/page www/dist

# $1: the script (www/src/$1.mjs), $2: the template (www/src/$2), $3: the page (www/dist/$3)
page() {
  node_modules/.bin/esbuild "www/src/$1.mjs" --bundle --format=iife --platform=browser --target=es2022 \
    --loader:.wasm=binary --minify --define:import.meta.url=document.baseURI --log-level=warning \
    --outfile="target/page/$1.js"
  node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    const [script, template, out] = process.argv.slice(1);
    const html = readFileSync(template, "utf8");
    // "</script" inside the script would end the element early.
    const code = readFileSync(script, "utf8").replaceAll("</script", "<\\/script");
    if (!html.includes("<!-- page-script -->")) throw new Error(`${template} lost its <!-- page-script --> marker`);
    writeFileSync(out, html.replace("<!-- page-script -->", () => `<script>${code}</script>`));
  ' "target/page/$1.js" "www/src/$2" "www/dist/$3"
}

# `scripts/build-page.sh console` builds the console alone (the npm build
# ships it, and runs before the debugger can be built).
if [ "${1:-}" = console ]; then
  page console console.html admin.html
  exit
fi
[ -f pkg/dist/reamaze_bridge_bg.wasm ] || scripts/build-npm.sh >/dev/null
page debugger index.html index.html
page console console.html admin.html
ls -l www/dist/index.html www/dist/admin.html
