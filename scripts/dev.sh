#!/usr/bin/env bash
# `make dev`: the Worker in workerd (wrangler dev) on 127.0.0.1:8787, on the
# sample settings of scripts/dev-settings.sh, with local stand-ins for
# Re:amaze (8788) and Voice360 (8789) that print what an agent would see.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
source scripts/dev-settings.sh

# wrangler checks the page's directory ([assets]) before its own build runs.
scripts/build-page.sh >/dev/null

node scripts/dev-standins.mjs &
standins=$!
trap 'kill $standins 2>/dev/null || true' EXIT INT TERM

vars=()
for name in "${DEV_SETTINGS[@]}"; do vars+=(--var "$name:${!name}"); done
# wrangler runs scripts/build-worker.sh first (wrangler.toml [build]).
node_modules/.bin/wrangler dev --ip 127.0.0.1 --port 8787 --show-interactive-dev-session=false "${vars[@]}"
