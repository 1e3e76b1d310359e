//! Settings, read by name from any key/value source: the process
//! environment (CLI), Worker vars and secrets, a JS object. The names are the
//! HTTP contract's (`../shared/design/architecture.md`), the same everywhere.

use std::fmt;

use crate::signature::Window;

/// A secret value. Its `Debug` never shows it, so a settings dump or a
/// panic message cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl AsRef<[u8]> for Secret {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Every setting name, in the order the README documents them.
pub mod names {
    pub const REAMAZE_BASE_URL: &str = "REAMAZE_BASE_URL";
    pub const REAMAZE_VOICE_SECRET: &str = "REAMAZE_VOICE_SECRET";
    pub const REAMAZE_SMS_SECRET: &str = "REAMAZE_SMS_SECRET";
    pub const VOICE360_WEBHOOK_SECRETS: &str = "VOICE360_WEBHOOK_SECRETS";
    pub const VOICE360_API_KEY: &str = "VOICE360_API_KEY";
    pub const VOICE360_ACCOUNT_ID: &str = "VOICE360_ACCOUNT_ID";
    pub const VOICE360_API_BASE: &str = "VOICE360_API_BASE";
    pub const SMS_CHANNEL_NUMBER: &str = "SMS_CHANNEL_NUMBER";
    pub const BIRD_SIGNING_KEYS: &str = "BIRD_SIGNING_KEYS";
    pub const BIRD_WEBHOOK_URL: &str = "BIRD_WEBHOOK_URL";
    pub const BIRD_MAX_AGE_SECONDS: &str = "BIRD_MAX_AGE_SECONDS";
    pub const BIRD_MAX_FUTURE_SECONDS: &str = "BIRD_MAX_FUTURE_SECONDS";
    pub const BIRD_POST_STATUSES: &str = "BIRD_POST_STATUSES";
    pub const VOLUBILE_WEBHOOK_SECRETS: &str = "VOLUBILE_WEBHOOK_SECRETS";
    pub const VOLUBILE_NUMBER: &str = "VOLUBILE_NUMBER";
    pub const MAX_BODY_BYTES: &str = "MAX_BODY_BYTES";
    pub const UPSTREAM_TIMEOUT_MS: &str = "UPSTREAM_TIMEOUT_MS";
    pub const QUEUE_MAX_ATTEMPTS: &str = "QUEUE_MAX_ATTEMPTS";
    pub const QUEUE_RETRY_BASE_SECONDS: &str = "QUEUE_RETRY_BASE_SECONDS";
    pub const QUEUE_RETRY_MAX_SECONDS: &str = "QUEUE_RETRY_MAX_SECONDS";
    pub const ADMIN_TOKEN: &str = "ADMIN_TOKEN";
    pub const MAX_MESSAGE_CHARS: &str = "MAX_MESSAGE_CHARS";
    pub const MAX_JSON_DEPTH: &str = "MAX_JSON_DEPTH";
    pub const MAX_HEADER_BYTES: &str = "MAX_HEADER_BYTES";
    pub const MAX_SECRETS: &str = "MAX_SECRETS";

    pub const ALL: [&str; 25] = [
        REAMAZE_BASE_URL,
        REAMAZE_VOICE_SECRET,
        REAMAZE_SMS_SECRET,
        VOICE360_WEBHOOK_SECRETS,
        VOICE360_API_KEY,
        VOICE360_ACCOUNT_ID,
        VOICE360_API_BASE,
        SMS_CHANNEL_NUMBER,
        BIRD_SIGNING_KEYS,
        BIRD_WEBHOOK_URL,
        BIRD_MAX_AGE_SECONDS,
        BIRD_MAX_FUTURE_SECONDS,
        BIRD_POST_STATUSES,
        VOLUBILE_WEBHOOK_SECRETS,
        VOLUBILE_NUMBER,
        MAX_BODY_BYTES,
        UPSTREAM_TIMEOUT_MS,
        QUEUE_MAX_ATTEMPTS,
        QUEUE_RETRY_BASE_SECONDS,
        QUEUE_RETRY_MAX_SECONDS,
        ADMIN_TOKEN,
        MAX_MESSAGE_CHARS,
        MAX_JSON_DEPTH,
        MAX_HEADER_BYTES,
        MAX_SECRETS,
    ];
}

