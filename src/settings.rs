//! Settings, read by name from any key/value source: the process
//! environment (CLI), Worker vars and secrets, a JS object. The names are the
//! HTTP contract's (the README's "Settings" table), the same everywhere.

use std::fmt;

use crate::signature::Window;

mod agents;
pub use agents::Agent;

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

pub mod names;

pub const DEFAULT_REAMAZE_BASE_URL: &str = "https://www.reamaze.io";
pub const DEFAULT_VOICE360_API_BASE: &str = "https://api.voice360.app/v3/voice";
/// The largest body accepted. Sized on the largest payload providers send:
/// a Voice360 TRANSCRIPTION_FINISHED in the AWS Call Analytics shape is
/// about 1.3 MB an hour of call, so 8 MiB holds a call of six hours.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// The longest message text posted to Re:amaze. A longer transcript is
/// posted in numbered parts of at most this; any other longer text is
/// shortened, with a note saying so.
pub const DEFAULT_MAX_MESSAGE_CHARS: u32 = 20_000;
/// The providers' payloads nest four or five levels; 32 leaves room for any
/// of their extensions and none for a nesting attack.
pub const DEFAULT_MAX_JSON_DEPTH: u32 = 32;
/// The longest signature, timestamp or Authorization header read. The real
/// ones are under 100 bytes.
pub const DEFAULT_MAX_HEADER_BYTES: u32 = 1_024;
/// The most secrets one provider's list may hold. A forged request costs
/// one HMAC over its body per secret, so the list is bounded; 40 covers
/// Voice360's documented setup, one webhook and so one secret for each of
/// its 20 event types, with an old and a new secret for each during a
/// rotation.
pub const DEFAULT_MAX_SECRETS: u32 = 40;
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

/// Voice360 events posted unless `VOICE360_POST_EVENTS` says otherwise: a
/// call reads as a conversation (in, waited in a queue, answered, ended,
/// the transcript, or missed), not a log. Not posted: each agent a queue
/// rings and each ring that ends (a ring-all queue of ten would put twenty
/// messages in one call), and the caller leaving the queue, which the
/// answer or the miss already says.
pub const DEFAULT_VOICE360_EVENTS: [&str; 13] = [
    "INCOMING_EXTERNAL_CALL",
    "USER_ANSWER",
    "CALL_ENDED",
    "USER_DIAL",
    "USER_HANGUP",
    "QUEUE_ENTER",
    "QUEUE_MEMBER_ANSWER",
    "QUEUE_NO_ANSWER",
    "QUEUE_HANGUP_TIMEOUT",
    "QUEUE_HANGUP_ABANDONED",
    "TRANSCRIPTION_FINISHED",
    "SMS_RECEIVED",
    "SMS_SENT",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    pub reamaze_base_url: String,
    pub reamaze_voice_secret: Option<Secret>,
    pub reamaze_sms_secret: Option<Secret>,
    /// Each provider's webhook secrets, by their setting's name
    /// (`names::WEBHOOK_SECRETS`), read through `secrets`.
    webhook_secrets: Vec<(&'static str, Vec<Secret>)>,
    pub voice360_api_key: Option<Secret>,
    pub voice360_account_id: Option<String>,
    pub voice360_api_base: String,
    pub sms_channel_number: Option<String>,
    /// The number behind the Re:amaze Voice channel: the channel's side of
    /// a voice message whose event does not name it.
    pub voice_channel_number: Option<String>,
    /// Voice360 users by id: their names, and e-mails for `assignee`.
    pub voice360_agents: Vec<Agent>,
    /// Card numbers masked in everything posted (`cards`); on by default.
    pub redact_card_numbers: bool,
    /// The Voice360 events posted; the others are acknowledged as ignored.
    pub voice360_post_events: Vec<String>,
    pub bird_webhook_url: Option<String>,
    pub bird_max_age_seconds: u64,
    pub bird_max_future_seconds: u64,
    pub bird_post_statuses: Vec<String>,
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
    /// The refused webhooks kept for operators (`GET /admin/rejected`);
    /// 0 keeps none.
    pub rejected_keep: u32,
    /// Where operational alerts are posted, signed with the secret below
    /// (Standard Webhooks); alerts are off without both.
    pub alert_webhook_url: Option<String>,
    /// A `whsec_` secret, as Standard Webhooks writes one.
    pub alert_webhook_secret: Option<Secret>,
    pub alert_rejected_threshold: u32,
    /// A call from a number that starts within this many minutes of that
    /// number's previous call joins its conversation; 0, one conversation
    /// per call.
    pub voice_thread_minutes: u32,
    /// The settings whose values could not be used. Each disables only what
    /// depends on it (see `blocking`); a limit falls back to its default.
    pub invalid: Vec<SettingsError>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            reamaze_base_url: DEFAULT_REAMAZE_BASE_URL.into(),
            reamaze_voice_secret: None,
            reamaze_sms_secret: None,
            webhook_secrets: Vec::new(),
            voice360_api_key: None,
            voice360_account_id: None,
            voice360_api_base: DEFAULT_VOICE360_API_BASE.into(),
            sms_channel_number: None,
            voice_channel_number: None,
            voice360_agents: Vec::new(),
            redact_card_numbers: true,
            voice360_post_events: DEFAULT_VOICE360_EVENTS.iter().map(|s| s.to_string()).collect(),
            bird_webhook_url: None,
            bird_max_age_seconds: Window::DEFAULT_MAX_AGE,
            bird_max_future_seconds: Window::DEFAULT_MAX_FUTURE,
            bird_post_statuses: DEFAULT_BIRD_STATUSES.iter().map(|s| s.to_string()).collect(),
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
            rejected_keep: DEFAULT_REJECTED_KEEP,
            alert_webhook_url: None,
            alert_webhook_secret: None,
            alert_rejected_threshold: DEFAULT_ALERT_REJECTED_THRESHOLD,
            voice_thread_minutes: 0,
            invalid: Vec::new(),
        }
    }
}

