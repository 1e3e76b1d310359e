# Sourced (never run) by every entry script: the pinned Node.js versions,
# and PATH with cargo's tools and the Node.js that development uses.
#
# Development, wrangler and the Worker's tests need Node.js 22.12 or newer
# (current wrangler refuses anything older). Where the machine's own node is
# older, scripts/bootstrap.sh installs NODE_VERSION from the npm registry
# (the package node-linux-<arch>, which ships the official binary) into
# .tools/, and this puts it first on PATH. The system's node is not touched.
NODE_VERSION=22.23.5
# The npm package's suite also runs on the oldest line its `engines` allows
# (pkg/package.json) and on the newest LTS line.
PACKAGE_NODE_VERSIONS="18.20.8 $NODE_VERSION 24.22.3"

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools"

# node_bin VERSION: the folder of that version's `node` in .tools/.
node_bin() { printf '%s/node-%s/bin' "$TOOLS_DIR" "$1"; }

# True when the node first on PATH is 22.12 or newer.
node_is_recent() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}

export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false
if [ -x "$(node_bin "$NODE_VERSION")/node" ] && ! node_is_recent; then
  PATH="$(node_bin "$NODE_VERSION"):$PATH"
fi
