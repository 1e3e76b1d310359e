#!/usr/bin/env bash
# Lists or replays the bridge's dead letters (queue mode), and lists held transcriptions
# and refused webhooks.
#
#   scripts/dead-letters.sh list
#   scripts/dead-letters.sh replay            # every dead letter
#   scripts/dead-letters.sh replay ID [ID…]   # only these message ids
#   scripts/dead-letters.sh held              # transcriptions held until their call is known
#   scripts/dead-letters.sh rejected          # refused webhooks, with their likely causes
#
# BRIDGE_URL is the Worker's address (default: make dev's). ADMIN_TOKEN is the
# Worker's ADMIN_TOKEN secret; it is sent as a bearer token and never printed.
set -euo pipefail
url=${BRIDGE_URL:-http://127.0.0.1:8787}
: "${ADMIN_TOKEN:?set ADMIN_TOKEN to the admin token of the bridge}"
auth=(-H "Authorization: Bearer $ADMIN_TOKEN")

case "${1:-}" in
  list)
    curl -sS --fail-with-body "${auth[@]}" "$url/admin/dead-letters"
    ;;
  replay)
    shift
    body=""
    if (($#)); then body=$(node -e 'console.log(JSON.stringify({ ids: process.argv.slice(1) }))' "$@"); fi
    curl -sS --fail-with-body -X POST "${auth[@]}" -H 'Content-Type: application/json' --data "$body" \
      "$url/admin/dead-letters/replay"
    ;;
  held)
    curl -sS --fail-with-body "${auth[@]}" "$url/admin/held"
    ;;
  rejected)
    curl -sS --fail-with-body "${auth[@]}" "$url/admin/rejected"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
echo