/// A setting whose value cannot be used. Carries the name and what was
/// expected, never the value (it may be a secret).
/// How many refused webhooks are kept for operators (each for 7 days).
pub const DEFAULT_REJECTED_KEEP: u32 = 100;
/// Refusals on one route within 10 minutes that raise an alert.
pub const DEFAULT_ALERT_REJECTED_THRESHOLD: u32 = 20;

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
    /// defaults. The first setting that cannot be used is an error: for
    /// callers that must not run half set up (the CLI, a one-off translate).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let settings = Settings::read(get);
        match settings.invalid.first() {
            Some(error) => Err(error.clone()),
            None => Ok(settings),
        }
    }

    /// Reads every setting through `get`, as a long-running bridge must: a
    /// setting that cannot be used is recorded in `invalid` and disables only
    /// what depends on it (a provider's secrets that provider, a URL what
    /// posts there); a limit that cannot be used keeps its default.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Self {
        let reader = Reader { get: &get, invalid: std::cell::RefCell::new(Vec::new()) };
        let mut settings = reader.settings();
        // In the README's order, whatever order they were read in (picked
        // out by name: a sort would bring its code into the wasm builds).
        let mut invalid = reader.invalid.into_inner();
        let mut ordered: Vec<SettingsError> = names::ALL
            .iter()
            .filter_map(|&name| invalid.iter().position(|e| e.name == name).map(|i| invalid.remove(i)))
            .collect();
        ordered.append(&mut invalid);
        settings.invalid = ordered;
        settings
    }

    /// The Voice360 user `id`, if `VOICE360_AGENTS` names them.
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.voice360_agents.iter().find(|agent| agent.id == id)
    }

    /// The first invalid setting among `names`: what stops a feature that
    /// depends on them.
    pub fn blocking(&self, names: &[&str]) -> Option<&SettingsError> {
        self.invalid.iter().find(|e| names.contains(&e.name))
    }

    /// The freshness window of a stamped scheme's timestamps, at `now`.
    pub fn stamp_window(&self, now: i64) -> Window {
        Window { now, max_age: self.bird_max_age_seconds, max_future: self.bird_max_future_seconds }
    }

    /// The secrets the setting `name` holds (none for a name that holds
    /// no secrets): the one place a secrets' setting is read by its name.
    pub fn secrets(&self, name: &str) -> &[Secret] {
        match name {
            names::REAMAZE_VOICE_SECRET => self.reamaze_voice_secret.as_slice(),
            names::REAMAZE_SMS_SECRET => self.reamaze_sms_secret.as_slice(),
            _ => self.webhook_secrets.iter().find(|(setting, _)| *setting == name).map_or(&[], |(_, s)| s),
        }
    }

    /// The text setting `name`, where it is set: a stamped scheme's public URL.
    pub fn text(&self, name: &str) -> Option<&str> {
        match name {
            names::BIRD_WEBHOOK_URL => self.bird_webhook_url.as_deref(),
            _ => None,
        }
    }
}

