#!/usr/bin/env bash
# Installs what the build and the tests need, skipping whatever is already
# there, so it is safe to run before every `make dev` and `make test`.
# Everything comes from the package registries (crates.io, npm, Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*"; }

# The versions the toolchain notes name: wasm-bindgen-cli must match the
# crate's `wasm-bindgen = "=0.2.130"` exactly. Node.js: scripts/toolchain.sh.
WASM_BINDGEN_VERSION=0.2.130
WORKER_BUILD_VERSION=0.8.7
CARGO_FUZZ_VERSION=0.13.2

if ! command -v cargo >/dev/null 2>&1; then
  say "cargo is missing: this project needs the machine's Rust toolchain (rustup)" >&2
  exit 1
fi
source scripts/toolchain.sh
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# The core and the Worker build for WebAssembly.
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# What downloads (Debian's packages, Node.js, npm packages, the nightly
# toolchain) runs in the background while cargo compiles its tools in the
# foreground: on a fresh machine the two overlap instead of adding up.

# Debian's packages: the vector generator's python3 and openssl; Node.js and
# npm (whose npm fetches the Node.js binaries below); Chromium for the
# browser tests (driven by playwright-core, which downloads no browser);
# redis-server for the npm package's Redis store tests (started by the
# test itself on a loopback port; the package's own service is not used).
debian_packages() {
  local missing=()
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  command -v openssl >/dev/null 2>&1 || missing+=(openssl)
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  ((${#missing[@]})) || return 0
  say "installing ${missing[*]} from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}

# install_node VERSION: the official binary, from the npm registry's
# node-linux-<arch> package, into .tools/node-VERSION/bin/node.
install_node() {
  local version=$1 dir arch scratch
  dir=$(node_bin "$version")
  [ -x "$dir/node" ] && return
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) say "no Node.js package for $(uname -m): install Node.js $NODE_VERSION yourself" >&2; return 1 ;;
  esac
  say "installing Node.js $version into .tools/ (npm registry: node-linux-$arch)"
  # npm reads its global settings (a registry, a proxy, the machine's CA
  # bundle) from beside the node that runs it: give this node the machine's.
  local machine_npmrc
  machine_npmrc=$(npm config get globalconfig 2>/dev/null || true)
  scratch=$(mktemp -d)
  (cd "$scratch" && npm pack --silent "node-linux-$arch@$version" >/dev/null)
  tar -xzf "$scratch"/node-linux-*.tgz -C "$scratch" package/bin/node
  mkdir -p "$dir" "$dir/../etc"
  if [ -f "$machine_npmrc" ]; then grep -v '^nodedir' "$machine_npmrc" >"$dir/../etc/npmrc" || true; fi
  mv "$scratch/package/bin/node" "$dir/node"
  rm -rf "$scratch"
}

# Node.js for development (where the machine's is older than 22.12) and for
# the package's suite on each line it supports, then the npm packages,
# exactly as package-lock.json records them, installed by that Node.js.
node_and_npm_packages() {
  debian_packages
  local version
  for version in $PACKAGE_NODE_VERSIONS; do install_node "$version"; done
  source scripts/toolchain.sh
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "installing npm packages (npm ci, with Node.js $(node -v))"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

# Fuzzing: cargo-fuzz runs the targets on the nightly toolchain.
nightly_toolchain() {
  rustup run nightly rustc --version >/dev/null 2>&1 && return
  say "adding the nightly toolchain (for cargo-fuzz)"
  rustup toolchain install nightly --profile minimal >/dev/null
}

# background NAME FUNCTION: runs FUNCTION with its output kept in a log,
# shown only if it fails.
background() {
  (
    set +e
    (set -e; "$2") >"$logs/$1" 2>&1
    echo $? >"$logs/$1.status"
  ) &
}
finish() {
  wait
  local failed=0 name
  for name in node nightly; do
    grep -h '^bootstrap:' "$logs/$name" || true
    if [ "$(cat "$logs/$name.status")" != 0 ]; then
      cat "$logs/$name"
      say "FAILED: $name" >&2
      failed=1
    fi
  done
  return $failed
}
background node node_and_npm_packages
background nightly nightly_toolchain

# cargo_tool BINARY CRATE VERSION: installs CRATE@VERSION unless BINARY
# already reports that version. With the crate's own lockfile first; when
# the registry lacks a version it locks (wasm-bindgen-cli 0.2.130 locks a
# webpki-roots the registry no longer has), with the newest compatible
# dependencies instead. The first attempt's output shows only if both fail.
cargo_tool() {
  local bin=$1 crate=$2 version=$3
  if "$bin" --version 2>/dev/null | grep -q "$version"; then return; fi
  say "installing $crate $version (once)"
  if quick_cargo_install "$crate" --version "$version" --locked >"$logs/$crate" 2>&1; then return; fi
  if grep -q 'failed to select a version' "$logs/$crate"; then
    say "$crate: a locked dependency is not in the registry; using the newest compatible ones"
    quick_cargo_install "$crate" --version "$version" --force && return
  fi
  cat "$logs/$crate"
  return 1
}
# The tools do little work per build, so they are compiled without
# optimisation, which about halves their compile time and costs little in
# use (the README's Quick start gives both). One target directory for the
# three lets them share what they have in common; it goes when the
# bootstrap ends.
quick_cargo_install() {
  CARGO_TARGET_DIR="$logs/cargo-target" CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=0 \
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo install --quiet "$@"
}
cargo_tool wasm-bindgen wasm-bindgen-cli "$WASM_BINDGEN_VERSION"
cargo_tool worker-build worker-build "$WORKER_BUILD_VERSION"
cargo_tool cargo-fuzz cargo-fuzz "$CARGO_FUZZ_VERSION"

finish
source scripts/toolchain.sh
say "ready (Node.js $(node -v) for development)"
