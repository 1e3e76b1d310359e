#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already
# there, so it is safe to run before every `make dev` and `make test`.
# Everything comes from the package registries this project may reach
# (crates.io through rustup's components, Debian's packages).
set -euo pipefail

say() { printf 'bootstrap: %s\n' "$*"; }

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo is missing: this project needs the machine's Rust toolchain (rustup)" >&2
  exit 1
fi

# The core must keep building for WebAssembly (the Worker and npm shells).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# The signature vectors are re-derived with Python's hmac and openssl.
missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if ((${#missing[@]})); then
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

say "ready"
