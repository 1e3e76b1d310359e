#!/usr/bin/env bash
# `make cli-demo`: the core through the CLI, on sample settings, over the bundled
# sample payloads (examples/payloads/): what each provider event becomes in
# Re:amaze, and a signature made and checked.
set -euo pipefail
bin=${1:?usage: cli-demo.sh path/to/reamaze-bridge}
cd "$(dirname "$0")/.."
payloads=examples/payloads

# Sample settings: no real secret is needed to see translations.
export VOLUBILE_NUMBER=+33100000000
export SMS_CHANNEL_NUMBER=+16501234567
export VOICE360_ACCOUNT_ID=61

section() { printf '\n\033[1m== %s\033[0m\n$ %s\n' "$1" "$2"; }

section "A Voice360 call, event by event (the transcript is placed through the remembered caller)" \
  "reamaze-bridge translate voice360 < $payloads/voice360-call.jsonl"
"$bin" translate voice360 <"$payloads/voice360-call.jsonl"

section "A Bird call that completed" "reamaze-bridge translate bird < $payloads/bird-call-completed.json"
"$bin" translate bird <"$payloads/bird-call-completed.json"

section "A Volubile AI-agent call" "reamaze-bridge translate volubile < $payloads/volubile-call.json"
"$bin" translate volubile <"$payloads/volubile-call.json"

section "An agent's SMS reply from Re:amaze, as Voice360 send-SMS requests" \
  "reamaze-bridge translate reamaze-reply < $payloads/reamaze-staff-reply.json"
"$bin" translate reamaze-reply <"$payloads/reamaze-staff-reply.json"

sms=$payloads/voice360-sms-received.json
section "Signing and verifying a Voice360 webhook" \
  "reamaze-bridge sign --scheme voice360 --secret dev-secret < $sms"
signature=$("$bin" sign --scheme voice360 --secret dev-secret <"$sms")
echo "$signature"
printf '$ reamaze-bridge verify --scheme voice360 --secret dev-secret --signature %s < %s\n' "$signature" "$sms"
"$bin" verify --scheme voice360 --secret dev-secret --signature "$signature" <"$sms"
printf '$ reamaze-bridge verify --scheme voice360 --secret other-secret --signature %s < %s\n' "$signature" "$sms"
"$bin" verify --scheme voice360 --secret other-secret --signature "$signature" <"$sms" || true