pub const DEFAULT_REAMAZE_BASE_URL: &str = "https://www.reamaze.io";
pub const DEFAULT_VOICE360_API_BASE: &str = "https://api.voice360.app/v3/voice";
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// The longest message text posted to Re:amaze: a long call transcript is
/// shortened to this, with a note saying so, rather than posted whole.
pub const DEFAULT_MAX_MESSAGE_CHARS: u32 = 20_000;
/// The providers' payloads nest four or five levels; 32 leaves room for any
/// of their extensions and none for a nesting attack.
pub const DEFAULT_MAX_JSON_DEPTH: u32 = 32;
/// The longest signature, timestamp or Authorization header read. The real
/// ones are under 100 bytes.
pub const DEFAULT_MAX_HEADER_BYTES: u32 = 1_024;
/// The most secrets one provider's list may hold. A forged request costs
/// one HMAC over its body per secret, so the list is bounded; eight covers a
/// rotation's old and new key for several subscriptions.
pub const DEFAULT_MAX_SECRETS: u32 = 8;
/// How long a shell waits for Re:amaze or Voice360 before treating the
/// delivery as a temporary failure. Re:amaze's staff-reply webhook is
/// synchronous, so the whole reply path must stay well inside its patience.
pub const DEFAULT_UPSTREAM_TIMEOUT_MS: u64 = 10_000;
/// Queue mode: attempts per message before it becomes a dead letter, and
/// the backoff between them (30 s doubling up to an hour: about 4.5 hours
/// of retries in all, beyond the longest Re:amaze incident worth riding out).
pub const DEFAULT_QUEUE_MAX_ATTEMPTS: u32 = 10;
pub const DEFAULT_QUEUE_RETRY_BASE_SECONDS: u32 = 30;
pub const DEFAULT_QUEUE_RETRY_MAX_SECONDS: u32 = 3_600;
/// Bird statuses posted unless `BIRD_POST_STATUSES` says otherwise: every
/// status that tells an agent something; `ringing` and `accepted` do not.
pub const DEFAULT_BIRD_STATUSES: [&str; 7] =
    ["starting", "ongoing", "completed", "no-answer", "busy", "failed", "cancelled"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub reamaze_base_url: String,
    pub reamaze_voice_secret: Option<Secret>,
    pub reamaze_sms_secret: Option<Secret>,
    pub voice360_webhook_secrets: Vec<Secret>,
    pub voice360_api_key: Option<Secret>,
    pub voice360_account_id: Option<String>,
    pub voice360_api_base: String,
    pub sms_channel_number: Option<String>,
    pub bird_signing_keys: Vec<Secret>,
    pub bird_webhook_url: Option<String>,
    pub bird_max_age_seconds: u64,
    pub bird_max_future_seconds: u64,
    pub bird_post_statuses: Vec<String>,
    pub volubile_webhook_secrets: Vec<Secret>,
    pub volubile_number: Option<String>,
    pub max_body_bytes: usize,
    pub upstream_timeout_ms: u64,
    pub queue_max_attempts: u32,
    pub queue_retry_base_seconds: u32,
    pub queue_retry_max_seconds: u32,
    /// Bearer token of the admin routes; none means they are off.
    pub admin_token: Option<Secret>,
    pub max_message_chars: u32,
    pub max_json_depth: u32,
    pub max_header_bytes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reamaze_base_url: DEFAULT_REAMAZE_BASE_URL.into(),
            reamaze_voice_secret: None,
            reamaze_sms_secret: None,
            voice360_webhook_secrets: Vec::new(),
            voice360_api_key: None,
            voice360_account_id: None,
            voice360_api_base: DEFAULT_VOICE360_API_BASE.into(),
            sms_channel_number: None,
            bird_signing_keys: Vec::new(),
            bird_webhook_url: None,
            bird_max_age_seconds: Window::DEFAULT_MAX_AGE,
            bird_max_future_seconds: Window::DEFAULT_MAX_FUTURE,
            bird_post_statuses: DEFAULT_BIRD_STATUSES.iter().map(|s| s.to_string()).collect(),
            volubile_webhook_secrets: Vec::new(),
            volubile_number: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            upstream_timeout_ms: DEFAULT_UPSTREAM_TIMEOUT_MS,
            queue_max_attempts: DEFAULT_QUEUE_MAX_ATTEMPTS,
            queue_retry_base_seconds: DEFAULT_QUEUE_RETRY_BASE_SECONDS,
            queue_retry_max_seconds: DEFAULT_QUEUE_RETRY_MAX_SECONDS,
            admin_token: None,
            max_message_chars: DEFAULT_MAX_MESSAGE_CHARS,
            max_json_depth: DEFAULT_MAX_JSON_DEPTH,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

/// A setting whose value cannot be used. Carries the name and what was
/// expected, never the value (it may be a secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsError {
    pub name: &'static str,
    pub expected: &'static str,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "setting {} is invalid: expected {}", self.name, self.expected)
    }
}

