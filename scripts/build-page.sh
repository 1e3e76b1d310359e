#!/usr/bin/env bash
# Builds the Worker's two pages, each one self-contained file:
#   www/dist/index.html  the signature debugger: its script bundled with the npm
#                        package's web build, the .wasm inlined (esbuild), so it
#                        opens from a file and loads nothing. Served at GET /.
#   www/dist/admin.html  the operator console: its script inlined; it talks to
#                        the bridge's admin routes only. Served at GET /admin,
#                        by the Worker and by the npm package's createBridge
#                        (scripts/build-npm.sh copies it into pkg/dist).
# wrangler.toml's [assets] serves both, with the headers www/dist/_headers gives them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target/page www/dist

# $1: the script (www/src/$1.mjs), $2: the template (www/src/$2), $3: the page (www/dist/$3),
# $4: the page's name in the core (`debugger` or `console`). The page's
# <meta> Content-Security-Policy allows its inline script and style by hash,
# as the core's `pagePolicy` computes it; target/page/$4.headers gets the
# headers the page is served with (`pageHeaders`).
page() {
  node_modules/.bin/esbuild "www/src/$1.mjs" --bundle --format=iife --platform=browser --target=es2022 \
    --loader:.wasm=binary --minify --define:import.meta.url=document.baseURI --log-level=warning \
    --outfile="target/page/$1.js"
  node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    import * as core from "./pkg/dist/reamaze_bridge.js";
    core.initSync({ module: readFileSync("pkg/dist/reamaze_bridge_bg.wasm") });
    const [script, template, out, name] = process.argv.slice(1);
    const html = readFileSync(template, "utf8");
    // "</script" inside the script would end the element early.
    const code = readFileSync(script, "utf8").replaceAll("</script", "<\\/script");
    if (!html.includes("<!-- page-script -->")) throw new Error(`${template} lost its <!-- page-script --> marker`);
    if (!html.includes("content=\"page-policy\"")) throw new Error(`${template} lost its page-policy <meta>`);
    const page = html.replace("<!-- page-script -->", () => `<script>${code}</script>`);
    const policy = core.pagePolicy(name, page);
    writeFileSync(out, page.replace("content=\"page-policy\"", () => `content="${policy}"`));
    writeFileSync(`target/page/${name}.headers`, core.pageHeaders(name, page));
  ' "target/page/$1.js" "www/src/$2" "www/dist/$3" "$4"
}

# The Worker serves the pages as static assets; its assets' _headers file
# gives each page the headers the core gives it (the type is the assets').
write_headers() {
  node --input-type=module -e '
    import { readFileSync, writeFileSync } from "node:fs";
    const rules = [["/", "debugger"], ["/admin", "console"]].map(([path, name]) => {
      const headers = JSON.parse(readFileSync(`target/page/${name}.headers`, "utf8"));
      const lines = headers.filter(([header]) => header.toLowerCase() !== "content-type").map(([h, v]) => `  ${h}: ${v}`);
      return `${path}\n${lines.join("\n")}\n`;
    });
    writeFileSync("www/dist/_headers", `# Written by scripts/build-page.sh from the core (src/pages.rs).\n${rules.join("")}`);
  '
}

# `scripts/build-page.sh console` builds the console alone (the npm build
# ships it, and runs before the debugger can be built).
if [ "${1:-}" = console ]; then
  page console console.html admin.html console
  exit
fi
[ -f pkg/dist/reamaze_bridge_bg.wasm ] || scripts/build-npm.sh >/dev/null
page debugger index.html index.html debugger
page console console.html admin.html console
write_headers
ls -l www/dist/index.html www/dist/admin.html www/dist/_headers
