# The sample settings `make dev` runs the bridge on: local stand-ins for
# Re:amaze and Voice360, and made-up secrets that the README's walkthrough
# signs with. Sourced by scripts/dev.sh; never used outside development.
export REAMAZE_BASE_URL=http://127.0.0.1:8788
export REAMAZE_VOICE_SECRET=dev-reamaze-voice-secret
export REAMAZE_SMS_SECRET=dev-reamaze-sms-secret
export VOICE360_WEBHOOK_SECRETS=dev-voice360-secret
export VOICE360_API_KEY=dev-voice360-api-key
export VOICE360_ACCOUNT_ID=61
export VOICE360_API_BASE=http://127.0.0.1:8789/v3/voice
export SMS_CHANNEL_NUMBER=+16501234567
export BIRD_SIGNING_KEYS=dev-bird-key
export BIRD_WEBHOOK_URL=http://127.0.0.1:8787/webhooks/bird
export VOLUBILE_WEBHOOK_SECRETS=dev-volubile-secret
export VOLUBILE_NUMBER=+33100000000
export ADMIN_TOKEN=dev-admin-token
DEV_SETTINGS=(ADMIN_TOKEN REAMAZE_BASE_URL REAMAZE_VOICE_SECRET REAMAZE_SMS_SECRET VOICE360_WEBHOOK_SECRETS
  VOICE360_API_KEY VOICE360_ACCOUNT_ID VOICE360_API_BASE SMS_CHANNEL_NUMBER BIRD_SIGNING_KEYS
  BIRD_WEBHOOK_URL VOLUBILE_WEBHOOK_SECRETS VOLUBILE_NUMBER)