impl std::error::Error for SettingsError {}

impl Settings {
    /// Reads every setting through `get`; absent or blank values take their
    /// defaults.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        use names::*;
        let text = |name: &str| get(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        let secret = |name: &str| text(name).map(Secret::new);
        let list = |name: &str| -> Vec<String> {
            text(name)
                .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
                .unwrap_or_default()
        };
        let number = |name: &'static str, default: u64| -> Result<u64, SettingsError> {
            match text(name) {
                None => Ok(default),
                Some(v) => v.parse().map_err(|_| SettingsError { name, expected: "a whole number" }),
            }
        };
        let small = |name: &'static str, default: u32| -> Result<u32, SettingsError> {
            u32::try_from(number(name, u64::from(default))?)
                .map_err(|_| SettingsError { name, expected: "a whole number below 4294967296" })
        };
        let max_secrets = small(MAX_SECRETS, DEFAULT_MAX_SECRETS)? as usize;
        let secrets = |name: &'static str| -> Result<Vec<Secret>, SettingsError> {
            let secrets: Vec<Secret> = list(name).into_iter().map(Secret::new).collect();
            if secrets.len() > max_secrets {
                return Err(SettingsError { name, expected: "no more secrets than MAX_SECRETS allows (default 8)" });
            }
            Ok(secrets)
        };
        let url = |name: &'static str, default: &str| -> Result<String, SettingsError> {
            let value = text(name).unwrap_or_else(|| default.to_string());
            if value.starts_with("https://") || value.starts_with("http://") {
                Ok(value.trim_end_matches('/').to_string())
            } else {
                Err(SettingsError { name, expected: "an http:// or https:// URL" })
            }
        };

        let defaults = Settings::default();
        let statuses = list(BIRD_POST_STATUSES);
        Ok(Settings {
            reamaze_base_url: url(REAMAZE_BASE_URL, DEFAULT_REAMAZE_BASE_URL)?,
            reamaze_voice_secret: secret(REAMAZE_VOICE_SECRET),
            reamaze_sms_secret: secret(REAMAZE_SMS_SECRET),
            voice360_webhook_secrets: secrets(VOICE360_WEBHOOK_SECRETS)?,
            voice360_api_key: secret(VOICE360_API_KEY),
            voice360_account_id: text(VOICE360_ACCOUNT_ID),
            voice360_api_base: url(VOICE360_API_BASE, DEFAULT_VOICE360_API_BASE)?,
            sms_channel_number: text(SMS_CHANNEL_NUMBER),
            bird_signing_keys: secrets(BIRD_SIGNING_KEYS)?,
            bird_webhook_url: text(BIRD_WEBHOOK_URL),
            bird_max_age_seconds: number(BIRD_MAX_AGE_SECONDS, defaults.bird_max_age_seconds)?,
            bird_max_future_seconds: number(BIRD_MAX_FUTURE_SECONDS, defaults.bird_max_future_seconds)?,
            bird_post_statuses: if statuses.is_empty() {
                defaults.bird_post_statuses
            } else {
                statuses.into_iter().map(|s| s.to_ascii_lowercase()).collect()
            },
            volubile_webhook_secrets: secrets(VOLUBILE_WEBHOOK_SECRETS)?,
            volubile_number: text(VOLUBILE_NUMBER),
            max_body_bytes: usize::try_from(number(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES as u64)?)
                .map_err(|_| SettingsError { name: MAX_BODY_BYTES, expected: "a size this machine can hold" })?,
            upstream_timeout_ms: number(UPSTREAM_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS)?,
            queue_max_attempts: small(QUEUE_MAX_ATTEMPTS, DEFAULT_QUEUE_MAX_ATTEMPTS)?.max(1),
            queue_retry_base_seconds: small(QUEUE_RETRY_BASE_SECONDS, DEFAULT_QUEUE_RETRY_BASE_SECONDS)?,
            queue_retry_max_seconds: small(QUEUE_RETRY_MAX_SECONDS, DEFAULT_QUEUE_RETRY_MAX_SECONDS)?,
            admin_token: secret(ADMIN_TOKEN),
            // Room for at least the note that says the text was shortened.
            max_message_chars: small(MAX_MESSAGE_CHARS, DEFAULT_MAX_MESSAGE_CHARS)?.max(200),
            max_json_depth: match small(MAX_JSON_DEPTH, DEFAULT_MAX_JSON_DEPTH)? {
                depth @ 1..=crate::json::PARSER_MAX_DEPTH => depth,
                _ => return Err(SettingsError { name: MAX_JSON_DEPTH, expected: "a whole number from 1 to 100" }),
            },
            max_header_bytes: small(MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_BYTES)?.max(64),
        })
    }

    /// How a provider's webhooks are signed: its scheme, the secrets to try,
    /// and the setting that holds them (for "not configured" answers).
    pub fn webhook_auth(&self, provider: crate::Provider) -> (crate::Scheme, &[Secret], &'static str) {
        use crate::{Provider, Scheme};
        match provider {
            Provider::Voice360 => (Scheme::Voice360, &self.voice360_webhook_secrets, names::VOICE360_WEBHOOK_SECRETS),
            Provider::Bird => (Scheme::Bird, &self.bird_signing_keys, names::BIRD_SIGNING_KEYS),
            Provider::Volubile => (Scheme::Volubile, &self.volubile_webhook_secrets, names::VOLUBILE_WEBHOOK_SECRETS),
        }
    }

    /// Bird's freshness window at `now`.
    pub fn bird_window(&self, now: i64) -> Window {
        Window { now, max_age: self.bird_max_age_seconds, max_future: self.bird_max_future_seconds }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_and_lists() {
        let s = from(&[("VOICE360_WEBHOOK_SECRETS", " a, b ,,c "), ("REAMAZE_BASE_URL", "https://acme.reamaze.io/")])
            .unwrap();
        assert_eq!(s.voice360_webhook_secrets, vec![Secret::new("a"), Secret::new("b"), Secret::new("c")]);
        assert_eq!(s.reamaze_base_url, "https://acme.reamaze.io");
        assert_eq!(s.voice360_api_base, DEFAULT_VOICE360_API_BASE);
        assert_eq!(s.bird_max_age_seconds, 86_400);
        assert!(s.reamaze_voice_secret.is_none());
    }

    #[test]
    fn bad_values_name_the_setting_not_the_value() {
        let err = from(&[("BIRD_MAX_AGE_SECONDS", "a day")]).unwrap_err();
        assert_eq!(err.name, "BIRD_MAX_AGE_SECONDS");
        assert!(!err.to_string().contains("a day"));
        assert!(from(&[("REAMAZE_BASE_URL", "www.reamaze.io")]).is_err());
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let s = from(&[("REAMAZE_VOICE_SECRET", "hunter2")]).unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn limits_have_defaults_and_bounds() {
        let s = from(&[]).unwrap();
        assert_eq!((s.max_json_depth, s.max_header_bytes), (DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_HEADER_BYTES));
        assert_eq!(from(&[("MAX_JSON_DEPTH", "100")]).unwrap().max_json_depth, 100);
        for out_of_range in ["0", "101"] {
            assert_eq!(from(&[("MAX_JSON_DEPTH", out_of_range)]).unwrap_err().name, "MAX_JSON_DEPTH");
        }
        assert_eq!(from(&[("MAX_HEADER_BYTES", "10")]).unwrap().max_header_bytes, 64, "room for any real signature");
    }

    #[test]
    fn secret_lists_are_bounded_by_max_secrets() {
        let nine = "k1,k2,k3,k4,k5,k6,k7,k8,k9";
        let err = from(&[("BIRD_SIGNING_KEYS", nine)]).unwrap_err();
        assert_eq!(err.name, "BIRD_SIGNING_KEYS");
        assert!(!err.to_string().contains("k9"), "{err}");
        assert_eq!(from(&[("BIRD_SIGNING_KEYS", nine), ("MAX_SECRETS", "9")]).unwrap().bird_signing_keys.len(), 9);
        assert!(from(&[("VOLUBILE_WEBHOOK_SECRETS", "a,b,c"), ("MAX_SECRETS", "2")]).is_err());
    }
}
