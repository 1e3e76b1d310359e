#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already
# there, so it is safe to run before every `make dev` and `make test`.
# Everything comes from the package registries (crates.io, npm, Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*"; }

# The versions the toolchain notes name: wasm-bindgen-cli must match the
# crate's `wasm-bindgen = "=0.2.130"` exactly.
WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo is missing: this project needs the machine's Rust toolchain (rustup)" >&2
  exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"

# The core and the Worker build for WebAssembly.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo_tool BINARY CRATE VERSION: installs CRATE@VERSION unless BINARY
# already reports that version. --locked first; when a locked dependency is
# missing from the registry, the newest compatible ones instead.
cargo_tool() {
  local bin=$1 crate=$2 version=$3
  if "$bin" --version 2>/dev/null | grep -q "$version"; then return; fi
  say "installing $crate $version (a few minutes, once)"
  cargo install --quiet "$crate" --version "$version" --locked ||
    cargo install --quiet "$crate" --version "$version" --force
}
cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION"

# Fuzzing: cargo-fuzz runs on the nightly toolchain (libFuzzer, sanitizers).
if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  say "adding the nightly toolchain (for cargo-fuzz)"
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  say "installing cargo-fuzz (a few minutes, once)"
  cargo install --quiet cargo-fuzz --locked || cargo install --quiet cargo-fuzz
fi
cargo_tool worker-build worker-build "$WORKER_BUILD_VERSION"

# Debian's packages: the vector generator's python3 and openssl; Node.js
# for wrangler, Miniflare and the JS tests; Chromium for the browser tests
# (driven by playwright-core, which downloads no browser of its own).
missing=()
command -v python3 >/dev/null 2>&1 || missing+=(python3)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ((${#missing[@]})); then
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# npm packages, exactly as package-lock.json records them.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

say "ready"