/// Reads settings by name, recording each that cannot be used and giving
/// what depends on it nothing (or the default, for a limit).
struct Reader<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    invalid: std::cell::RefCell<Vec<SettingsError>>,
}

impl Reader<'_> {
    fn settings(&self) -> Settings {
        use names::*;
        let defaults = Settings::default();
        let statuses = self.list(BIRD_POST_STATUSES);
        let max_secrets = self.small(MAX_SECRETS, DEFAULT_MAX_SECRETS) as usize;
        Settings {
            reamaze_base_url: self.url(REAMAZE_BASE_URL, DEFAULT_REAMAZE_BASE_URL),
            reamaze_voice_secret: self.secret(REAMAZE_VOICE_SECRET),
            reamaze_sms_secret: self.secret(REAMAZE_SMS_SECRET),
            webhook_secrets: WEBHOOK_SECRETS.iter().map(|&name| (name, self.secrets(name, max_secrets))).collect(),
            voice360_api_key: self.secret(VOICE360_API_KEY),
            voice360_account_id: self.text(VOICE360_ACCOUNT_ID),
            voice360_api_base: self.url(VOICE360_API_BASE, DEFAULT_VOICE360_API_BASE),
            sms_channel_number: self.text(SMS_CHANNEL_NUMBER),
            voice_channel_number: self.text(VOICE_CHANNEL_NUMBER),
            voice360_agents: self.agents(),
            redact_card_numbers: self.flag(REDACT_CARD_NUMBERS, true),
            voice360_post_events: match self.list(VOICE360_POST_EVENTS) {
                events if events.is_empty() => defaults.voice360_post_events.clone(),
                events => events.into_iter().map(|e| e.to_ascii_uppercase()).collect(),
            },
            bird_webhook_url: self.text(BIRD_WEBHOOK_URL),
            bird_max_age_seconds: self.number(BIRD_MAX_AGE_SECONDS, defaults.bird_max_age_seconds),
            bird_max_future_seconds: self.number(BIRD_MAX_FUTURE_SECONDS, defaults.bird_max_future_seconds),
            bird_post_statuses: if statuses.is_empty() {
                defaults.bird_post_statuses
            } else {
                statuses.into_iter().map(|s| s.to_ascii_lowercase()).collect()
            },
            volubile_number: self.text(VOLUBILE_NUMBER),
            max_body_bytes: self.size(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES),
            upstream_timeout_ms: self.number(UPSTREAM_TIMEOUT_MS, DEFAULT_UPSTREAM_TIMEOUT_MS),
            queue_max_attempts: self.small(QUEUE_MAX_ATTEMPTS, DEFAULT_QUEUE_MAX_ATTEMPTS).max(1),
            queue_retry_base_seconds: self.small(QUEUE_RETRY_BASE_SECONDS, DEFAULT_QUEUE_RETRY_BASE_SECONDS),
            queue_retry_max_seconds: self.small(QUEUE_RETRY_MAX_SECONDS, DEFAULT_QUEUE_RETRY_MAX_SECONDS),
            admin_token: self.secret(ADMIN_TOKEN),
            // Room for at least the note that says the text was shortened.
            max_message_chars: self.small(MAX_MESSAGE_CHARS, DEFAULT_MAX_MESSAGE_CHARS).max(200),
            max_json_depth: self.json_depth(),
            max_header_bytes: self.small(MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_BYTES).max(64),
            rejected_keep: self.small(REJECTED_KEEP, DEFAULT_REJECTED_KEEP),
            alert_webhook_url: self.optional_url(ALERT_WEBHOOK_URL),
            alert_webhook_secret: self.alert_secret(),
            alert_rejected_threshold: self.small(ALERT_REJECTED_THRESHOLD, DEFAULT_ALERT_REJECTED_THRESHOLD).max(1),
            voice_thread_minutes: self.minutes(VOICE_THREAD_MINUTES),
            invalid: Vec::new(),
        }
    }

    fn refuse(&self, name: &'static str, expected: &'static str) {
        self.invalid.borrow_mut().push(SettingsError { name, expected });
    }

    fn text(&self, name: &str) -> Option<String> {
        (self.get)(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }

    fn secret(&self, name: &str) -> Option<Secret> {
        self.text(name).map(Secret::new)
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.text(name)
            .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default()
    }

    /// A list of secrets; more than `max` disables them all.
    fn secrets(&self, name: &'static str, max: usize) -> Vec<Secret> {
        let secrets: Vec<Secret> = self.list(name).into_iter().map(Secret::new).collect();
        if secrets.len() > max {
            self.refuse(name, "no more secrets than MAX_SECRETS allows (default 40)");
            return Vec::new();
        }
        secrets
    }

    fn number(&self, name: &'static str, default: u64) -> u64 {
        match self.text(name).map(|v| v.parse::<u64>()) {
            None => default,
            Some(Ok(value)) => value,
            Some(Err(_)) => {
                self.refuse(name, "a whole number");
                default
            }
        }
    }

    fn small(&self, name: &'static str, default: u32) -> u32 {
        let value = self.number(name, u64::from(default));
        u32::try_from(value).unwrap_or_else(|_| {
            self.refuse(name, "a whole number below 4294967296");
            default
        })
    }

    /// Minutes, at most a week (joining calls further apart would join
    /// strangers' calls to a reused number); beyond, 0 and refused by name.
    fn minutes(&self, name: &'static str) -> u32 {
        let minutes = self.small(name, 0);
        if minutes > 7 * 24 * 60 {
            self.refuse(name, "minutes, at most 10080 (a week)");
            return 0;
        }
        minutes
    }

    fn size(&self, name: &'static str, default: usize) -> usize {
        usize::try_from(self.number(name, default as u64)).unwrap_or_else(|_| {
            self.refuse(name, "a size this machine can hold");
            default
        })
    }

    /// An http(s) URL without its trailing slash; an unusable one is empty,
    /// so nothing is ever sent to it.
    fn url(&self, name: &'static str, default: &str) -> String {
        let value = self.text(name).unwrap_or_else(|| default.to_string());
        if value.starts_with("https://") || value.starts_with("http://") {
            value.trim_end_matches('/').to_string()
        } else {
            self.refuse(name, "an http:// or https:// URL");
            String::new()
        }
    }

    /// An http(s) URL with no default: absent, or unusable, is none.
    fn optional_url(&self, name: &'static str) -> Option<String> {
        self.text(name)?;
        Some(self.url(name, "")).filter(|url| !url.is_empty())
    }

    /// `true`/`false` (or `1`/`0`, `yes`/`no`, `on`/`off`).
    fn flag(&self, name: &'static str, default: bool) -> bool {
        match self.text(name).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => default,
            Some("true" | "1" | "yes" | "on") => true,
            Some("false" | "0" | "no" | "off") => false,
            Some(_) => {
                self.refuse(name, "true or false");
                default
            }
        }
    }

    /// `VOICE360_AGENTS`; one that cannot be read names no agent (messages
    /// then say "user 67890", as without the setting).
    fn agents(&self) -> Vec<Agent> {
        let Some(text) = self.text(names::VOICE360_AGENTS) else { return Vec::new() };
        agents::parse(&text).unwrap_or_else(|| {
            self.refuse(names::VOICE360_AGENTS, "comma-separated entries ID=Name <email>, either part optional");
            Vec::new()
        })
    }

    /// `whsec_` then the secret's bytes in base64; one that is not cannot
    /// sign, and alerts are off.
    fn alert_secret(&self) -> Option<Secret> {
        let secret = self.text(names::ALERT_WEBHOOK_SECRET)?;
        let bytes = secret.strip_prefix("whsec_").and_then(crate::signature::decode_base64);
        if bytes.is_none_or(|bytes| bytes.is_empty()) {
            self.refuse(
                names::ALERT_WEBHOOK_SECRET,
                "a whsec_ secret: whsec_ then base64, as Standard Webhooks writes it",
            );
            return None;
        }
        Some(Secret::new(secret))
    }

    fn json_depth(&self) -> u32 {
        match self.small(names::MAX_JSON_DEPTH, DEFAULT_MAX_JSON_DEPTH) {
            depth @ 1..=crate::json::PARSER_MAX_DEPTH => depth,
            _ => {
                self.refuse(names::MAX_JSON_DEPTH, "a whole number from 1 to 100");
                DEFAULT_MAX_JSON_DEPTH
            }
        }
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
        assert_eq!(
            s.secrets(names::VOICE360_WEBHOOK_SECRETS),
            vec![Secret::new("a"), Secret::new("b"), Secret::new("c")]
        );
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
        let list = |n: usize| (1..=n).map(|i| format!("k{i}")).collect::<Vec<_>>().join(",");
        let twenty = list(20);
        assert_eq!(
            from(&[("VOICE360_WEBHOOK_SECRETS", &twenty)]).unwrap().secrets(names::VOICE360_WEBHOOK_SECRETS).len(),
            20
        );
        let too_many = list(41);
        let err = from(&[("BIRD_SIGNING_KEYS", &too_many)]).unwrap_err();
        assert_eq!(err.name, "BIRD_SIGNING_KEYS");
        assert!(!err.to_string().contains("k41"), "{err}");
        assert_eq!(
            from(&[("BIRD_SIGNING_KEYS", &too_many), ("MAX_SECRETS", "41")])
                .unwrap()
                .secrets(names::BIRD_SIGNING_KEYS)
                .len(),
            41
        );
        assert!(from(&[("VOLUBILE_WEBHOOK_SECRETS", "a,b,c"), ("MAX_SECRETS", "2")]).is_err());
    }

    #[test]
    fn a_setting_that_cannot_be_used_disables_only_what_depends_on_it() {
        let map: HashMap<&str, &str> = [
            ("VOLUBILE_WEBHOOK_SECRETS", "a,b,c"),
            ("MAX_SECRETS", "2"),
            ("BIRD_SIGNING_KEYS", "k"),
            ("MAX_BODY_BYTES", "lots"),
            ("VOICE360_API_BASE", "api.voice360.app"),
        ]
        .into_iter()
        .collect();
        let s = Settings::read(|name| map.get(name).map(|v| v.to_string()));
        let names: Vec<&str> = s.invalid.iter().map(|e| e.name).collect();
        assert_eq!(names, ["VOICE360_API_BASE", "VOLUBILE_WEBHOOK_SECRETS", "MAX_BODY_BYTES"]);
        assert!(s.secrets(names::VOLUBILE_WEBHOOK_SECRETS).is_empty(), "Volubile is off");
        assert_eq!(s.secrets(names::BIRD_SIGNING_KEYS), vec![Secret::new("k")], "Bird is not");
        assert_eq!(s.max_body_bytes, DEFAULT_MAX_BODY_BYTES, "a limit keeps its default");
        assert_eq!(s.voice360_api_base, "", "nothing is sent to an unusable URL");
        assert_eq!(s.blocking(&["VOICE360_API_BASE"]).map(|e| e.name), Some("VOICE360_API_BASE"));
        assert!(s.blocking(&["BIRD_SIGNING_KEYS"]).is_none());
    }
}
